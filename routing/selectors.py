"""Reads of routes and routing analytics. Org first; rollup tables only, never raw events over a window.

Split, drift, fallbacks, savings and quality per route come from the usage rollups (usage_report)
and the routing rollups (routing.models: chain steps, confidence bands, quality bins, shadow pairs).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.db.models import Q, Sum

from costlens.accounts.models import Organization
from costlens.money import nanos_to_str, round_half_even_div
from costlens.usage.models import HourlyRollup
from costlens.usage.selectors import rfc3339, truncate_hour, usage_report, window_segments
from routing.models import (
    CONFIDENCE_BANDS,
    NO_CONFIDENCE,
    QUALITY_BINS,
    Route,
    RouteChainStep,
    RouteModelStat,
    RouteQualityBin,
    RouteShadowPair,
)

PSI_FLOOR = 1e-4
DRIFT_THRESHOLD = 0.2
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


# --- routes -------------------------------------------------------------------------------------


def routes_list(org: Organization) -> list[Route]:
    return list(Route.objects.filter(org=org).order_by("name"))


def route_get(org: Organization, name: str) -> Route:
    """The org's route by name; Route.DoesNotExist (a 404) for a name another org uses."""
    return Route.objects.get(org=org, name=name)


def route_as_json(route: Route) -> dict:
    return {
        "name": route.name,
        "target_split": {m: float(Decimal(s)) for m, s in route.target_split.items()},
        "baseline_model": route.baseline_model or None,
        "fallback_chain": list(route.fallback_chain),
        "fallback_budget": float(route.fallback_budget) if route.fallback_budget is not None else None,
        "auto_created": route.auto_created,
        "created_at": rfc3339(route.created_at),
        "updated_at": rfc3339(route.updated_at),
    }


def target_shares(route: Route) -> dict[str, float]:
    return {m: float(Decimal(s)) for m, s in (route.target_split or {}).items()}


# --- split and drift ----------------------------------------------------------------------------


def psi(actual: dict[str, int], expected: dict[str, float]) -> float | None:
    """PSI = Σ (a_i − e_i)·ln(a_i / e_i) over the union of models, shares floored at 1e-4.

    None when there are no requests, or nothing to compare with.
    """
    total = sum(actual.values())
    if total == 0 or not expected or sum(expected.values()) <= 0:
        return None
    value = 0.0
    for model in set(actual) | set(expected):
        a = max(actual.get(model, 0) / total, PSI_FLOOR)
        e = max(expected.get(model, 0.0), PSI_FLOOR)
        value += (a - e) * math.log(a / e)
    return value


def shares_of(counts: dict[str, int]) -> dict[str, float]:
    total = sum(counts.values())
    return {m: n / total for m, n in counts.items()} if total else {}


def _requests_by_model(
    org: Organization,
    *,
    start: datetime,
    end: datetime,
    routes: list[str] | None,
    filters: dict | None = None,
) -> dict[str, dict[str, int]]:
    """{route: {model: requests}} over [start, end)."""
    f = dict(filters or {})
    if routes is not None:
        f["route"] = routes
    report = usage_report(org, start=start, end=end, group_by=["route", "model"], filters=f)
    out: dict[str, dict[str, int]] = defaultdict(dict)
    for row in report.rows:
        if row["route"] and row["requests"]:
            out[row["route"]][row["model"]] = row["requests"]
    return out


def bucket_starts(start: datetime, end: datetime, granularity: str) -> list[datetime]:
    step = HOUR if granularity == "hour" else DAY
    cursor = start if granularity == "hour" else start.replace(hour=0, minute=0, second=0, microsecond=0)
    out = []
    while cursor < end:
        out.append(cursor)
        cursor += step
    return out


def _models_block(counts: dict[str, int], target: dict[str, float], expected: dict[str, float]) -> dict:
    total = sum(counts.values())
    models = sorted(set(counts) | set(target), key=lambda m: (-counts.get(m, 0), m))
    return {
        m: {
            "requests": counts.get(m, 0),
            "share": round(counts.get(m, 0) / total, 6) if total else None,
            "target_share": target.get(m),
            "expected_share": round(expected[m], 6) if m in expected else None,
        }
        for m in models
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def split_report(
    org: Organization,
    route: Route,
    *,
    start: datetime,
    end: datetime,
    granularity: str,
    filters: dict | None = None,
) -> dict:
    """API.md §4 split of a route: requests by model, shares, PSI vs target (or previous window)."""
    start, end = truncate_hour(start), truncate_hour(end)
    target = target_shares(route)
    compared_to = "target" if target and sum(target.values()) > 0 else "previous_window"
    if compared_to == "target":
        expected = target
    else:
        previous = _requests_by_model(
            org, start=start - (end - start), end=start, routes=[route.name], filters=filters
        ).get(route.name, {})
        expected = shares_of(previous)
    f = {**(filters or {}), "route": [route.name]}
    key = "hour" if granularity == "hour" else "day"
    report = usage_report(org, start=start, end=end, group_by=["model", key], filters=f)
    per_bucket: dict[str, dict[str, int]] = defaultdict(dict)
    window: dict[str, int] = defaultdict(int)
    for row in report.rows:
        if row["requests"]:
            per_bucket[row[key]][row["model"]] = row["requests"]
            window[row["model"]] += row["requests"]
    buckets = []
    for b in bucket_starts(start, end, granularity):
        label = rfc3339(b)
        counts = per_bucket.get(label if key == "hour" else b.strftime("%Y-%m-%d"), {})
        buckets.append(
            {
                "bucket": label,
                "requests": sum(counts.values()),
                "psi": _round(psi(counts, expected)),
                "models": _models_block(counts, target, expected),
            }
        )
    value = psi(dict(window), expected)
    return {
        "route": route.name,
        "start": rfc3339(start),
        "end": rfc3339(end),
        "granularity": granularity,
        "compared_to": compared_to,
        "psi": _round(value),
        "drift": value is not None and value > DRIFT_THRESHOLD,
        "requests": sum(window.values()),
        "models": _models_block(dict(window), target, expected),
        "buckets": buckets,
    }


# --- route metrics ------------------------------------------------------------------------------


def nanos(value: str | None) -> int:
    """A 9-decimal money string from usage_report back to integer nano-USD."""
    if value is None:
        return 0
    return int(Decimal(value).scaleb(9))


def per_request(total_nanos: int, requests: int) -> int | None:
    if not requests:
        return None
    if total_nanos < 0:
        return -round_half_even_div(-total_nanos, requests)
    return round_half_even_div(total_nanos, requests)


def pct(numerator: int | float, denominator: int | float, digits: int = 2) -> float | None:
    return round(100 * numerator / denominator, digits) if denominator else None


@dataclass
class RouteRow:
    name: str
    route: Route | None
    requests: int
    cost_nanos: int
    cost_per_request_nanos: int | None
    savings_nanos: int
    savings_pct: float | None
    wasted_nanos: int
    fallback_rate: float | None
    fallback_budget: float | None
    over_budget: bool
    error_rate: float | None
    avg_quality: float | None
    psi: float | None
    drift: bool
    compared_to: str

    def money(self, attr: str) -> str | None:
        return nanos_to_str(getattr(self, attr))


def route_metrics(totals: dict) -> dict:
    """The per-route figures the pages show, from one usage_report metric dict."""
    cost = nanos(totals["cost_usd"])
    baseline = nanos(totals["baseline_cost_usd"])
    savings = nanos(totals["savings_usd"])
    wasted = nanos(totals["wasted_cost_usd"])
    shadow = nanos(totals["shadow_cost_usd"])
    return {
        "requests": totals["requests"],
        "fallbacks": totals["fallbacks"],
        "events": totals["events"],
        "cost_nanos": cost,
        "shadow_nanos": shadow,
        "baseline_nanos": baseline,
        "cost_per_request_nanos": per_request(cost, totals["requests"]),
        "savings_nanos": savings,
        "savings_pct": pct(savings, baseline),
        # Savings of the calls that served requests, before the superseded attempts are paid for.
        "gross_savings_nanos": savings + wasted,
        "wasted_nanos": wasted,
        "fallback_rate": totals["fallback_rate"],
        "error_rate": totals["error_rate"],
        "avg_quality": totals["avg_quality"],
        "quality_samples": totals["quality_samples"],
    }


SORT_KEYS = {
    "name": lambda r: r.name.lower(),
    "requests": lambda r: r.requests,
    "spend": lambda r: r.cost_nanos,
    "cpr": lambda r: r.cost_per_request_nanos,
    "savings": lambda r: r.savings_nanos,
    "savings_pct": lambda r: r.savings_pct,
    "fallback": lambda r: r.fallback_rate,
    "wasted": lambda r: r.wasted_nanos,
    "errors": lambda r: r.error_rate,
    "quality": lambda r: r.avg_quality,
    "psi": lambda r: r.psi,
}


def routes_overview(
    org: Organization, *, start: datetime, end: datetime, filters: dict | None = None, sort: str = "-spend"
) -> list[RouteRow]:
    """One row per route (configured or seen in the window), sortable by any column; None sorts last."""
    filters = {k: v for k, v in (filters or {}).items() if k != "route"}
    start, end = truncate_hour(start), truncate_hour(end)
    by_route = {
        r["route"]: r
        for r in usage_report(org, start=start, end=end, group_by=["route"], filters=filters).rows
    }
    current = _requests_by_model(org, start=start, end=end, routes=None, filters=filters)
    previous = _requests_by_model(org, start=start - (end - start), end=start, routes=None, filters=filters)
    configured = {r.name: r for r in routes_list(org)}
    rows = []
    for name in sorted(set(configured) | {n for n in by_route if n}):
        route = configured.get(name)
        target = target_shares(route) if route else {}
        compared_to = "target" if target else "previous_window"
        expected = target if target else shares_of(previous.get(name, {}))
        value = psi(current.get(name, {}), expected)
        m = route_metrics(by_route[name]) if name in by_route else None
        budget = float(route.fallback_budget) if route and route.fallback_budget is not None else None
        fallback_rate = m["fallback_rate"] if m else None
        rows.append(
            RouteRow(
                name=name,
                route=route,
                requests=m["requests"] if m else 0,
                cost_nanos=m["cost_nanos"] if m else 0,
                cost_per_request_nanos=m["cost_per_request_nanos"] if m else None,
                savings_nanos=m["savings_nanos"] if m else 0,
                savings_pct=m["savings_pct"] if m else None,
                wasted_nanos=m["wasted_nanos"] if m else 0,
                fallback_rate=fallback_rate,
                fallback_budget=budget,
                over_budget=budget is not None and fallback_rate is not None and fallback_rate > budget,
                error_rate=m["error_rate"] if m else None,
                avg_quality=m["avg_quality"] if m else None,
                psi=_round(value),
                drift=value is not None and value > DRIFT_THRESHOLD,
                compared_to=compared_to,
            )
        )
    return sort_rows(rows, sort)


def sort_rows(rows: list[RouteRow], sort: str) -> list[RouteRow]:
    key = sort.lstrip("-")
    if key not in SORT_KEYS:
        key, sort = "spend", "-spend"
    getter = SORT_KEYS[key]
    present = [r for r in rows if getter(r) is not None]
    missing = [r for r in rows if getter(r) is None]
    present.sort(key=getter, reverse=sort.startswith("-"))
    return present + missing


# --- routing rollup tables ----------------------------------------------------------------------


def _grain_q(start: datetime, end: datetime) -> Q:
    """Hour rows for the ragged ends of [start, end), day rows for the whole days between."""
    q = Q(pk__in=[])
    for table, lo, hi in window_segments(start, end):
        grain = "h" if table is HourlyRollup else "d"
        q |= Q(grain=grain, bucket__gte=lo, bucket__lt=hi)
    return q


def _rollup(model, org: Organization, route: str | None, start: datetime, end: datetime, dims, metrics):
    qs = model.objects.filter(_grain_q(truncate_hour(start), truncate_hour(end)), org=org)
    if route is not None:
        qs = qs.filter(route=route)
    return list(qs.values(*dims).annotate(**{m: Sum(m) for m in metrics}).order_by())


def _avg(total: float, count: int) -> float | None:
    return round(total / count, 6) if count else None


def quality_by_model(org: Organization, route: str, *, start: datetime, end: datetime) -> list[dict]:
    """Mean quality, samples, calls and the share of scored calls below the org's quality floor, per model."""
    stats = _rollup(
        RouteModelStat,
        org,
        route,
        start,
        end,
        ["model"],
        ["calls", "cost_nanos", "quality_sum", "quality_count", "requests", "served"],
    )
    bins = _rollup(RouteQualityBin, org, route, start, end, ["model", "qbin"], ["calls"])
    # A score is below the floor when its 0.01 bin starts below the floor (exact for 2-decimal floors).
    floor_bin = math.ceil(Decimal(org.quality_floor) * QUALITY_BINS)
    below: dict[str, int] = defaultdict(int)
    for b in bins:
        if b["qbin"] < floor_bin:
            below[b["model"]] += b["calls"]
    out = []
    for s in sorted(stats, key=lambda s: (-s["calls"], s["model"])):
        out.append(
            {
                "model": s["model"],
                "calls": s["calls"],
                "requests": s["requests"],
                "cost_nanos": s["cost_nanos"],
                "cost_per_call_nanos": per_request(s["cost_nanos"], s["calls"]),
                "avg_quality": _avg(s["quality_sum"], s["quality_count"]),
                "quality_samples": s["quality_count"],
                "below_floor": below.get(s["model"], 0),
                "below_floor_share": _round(below[s["model"]] / s["quality_count"])
                if s["quality_count"]
                else None,
            }
        )
    return out


def confidence_bands(org: Organization, route: str, *, start: datetime, end: datetime) -> list[dict]:
    """Fallback rate (requests whose first attempt was superseded) by router-confidence band."""
    rows = {
        r["band"]: r
        for r in _rollup(RouteModelStat, org, route, start, end, ["band"], ["requests", "escalated"])
    }
    out = []
    for label, _ in (*CONFIDENCE_BANDS, (NO_CONFIDENCE, None)):
        r = rows.get(label, {"requests": 0, "escalated": 0})
        if label == NO_CONFIDENCE and not r["requests"]:
            continue
        out.append(
            {
                "band": label or "no confidence sent",
                "requests": r["requests"],
                "escalated": r["escalated"],
                "fallback_rate": _round(r["escalated"] / r["requests"]) if r["requests"] else None,
            }
        )
    return out


def chain_steps(org: Organization, route: str, *, start: datetime, end: datetime) -> list[dict]:
    rows = _rollup(
        RouteChainStep,
        org,
        route,
        start,
        end,
        ["from_model", "to_model", "from_attempt"],
        ["steps", "wasted_cost_nanos"],
    )
    rows.sort(key=lambda r: (-r["steps"], r["from_attempt"], r["from_model"], r["to_model"]))
    return rows


def fallback_reasons(org: Organization, route: str, *, start: datetime, end: datetime) -> list[dict]:
    """Fallbacks and their waste per reason; "" for fallbacks sent without one (null in the API)."""
    rows = _rollup(RouteChainStep, org, route, start, end, ["reason"], ["steps", "wasted_cost_nanos"])
    rows.sort(key=lambda r: (-r["steps"], r["reason"]))
    return rows


def shadow_evaluation(org: Organization, route: str, *, start: datetime, end: datetime) -> list[dict]:
    """Per (live model, shadow model): both calls' cost and quality on the same requests."""
    rows = _rollup(
        RouteShadowPair,
        org,
        route,
        start,
        end,
        ["live_model", "shadow_model"],
        [
            "pairs",
            "live_cost_nanos",
            "shadow_cost_nanos",
            "scored_pairs",
            "live_quality_sum",
            "shadow_quality_sum",
        ],
    )
    out = []
    for r in sorted(rows, key=lambda r: (-r["pairs"], r["live_model"], r["shadow_model"])):
        live_q = _avg(r["live_quality_sum"], r["scored_pairs"])
        shadow_q = _avg(r["shadow_quality_sum"], r["scored_pairs"])
        out.append(
            {
                **r,
                "live_cost_per_call_nanos": per_request(r["live_cost_nanos"], r["pairs"]),
                "shadow_cost_per_call_nanos": per_request(r["shadow_cost_nanos"], r["pairs"]),
                "live_quality": live_q,
                "shadow_quality": shadow_q,
                "quality_delta": _round(shadow_q - live_q)
                if live_q is not None and shadow_q is not None
                else None,
                "cost_delta_pct": pct(r["shadow_cost_nanos"] - r["live_cost_nanos"], r["live_cost_nanos"], 1),
            }
        )
    return out


@dataclass(frozen=True)
class TokenVolume:
    """Token counts split by how each is priced (API.md §2)."""

    input_uncached: int = 0
    cache_read: int = 0
    cache_write: int = 0
    output_non_reasoning: int = 0
    reasoning: int = 0

    def __add__(self, other: TokenVolume) -> TokenVolume:
        return TokenVolume(
            self.input_uncached + other.input_uncached,
            self.cache_read + other.cache_read,
            self.cache_write + other.cache_write,
            self.output_non_reasoning + other.output_non_reasoning,
            self.reasoning + other.reasoning,
        )

    @property
    def total(self) -> int:
        return (
            self.input_uncached
            + self.cache_read
            + self.cache_write
            + self.output_non_reasoning
            + self.reasoning
        )


@dataclass(frozen=True)
class ModelVolume:
    model: str
    calls: int
    cost_nanos: int
    tokens: TokenVolume


def served_volumes(org: Organization, route: str, *, start: datetime, end: datetime) -> list[ModelVolume]:
    """Per model, the tokens of the calls that served the route's requests (no shadow, no superseded)."""
    rows = _rollup(
        RouteModelStat,
        org,
        route,
        start,
        end,
        ["model"],
        [
            "served",
            "served_cost_nanos",
            "served_input_tokens",
            "served_output_tokens",
            "served_cache_read_tokens",
            "served_cache_write_tokens",
            "served_reasoning_tokens",
        ],
    )
    out = []
    for r in rows:
        if not r["served"]:
            continue
        out.append(
            ModelVolume(
                model=r["model"],
                calls=r["served"],
                cost_nanos=r["served_cost_nanos"],
                tokens=TokenVolume(
                    input_uncached=r["served_input_tokens"]
                    - r["served_cache_read_tokens"]
                    - r["served_cache_write_tokens"],
                    cache_read=r["served_cache_read_tokens"],
                    cache_write=r["served_cache_write_tokens"],
                    output_non_reasoning=r["served_output_tokens"] - r["served_reasoning_tokens"],
                    reasoning=r["served_reasoning_tokens"],
                ),
            )
        )
    out.sort(key=lambda v: (-v.calls, v.model))
    return out


def route_series(
    org: Organization,
    route: str,
    *,
    start: datetime,
    end: datetime,
    granularity: str,
    filters: dict | None = None,
) -> list[dict]:
    """Per bucket: requests, fallback rate, wasted spend, savings (net and gross), cost."""
    key = "hour" if granularity == "hour" else "day"
    f = {**(filters or {}), "route": [route]}
    report = usage_report(org, start=start, end=end, group_by=[key], filters=f)
    by_bucket = {row[key]: row for row in report.rows}
    out = []
    for b in bucket_starts(truncate_hour(start), truncate_hour(end), granularity):
        label = rfc3339(b) if key == "hour" else b.strftime("%Y-%m-%d")
        row = by_bucket.get(label)
        m = route_metrics(row) if row else None
        out.append({"bucket": b.astimezone(UTC), "metrics": m})
    return out

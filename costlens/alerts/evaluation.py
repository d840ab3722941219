"""Evaluate a rule's spec per group (each customer, each route, ...) over the rollups, via usage_report.

Every comparison is exact (integers and Decimals): a value exactly at the threshold does not fire.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import quote, urlencode

from costlens.accounts.models import Organization
from costlens.alerts.rules import RuleSpec
from costlens.customers.models import Customer
from costlens.customers.selectors import str_to_nanos
from costlens.display import usd
from costlens.money import NANOS_PER_USD, nanos_to_str
from costlens.usage.selectors import truncate_hour, usage_report
from routing.models import Route

PSI_FLOOR = 1e-4
SPIKE_HISTORY = timedelta(days=7)
TOTAL_KEY = "all"
BELOW_KINDS = ("negative_margin", "quality_drop")  # fire when the value is below the threshold


@dataclass
class Finding:
    group: dict  # {"customer": "cust_42"} ({} for the org's total)
    key: str  # canonical: "customer=cust_42", "route=a|model=b", "all"
    label: str  # for people: the customer's display name, "route a · model b"
    value: Decimal | None
    value_text: str
    limit: Decimal | None
    limit_text: str
    firing: bool
    figures: dict = field(default_factory=dict)
    path: str = "/"  # dashboard view to open, relative to COSTLENS_BASE_URL


def rule_window(spec: RuleSpec, now: datetime) -> tuple[datetime, datetime]:
    """The trailing window, ending at the end of the current hour (the same as the dashboard's ranges)."""
    end = truncate_hour(now) + timedelta(hours=1)
    return end - spec.window, end


def _figures(row: dict) -> dict:
    return {
        k: row.get(k)
        for k in (
            "revenue_usd",
            "cost_usd",
            "margin_usd",
            "margin_pct",
            "requests",
            "fallbacks",
            "fallback_rate",
            "avg_quality",
            "quality_samples",
            "unpriced_events",
        )
    }


def _range_params(spec: RuleSpec, start: datetime, end: datetime) -> dict:
    if spec.window_text in ("24h", "7d", "30d"):
        return {"range": spec.window_text}
    last_day = (end - timedelta(seconds=1)).astimezone(UTC).date()
    return {"range": "custom", "start": start.astimezone(UTC).date().isoformat(), "end": last_day.isoformat()}


def _path(group: dict, spec: RuleSpec, start: datetime, end: datetime) -> str:
    params = _range_params(spec, start, end)
    # A null group value (events without a route, recurring revenue) links to the unfiltered view.
    group = {k: v for k, v in group.items() if v is not None}
    if "customer" in group:
        return f"/customers/{quote(group['customer'], safe='')}/?{urlencode(params)}"
    if spec.kind == "unpriced_model":
        return "/prices/"
    if "route" in group:
        extra = {"model": group["model"]} if "model" in group else {}
        return f"/routes/{quote(group['route'], safe='')}/?{urlencode({**params, **extra})}"
    if "model" in group:
        return f"/models/?{urlencode({**params, 'model': group['model']})}"
    if "feature" in group:
        return f"/features/?{urlencode({**params, 'feature': group['feature']})}"
    if "provider" in group:
        return f"/models/?{urlencode({**params, 'provider': group['provider']})}"
    return f"/?{urlencode(params)}"


def _group_of(row: dict, group_by: tuple[str, ...]) -> dict:
    return {g: row.get(g) for g in group_by}


def _key(group: dict) -> str:
    if not group:
        return TOTAL_KEY
    return "|".join(f"{k}={v if v is not None else ''}" for k, v in group.items())


def _labels(org: Organization, groups: list[dict]) -> dict[str, str]:
    ids = [g["customer"] for g in groups if g.get("customer")]
    names = dict(Customer.objects.filter(org=org, external_id__in=ids).values_list("external_id", "name"))
    out = {}
    for g in groups:
        if not g:
            out[_key(g)] = "All traffic"
            continue
        parts = []
        for k, v in g.items():
            if k == "customer":
                parts.append(names.get(v) or v or "(none)")
            else:
                parts.append(f"{k} {v if v is not None else '(none)'}")
        out[_key(g)] = " · ".join(parts)
    return out


def _pct(value: float | Decimal | None) -> str:
    return "n/a" if value is None else f"{float(value) * 100:.1f}%"


def evaluate(org: Organization, spec: RuleSpec, now: datetime) -> list[Finding]:
    """Every group with data in the window, firing or not, firing first."""
    start, end = rule_window(spec, now)
    evaluator = {
        "negative_margin": _negative_margin,
        "fallback_rate": _fallback_rate,
        "split_drift": _split_drift,
        "spend_spike": _spend_spike,
        "quality_drop": _quality_drop,
        "cost_per_request": _cost_per_request,
        "unpriced_model": _unpriced_model,
    }[spec.kind]
    findings = evaluator(org, spec, start, end)
    labels = _labels(org, [f.group for f in findings])
    for f in findings:
        f.label = labels.get(f.key, f.key)
        f.path = _path(f.group, spec, start, end)
    below = spec.kind in BELOW_KINDS

    def severity(f: Finding) -> Decimal:
        if f.value is None:
            return Decimal(0)
        return f.value if below else -f.value

    findings.sort(key=lambda f: (not f.firing, severity(f), f.label))
    return findings


def _report_rows(org, spec: RuleSpec, start, end, group_by=None) -> list[dict]:
    group_by = spec.group_by if group_by is None else group_by
    report = usage_report(org, start=start, end=end, group_by=list(group_by), filters=spec.filters)
    rows = report.rows
    if not group_by:
        rows = (
            [report.totals]
            if report.totals["events"] or report.totals["revenue_usd"] != "0.000000000"
            else []
        )
    return rows


def _enough_cost(row: dict, spec: RuleSpec) -> bool:
    return str_to_nanos(row["cost_usd"]) >= spec.min_cost_nanos


def _negative_margin(org, spec: RuleSpec, start, end) -> list[Finding]:
    limit = spec.threshold if spec.threshold is not None else Decimal(0)
    out = []
    for row in _report_rows(org, spec, start, end):
        group = _group_of(row, spec.group_by)
        if not _enough_cost(row, spec):
            continue
        margin = Decimal(row["margin_usd"])
        out.append(
            Finding(
                group=group,
                key=_key(group),
                label="",
                value=margin,
                value_text=f"margin {usd(row['margin_usd'])}",
                limit=limit,
                limit_text=f"margin below {usd(int(limit * NANOS_PER_USD))}",
                firing=margin < limit,
                figures=_figures(row),
            )
        )
    return out


def _fallback_rate(org, spec: RuleSpec, start, end) -> list[Finding]:
    budgets = {r.name: r.fallback_budget for r in Route.objects.filter(org=org)}
    out = []
    for row in _report_rows(org, spec, start, end):
        route = row.get("route")
        if route is None or not row["requests"] or not _enough_cost(row, spec):
            continue
        limit = spec.threshold if spec.threshold is not None else budgets.get(route)
        if limit is None:
            continue
        group = {"route": route}
        fallbacks, requests = row["fallbacks"], row["requests"]
        value = Decimal(fallbacks) / Decimal(requests)
        out.append(
            Finding(
                group=group,
                key=_key(group),
                label="",
                value=value,
                value_text=f"fallback rate {_pct(value)} ({fallbacks} of {requests} requests)",
                limit=Decimal(limit),
                limit_text=f"fallback rate above {_pct(limit)}"
                + (" (route budget)" if spec.threshold is None else ""),
                firing=Decimal(fallbacks) > Decimal(limit) * requests,
                figures=_figures(row),
            )
        )
    return out


def psi(actual: dict[str, int], expected: dict[str, float]) -> float | None:
    """Σ (a − e)·ln(a / e) over the union of models, each share floored at 1e-4 (API.md §3)."""
    total = sum(actual.values())
    expected_total = sum(expected.values())
    if total == 0 or expected_total <= 0:
        return None
    value = 0.0
    for model in set(actual) | set(expected):
        a = max(actual.get(model, 0) / total, PSI_FLOOR)
        e = max(expected.get(model, 0) / expected_total, PSI_FLOOR)
        value += (a - e) * math.log(a / e)
    return value


def _route_model_requests(org, spec, start, end) -> dict[str, dict[str, int]]:
    report = usage_report(org, start=start, end=end, group_by=["route", "model"], filters=spec.filters)
    out: dict[str, dict[str, int]] = {}
    for row in report.rows:
        if row["route"] is None or row["model"] is None or not row["requests"]:
            continue
        out.setdefault(row["route"], {})[row["model"]] = row["requests"]
    return out


def _route_psi(
    org, spec: RuleSpec, route: Route, counts: dict[str, int], start, end
) -> tuple[float | None, str]:
    """PSI of the route's split in the window: the routing app's split report when it is installed
    (the same number as the route page), else computed here from usage_report the same way."""
    try:
        from routing.selectors import split_report
    except ImportError:
        split_report = None
    if split_report is not None:
        report = split_report(org, route, start=start, end=end, granularity="day", filters=spec.filters)
        compared = "target split" if report["compared_to"] == "target" else "previous window"
        return report["psi"], compared
    target = {m: float(Decimal(str(s))) for m, s in (route.target_split or {}).items()}
    if target:
        return psi(counts, target), "target split"
    previous = _route_model_requests(org, spec, start - (end - start), start).get(route.name, {})
    return psi(counts, {m: float(n) for m, n in previous.items()}), "previous window"


def _split_drift(org, spec: RuleSpec, start, end) -> list[Finding]:
    limit = spec.threshold if spec.threshold is not None else Decimal("0.2")
    current = _route_model_requests(org, spec, start, end)
    routes = {r.name: r for r in Route.objects.filter(org=org, name__in=list(current))}
    totals = {
        r["route"]: r for r in _report_rows(org, spec, start, end, group_by=("route",)) if r.get("route")
    }
    out = []
    for name, counts in current.items():
        row, route = totals.get(name), routes.get(name)
        if row is None or route is None or not _enough_cost(row, spec):
            continue
        value, compared_to = _route_psi(org, spec, route, counts, start, end)
        if value is None:
            continue
        group = {"route": name}
        value_dec = Decimal(repr(round(value, 6)))
        figures = _figures(row)
        total = sum(counts.values())
        figures["split"] = {m: round(n / total, 4) for m, n in sorted(counts.items())}
        figures["compared_to"] = compared_to
        out.append(
            Finding(
                group=group,
                key=_key(group),
                label="",
                value=value_dec,
                value_text=f"PSI {value:.3f} vs the {compared_to}",
                limit=limit,
                limit_text=f"PSI above {limit}",
                firing=value_dec > limit,
                figures=figures,
            )
        )
    return out


def _spend_spike(org, spec: RuleSpec, start, end) -> list[Finding]:
    multiple = spec.threshold if spec.threshold is not None else Decimal(3)
    window_seconds = int((end - start).total_seconds())
    history_seconds = int(SPIKE_HISTORY.total_seconds())
    history = {
        _key(_group_of(r, spec.group_by)): str_to_nanos(r["cost_usd"])
        for r in _report_rows(org, spec, start - SPIKE_HISTORY, start)
    }
    out = []
    for row in _report_rows(org, spec, start, end):
        if not _enough_cost(row, spec):
            continue
        group = _group_of(row, spec.group_by)
        cost = str_to_nanos(row["cost_usd"])
        past = history.get(_key(group), 0)
        # Average spend of an equal-length window over the past 7 days: past · window / 7d.
        expected_nanos = past * window_seconds // history_seconds
        if past == 0:
            value, value_text, firing = None, f"spend {usd(cost)}, no spend in the 7 days before", False
        else:
            value = (Decimal(cost) * history_seconds / (Decimal(past) * window_seconds)).quantize(
                Decimal("0.0001")
            )
            value_text = f"spend {usd(cost)} = {value:.2f}× the usual {usd(expected_nanos)}"
            firing = Decimal(cost) * history_seconds > multiple * Decimal(past) * window_seconds
        figures = _figures(row)
        figures["expected_cost_usd"] = nanos_to_str(expected_nanos)
        out.append(
            Finding(
                group=group,
                key=_key(group),
                label="",
                value=value,
                value_text=value_text,
                limit=multiple,
                limit_text=f"spend above {multiple}× the 7-day average",
                firing=firing,
                figures=figures,
            )
        )
    return out


def _quality_drop(org, spec: RuleSpec, start, end) -> list[Finding]:
    floor = spec.threshold if spec.threshold is not None else Decimal(str(org.quality_floor))
    out = []
    for row in _report_rows(org, spec, start, end):
        if not row["quality_samples"] or row["avg_quality"] is None or not _enough_cost(row, spec):
            continue
        group = _group_of(row, spec.group_by)
        value = Decimal(repr(row["avg_quality"]))
        out.append(
            Finding(
                group=group,
                key=_key(group),
                label="",
                value=value,
                value_text=(
                    f"average quality {row['avg_quality']:.3f} over {row['quality_samples']} scored events"
                ),
                limit=floor,
                limit_text=f"average quality below {floor}",
                firing=value < floor,
                figures=_figures(row),
            )
        )
    return out


def _cost_per_request(org, spec: RuleSpec, start, end) -> list[Finding]:
    limit = spec.threshold if spec.threshold is not None else Decimal(0)
    out = []
    for row in _report_rows(org, spec, start, end):
        if not row["requests"] or not _enough_cost(row, spec):
            continue
        group = _group_of(row, spec.group_by)
        cost = str_to_nanos(row["cost_usd"])
        per_request = Decimal(cost) / Decimal(row["requests"]) / NANOS_PER_USD
        figures = _figures(row)
        figures["cost_per_request_usd"] = f"{per_request:.9f}"
        out.append(
            Finding(
                group=group,
                key=_key(group),
                label="",
                value=per_request,
                value_text=f"cost per request ${per_request:.6f} over {row['requests']} requests",
                limit=limit,
                limit_text=f"cost per request above ${limit}",
                firing=Decimal(cost) > limit * NANOS_PER_USD * row["requests"],
                figures=figures,
            )
        )
    return out


def _unpriced_model(org, spec: RuleSpec, start, end) -> list[Finding]:
    limit = spec.threshold if spec.threshold is not None else Decimal(0)
    out = []
    for row in _report_rows(org, spec, start, end):
        if not row["unpriced_events"]:
            continue
        group = _group_of(row, ("model",))
        out.append(
            Finding(
                group=group,
                key=_key(group),
                label="",
                value=Decimal(row["unpriced_events"]),
                value_text=f"{row['unpriced_events']} events with no price "
                f"({row['input_tokens']:,} input / {row['output_tokens']:,} output tokens)",
                limit=limit,
                limit_text=f"more than {limit} unpriced events",
                firing=row["unpriced_events"] > limit,
                figures=_figures(row),
            )
        )
    return out

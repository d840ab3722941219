"""Rollups are exact: randomized traffic through the real endpoint vs an independent computation.

The expected numbers are computed here from the events the test itself generated, in Decimal,
straight from API.md §2–§3 (first write wins, superseded attempts, shadow calls, baselines,
prorated recurring revenue, null rates), never from CostLens code.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction

import pytest
from django.core.cache import cache
from django.core.management import call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from costlens.accounts.services import organization_create
from costlens.customers.models import Customer, RevenueEntry
from costlens.pricing.models import ModelPrice
from costlens.usage.models import LATENCY_EDGES_MS
from costlens.usage.selectors import usage_report
from routing.models import Route
from tests.conftest import _client_for, at

NANO = Decimal("0.000000001")
T0 = at("2026-04-10T20:00:00Z")  # events span 20:00 on day 1 to ~04:00 on day 3
# Test-owned prices (USD per 1M tokens): in, out, cache_read, cache_write, reasoning (None: fallback).
PRICES = {
    "exact-big": (Decimal(3), Decimal(15), Decimal("0.30"), Decimal("3.75"), None),
    "exact-small": (Decimal(1), Decimal(5), None, None, Decimal("4.5")),
    "exact-tiny": (Decimal("0.15"), Decimal("0.6"), None, None, None),
}
UNPRICED = "exact-unpriced"
MODELS = [*PRICES, UNPRICED]
ORG_BASELINE = "exact-big"
ROUTE_BASELINES = {"r-own": "exact-small"}  # a route with a baseline of its own
WINDOW_START = at("2026-04-10T00:00:00Z")
WINDOW_END = at("2026-04-13T00:00:00Z")
RAGGED = (at("2026-04-10T22:00:00Z"), at("2026-04-12T02:00:00Z"))  # hourly ends + one whole day


def usd(d: Decimal) -> str:
    return format(d.quantize(NANO), "f")


def nanos_of(d: Decimal) -> Decimal:
    return (d).quantize(NANO, rounding=ROUND_HALF_EVEN)


def expected_cost(model: str, e: dict) -> Decimal | None:
    prices = PRICES.get(model)
    if prices is None:
        return None
    p_in, p_out, p_cr, p_cw, p_re = prices
    p_cr = p_in if p_cr is None else p_cr
    p_cw = p_in if p_cw is None else p_cw
    p_re = p_out if p_re is None else p_re
    cr, cw, re = e.get("cache_read_tokens", 0), e.get("cache_write_tokens", 0), e.get("reasoning_tokens", 0)
    usd_total = (
        (e["input_tokens"] - cr - cw) * p_in
        + cr * p_cr
        + cw * p_cw
        + (e["output_tokens"] - re) * p_out
        + re * p_re
    ) / Decimal(1_000_000)
    return nanos_of(usd_total)


@dataclass
class Stored:
    """One stored event as the test expects CostLens to see it."""

    raw: dict
    ts: datetime
    superseded: bool = False
    cost: Decimal = Decimal(0)
    baseline: Decimal = Decimal(0)
    unpriced: bool = False

    def dim(self, key: str):
        e = self.raw
        if key == "customer":
            return e.get("customer_id") or "(unattributed)"
        if key == "model":
            return e["model"]
        if key == "day":
            return self.ts.strftime("%Y-%m-%d")
        if key == "hour":
            return self.ts.strftime("%Y-%m-%dT%H:00:00Z")
        return e.get(key) or None


def price_all(stored: list[Stored], baselines: dict[str, str]) -> None:
    live = [s for s in stored if not s.raw.get("shadow")]
    top: dict[str, int] = {}
    for s in live:
        rid = s.raw.get("request_id") or s.raw["event_id"]
        top[rid] = max(top.get(rid, 0), s.raw.get("attempt", 1))
    for s in stored:
        e = s.raw
        computed = expected_cost(e["model"], e)
        client = nanos_of(Decimal(e["cost_usd"])) if "cost_usd" in e else None
        s.cost = client if client is not None else (computed or Decimal(0))
        s.unpriced = computed is None and client is None
        rid = e.get("request_id") or e["event_id"]
        s.superseded = not e.get("shadow") and e.get("attempt", 1) < top.get(rid, 0)
        base_model = baselines.get(e.get("route") or "", ORG_BASELINE)
        base = expected_cost(base_model, e)
        s.baseline = s.cost if base is None else base


@dataclass
class Recurring:
    customer: str
    amount: Decimal
    start: datetime
    end: datetime

    def cumulative(self, t: datetime) -> Fraction:
        micro = timedelta(microseconds=1)
        period = Fraction((self.end - self.start) // micro)
        elapsed = Fraction((t - self.start) // micro)
        elapsed = min(max(elapsed, Fraction(0)), period)
        nanos = Fraction(int(self.amount / NANO)) * elapsed / period
        return Fraction(round(nanos))  # Python's round() on a Fraction is half-even

    def in_window(self, lo: datetime, hi: datetime) -> Decimal:
        return Decimal(int(self.cumulative(hi) - self.cumulative(lo))) * NANO


def rate(num, den, digits=6):
    return None if not den else round(float(num) / float(den), digits)


def expected_metrics(events: list[Stored], recurring: Decimal = Decimal(0)) -> dict:
    live = [s for s in events if not s.raw.get("shadow")]
    cost = sum((s.cost for s in events), Decimal(0))
    shadow_cost = sum((s.cost for s in events if s.raw.get("shadow")), Decimal(0))
    baseline = sum((s.baseline for s in live if not s.superseded), Decimal(0))
    revenue = sum((nanos_of(Decimal(s.raw.get("revenue_usd", "0"))) for s in events), Decimal(0)) + recurring
    requests = sum(1 for s in live if s.raw.get("attempt", 1) == 1)
    fallbacks = sum(1 for s in live if s.raw.get("attempt", 1) == 2)
    errors = sum(1 for s in events if s.raw.get("status") == "error")
    qualities = [s.raw["quality_score"] for s in events if "quality_score" in s.raw]
    latencies = sorted(s.raw["latency_ms"] for s in events if "latency_ms" in s.raw)
    margin = revenue - cost
    return {
        "events": len(events),
        "requests": requests,
        "fallbacks": fallbacks,
        "superseded": sum(1 for s in events if s.superseded),
        "errors": errors,
        "unpriced_events": sum(1 for s in events if s.unpriced),
        **{
            k: sum(s.raw.get(k, 0) for s in events)
            for k in (
                "input_tokens",
                "output_tokens",
                "cache_read_tokens",
                "cache_write_tokens",
                "reasoning_tokens",
            )
        },
        "cost_usd": usd(cost),
        "shadow_cost_usd": usd(shadow_cost),
        "wasted_cost_usd": usd(sum((s.cost for s in events if s.superseded), Decimal(0))),
        "baseline_cost_usd": usd(baseline),
        "savings_usd": usd(baseline - (cost - shadow_cost)),
        "revenue_usd": usd(revenue),
        "margin_usd": usd(margin),
        "margin_pct": rate(100 * margin, revenue, 4),
        "fallback_rate": rate(fallbacks, requests),
        "error_rate": rate(errors, len(events)),
        "avg_quality": rate(sum(qualities), len(qualities)),
        "quality_samples": len(qualities),
        "avg_latency_ms": rate(sum(latencies), len(latencies), 3),
        "_latencies": latencies,
    }


def assert_metrics(got: dict, want: dict, where: str) -> None:
    latencies = want.pop("_latencies")
    for key, value in want.items():
        if value is None or isinstance(value, str | int):
            assert got[key] == value, f"{where}: {key} is {got[key]!r}, expected {value!r}"
        else:
            assert got[key] == pytest.approx(value, rel=1e-9, abs=2e-3), f"{where}: {key}"
    for name, fraction in (("p50_latency_ms", 0.5), ("p95_latency_ms", 0.95)):
        if not latencies:
            assert got[name] is None, where
            continue
        true = latencies[math.ceil(fraction * len(latencies)) - 1]
        edges = (0, *LATENCY_EDGES_MS)
        i = next((j for j, edge in enumerate(LATENCY_EDGES_MS) if true <= edge), len(LATENCY_EDGES_MS))
        lower, upper = edges[i], edges[i + 1] if i + 1 < len(edges) else math.inf
        # Approximate by design: inside the fixed bucket that holds the exact percentile.
        assert lower <= got[name] <= upper, f"{where}: {name} {got[name]} outside bucket of {true}"


def expected_report(stored, recurring: list[Recurring], lo, hi, group_by) -> tuple[dict, dict]:
    inside = [s for s in stored if lo <= s.ts < hi]
    groups: dict[tuple, list[Stored]] = defaultdict(list)
    for s in inside:
        groups[tuple(s.dim(g) for g in group_by)].append(s)
    extra: dict[tuple, Decimal] = defaultdict(Decimal)
    for r in recurring:
        step = timedelta(hours=1) if "hour" in group_by else timedelta(days=1) if "day" in group_by else None
        pieces = [(lo, hi)]
        if step:  # calendar (UTC) days or hours, clipped to the window
            pieces = []
            t = lo.replace(hour=0) if step == timedelta(days=1) else lo
            while t < hi:
                pieces.append((max(t, lo), min(t + step, hi)))
                t += step
        for a, b in pieces:
            amount = r.in_window(a, b)
            if amount:
                key = []
                for g in group_by:
                    if g == "customer":
                        key.append(r.customer)
                    elif g == "day":
                        key.append(a.strftime("%Y-%m-%d"))
                    elif g == "hour":
                        key.append(a.strftime("%Y-%m-%dT%H:00:00Z"))
                    else:
                        key.append(None)
                extra[tuple(key)] += amount
    keys = set(groups) | set(extra)
    rows = {k: expected_metrics(groups.get(k, []), extra.get(k, Decimal(0))) for k in keys}
    totals = expected_metrics(inside, sum(extra.values(), Decimal(0)))
    return rows, totals


# ---------------------------------------------------------------- traffic generation


@st.composite
def traffic(draw):
    n_requests = draw(st.integers(min_value=1, max_value=14))
    requests = []
    for r in range(n_requests):
        chain = draw(st.integers(min_value=1, max_value=3))
        minute = draw(st.integers(min_value=0, max_value=32 * 60))
        base = {
            "customer_id": draw(st.sampled_from([None, "c-a", "c-b", "c-c"])),
            "feature": draw(st.sampled_from([None, "chat", "search"])),
            "route": draw(st.sampled_from([None, "r-org", "r-own"])),
        }
        for attempt in range(1, chain + 1):
            requests.append(_event(draw, f"q{r}-a{attempt}", f"q{r}", attempt, minute, base, shadow=False))
        if draw(st.booleans()) and draw(st.booleans()):
            requests.append(_event(draw, f"q{r}-shadow", f"q{r}", 1, minute, base, shadow=True))
    return requests


def _event(draw, event_id, request_id, attempt, minute, base, *, shadow):
    inp = draw(st.integers(min_value=0, max_value=50_000))
    out = draw(st.integers(min_value=0, max_value=8_000))
    cache_read = draw(st.integers(min_value=0, max_value=inp))
    cache_write = draw(st.integers(min_value=0, max_value=inp - cache_read))
    e = {
        "event_id": event_id,
        "timestamp": (T0 + timedelta(minutes=minute, seconds=attempt * 7)).isoformat().replace("+00:00", "Z"),
        "model": draw(st.sampled_from(MODELS)),
        "input_tokens": inp,
        "output_tokens": out,
        "cache_read_tokens": cache_read,
        "cache_write_tokens": cache_write,
        "reasoning_tokens": draw(st.integers(min_value=0, max_value=out)),
        "request_id": request_id,
        "attempt": attempt,
        "shadow": shadow,
        "status": draw(st.sampled_from(["success", "success", "error"])),
    }
    for key, value in base.items():
        if value is not None:
            e[key] = value
    if draw(st.booleans()):
        e["latency_ms"] = draw(
            st.floats(min_value=0, max_value=60_000, allow_nan=False).map(lambda x: round(x, 1))
        )
    if draw(st.booleans()):
        e["quality_score"] = draw(st.sampled_from([0.0, 0.25, 0.5, 0.8, 1.0]))
    if draw(st.integers(0, 4)) == 0:
        e["cost_usd"] = format(draw(st.decimals(min_value=0, max_value=2, places=12)), "f")
    if draw(st.integers(0, 3)) == 0:
        e["revenue_usd"] = format(draw(st.decimals(min_value=0, max_value=1, places=10)), "f")
    return e


@pytest.fixture
def exact_prices(db):
    for model, (p_in, p_out, p_cr, p_cw, p_re) in PRICES.items():
        ModelPrice.objects.create(
            model=model,
            effective_from=at("2026-01-01T00:00:00Z"),
            input_per_mtok=p_in,
            output_per_mtok=p_out,
            cache_read_per_mtok=p_cr,
            cache_write_per_mtok=p_cw,
            reasoning_per_mtok=p_re,
        )


_orgs = itertools.count()


def fresh_org():
    org = organization_create(name=f"Exact {next(_orgs)}")
    org.baseline_model = ORG_BASELINE
    org.save()
    for name, model in ROUTE_BASELINES.items():
        Route.objects.create(org=org, name=name, baseline_model=model)
    return org, _client_for(org)


GROUPINGS = [
    (),
    ("customer",),
    ("model",),
    ("route",),
    ("feature",),
    ("day",),
    ("hour",),
    ("customer", "day"),
]


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(
    events=traffic(),
    data=st.data(),
)
def test_rollups_match_an_independent_computation(exact_prices, events, data):
    cache.clear()  # the per-key rate limit counts requests across examples
    org, api = fresh_org()
    customer = Customer.objects.create(org=org, external_id="c-b")
    recurring = [Recurring("c-b", Decimal("300"), at("2026-04-10T07:30:00Z"), at("2026-04-12T13:00:00Z"))]
    RevenueEntry.objects.create(
        org=org,
        customer=customer,
        amount_nanos=300 * 10**9,
        period_start=recurring[0].start,
        period_end=recurring[0].end,
    )

    # Arrival: shuffled (attempts out of order), split into batches, with duplicates re-sent
    # (altered: the first write must win) and rollups between some batches (late events).
    order = data.draw(st.permutations(events))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(order)), max_size=3)))
    batches = [list(order[a:b]) for a, b in itertools.pairwise([0, *cuts, len(order)])]
    first: dict[str, dict] = {}
    for i, batch in enumerate(batches):
        resend = data.draw(st.lists(st.sampled_from(list(first.values())), max_size=3)) if first else []
        altered = [{**e, "input_tokens": e["input_tokens"] + 1} for e in resend]
        payload = batch + altered
        if payload:
            response = api.post_events(payload)
            assert response.status_code == 200, response.content
            assert response.json()["duplicates"] == len(altered)
        for e in batch:
            first.setdefault(e["event_id"], e)
        if data.draw(st.booleans(), label=f"rollup after batch {i}"):
            call_command("rollup", verbosity=0)
    call_command("rollup", verbosity=0)

    stored = [Stored(raw=e, ts=at(e["timestamp"])) for e in first.values()]
    price_all(stored, ROUTE_BASELINES)

    for lo, hi in ((WINDOW_START, WINDOW_END), RAGGED):
        for group_by in GROUPINGS:
            report = usage_report(org, start=lo, end=hi, group_by=group_by)
            want_rows, want_totals = expected_report(stored, recurring, lo, hi, group_by)
            where = f"[{lo:%d %H}h, {hi:%d %H}h) by {group_by}"
            assert_metrics(report.totals, want_totals, f"{where} totals")
            got_rows = {tuple(r[g] for g in group_by): r for r in report.rows}
            if not group_by:
                assert report.rows == [report.totals]
                continue
            assert set(got_rows) == set(want_rows), where
            for key, want in want_rows.items():
                assert_metrics(got_rows[key], want, f"{where} row {key}")


def test_late_event_into_a_rolled_up_hour_and_filters_that_need_the_full_rollup(exact_prices):
    org, api = fresh_org()
    e1 = {
        "event_id": "a",
        "timestamp": "2026-04-11T10:05:00Z",
        "model": "exact-big",
        "input_tokens": 1000,
        "output_tokens": 100,
        "customer_id": "c-a",
        "feature": "chat",
    }
    api.post_events([e1])
    call_command("rollup", verbosity=0)
    e2 = {**e1, "event_id": "b", "model": "exact-small", "timestamp": "2026-04-11T10:55:00Z"}
    api.post_events([e2])
    call_command("rollup", verbosity=0)
    stored = [Stored(raw=e, ts=at(e["timestamp"])) for e in (e1, e2)]
    price_all(stored, ROUTE_BASELINES)
    # customer filter + model grouping is no narrow slice: the full rollup answers
    report = usage_report(
        org, start=WINDOW_START, end=WINDOW_END, group_by=["model"], filters={"customer": ["c-a"]}
    )
    rows, totals = expected_report(stored, [], WINDOW_START, WINDOW_END, ("model",))
    assert_metrics(report.totals, totals, "totals")
    for r in report.rows:
        assert_metrics(r, rows[(r["model"],)], r["model"])
    sliced = usage_report(org, start=WINDOW_START, end=WINDOW_END, group_by=["feature"])
    full = usage_report(org, start=WINDOW_START, end=WINDOW_END, group_by=["feature"], use_slices=False)
    assert sliced.rows == full.rows


def test_reprice_after_a_price_change_is_exact(exact_prices):
    org, api = fresh_org()
    events = [
        {
            "event_id": f"e{i}",
            "timestamp": f"2026-04-11T{10 + i}:00:00Z",
            "model": "exact-small",
            "input_tokens": 1_000_000,
            "output_tokens": 0,
            "customer_id": "c-a",
        }
        for i in range(3)
    ]
    api.post_events(events)
    call_command("rollup", verbosity=0)
    report = usage_report(org, start=WINDOW_START, end=WINDOW_END)
    assert report.totals["cost_usd"] == "3.000000000"  # 3 × 1M input tokens at $1
    # A new price from 11:00 on (a corrected catalog row); history changes only with reprice.
    ModelPrice.objects.create(
        model="exact-small",
        effective_from=at("2026-04-11T11:00:00Z"),
        input_per_mtok=Decimal("0.5"),
        output_per_mtok=Decimal(5),
    )
    call_command("rollup", verbosity=0)
    assert usage_report(org, start=WINDOW_START, end=WINDOW_END).totals["cost_usd"] == "3.000000000"
    call_command("reprice", "--model", "exact-small", verbosity=0)
    call_command("rollup", verbosity=0)
    report = usage_report(org, start=WINDOW_START, end=WINDOW_END, group_by=["hour"])
    assert [r["cost_usd"] for r in report.rows] == ["1.000000000", "0.500000000", "0.500000000"]
    assert report.totals["cost_usd"] == "2.000000000"

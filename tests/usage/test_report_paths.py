"""The read paths of usage_report give the same answer whatever they read.

Rows already one per group (a customer×day report over the daily customer slice, a five-dimension
day report over the full daily rollup) are read as they are, time-keyed segments are grouped one by
one, and full-rollup reads run with JIT off and more work_mem: each must equal the full-rollup
path and the sums of the raw events, to the nano-dollar.
"""

from collections import defaultdict

import pytest
from django.core.management import call_command
from hypothesis import example, given, settings
from hypothesis import strategies as st

from costlens.money import nanos_to_str
from costlens.usage.metrics import COUNT_METRICS, finalize
from costlens.usage.models import LATENCY_BUCKETS, LATENCY_EDGES_MS, Event
from costlens.usage.rollup import METRIC_COLUMNS
from costlens.usage.selectors import usage_report, usage_sums
from tests.conftest import make_event
from tests.usage.conftest import END, START


def _event_sums(org, group_by):
    """cost and revenue nanos per group, from the raw events of the window."""
    out = defaultdict(lambda: [0, 0])
    for e in Event.objects.filter(org=org, timestamp__gte=START, timestamp__lt=END):
        key = []
        for g in group_by:
            if g == "day":
                key.append(e.timestamp.strftime("%Y-%m-%d"))
            elif g == "hour":
                key.append(e.timestamp.strftime("%Y-%m-%dT%H:00:00Z"))
            else:
                key.append(getattr(e, g) or None)
        out[tuple(key)][0] += e.cost_nanos
        out[tuple(key)][1] += e.revenue_nanos
    return out


@pytest.mark.parametrize(
    "group_by",
    [
        ["customer", "day"],  # daily customer slice rows read as they are
        ["day", "customer"],
        ["customer", "hour"],  # hourly customer slice rows as they are
        ["feature", "day"],
        ["model", "provider", "route", "day"],
        ["model", "day"],  # grouped inside the (model, provider, route) slice
        ["customer", "feature", "model", "route", "provider", "day"],  # full daily rollup as it is
        ["customer", "feature", "day"],  # full rollup, grouped per segment
        ["customer", "feature"],  # full rollup, one GROUP BY over every segment (JIT off)
        ["day"],
        [],
    ],
)
def test_every_path_equals_the_full_rollup_and_the_events(spread, group_by):
    report = usage_report(spread, start=START, end=END, group_by=group_by)
    full = usage_report(spread, start=START, end=END, group_by=group_by, use_slices=False)
    assert report.rows == full.rows
    assert report.totals == full.totals

    # Usage money reconciles with the raw events, group by group (recurring revenue apart).
    want = _event_sums(spread, group_by)
    got = usage_sums(spread, start=START, end=END, group_by=group_by, columns=("cost_nanos", "revenue_nanos"))
    shown = {}
    for key, sums in got.items():
        text = tuple(
            None
            if v is None
            else v.strftime("%Y-%m-%d")
            if g == "day"
            else v.strftime("%Y-%m-%dT%H:00:00Z")
            if g == "hour"
            else v
            for g, v in zip(group_by, key)
        )
        if sums["cost_nanos"] or sums["revenue_nanos"]:
            shown[text] = [sums["cost_nanos"], sums["revenue_nanos"]]
    assert shown == {k: v for k, v in want.items() if any(v)}
    assert report.totals["cost_usd"] == nanos_to_str(sum(v[0] for v in want.values()))


def test_customer_day_rows_carry_recurring_revenue_and_the_unattributed_customer(spread):
    rows = {
        (r["customer"], r["day"]): r
        for r in usage_report(spread, start=START, end=END, group_by=["customer", "day"]).rows
    }
    # $30 over 3 days: $10 a day, but the 8th is only 17 of its 24 hours inside the window.
    c1 = {day: rows[("c1", day)] for day in ("2026-04-08", "2026-04-09", "2026-04-10", "2026-04-11")}
    events = _event_sums(spread, ["customer", "day"])
    assert c1["2026-04-09"]["revenue_usd"] == nanos_to_str(10 * 10**9 + events[("c1", "2026-04-09")][1])
    assert c1["2026-04-08"]["revenue_usd"] == nanos_to_str(
        round(30 * 10**9 * 17 / 72) + events[("c1", "2026-04-08")][1]
    )
    assert c1["2026-04-11"]["revenue_usd"] == nanos_to_str(events[("c1", "2026-04-11")][1])
    assert rows[("c9", "2026-04-09")]["revenue_usd"] == "5.000000000"
    assert rows[("c9", "2026-04-09")]["events"] == 0
    assert rows[("(unattributed)", "2026-04-09")]["events"] == 1


def test_reports_of_one_org_never_read_another(spread, globex, globex_api):
    r = globex_api.post_events([make_event("g1", customer_id="c1", timestamp="2026-04-09T12:00:00Z")])
    assert r.status_code == 200
    call_command("rollup")
    for group_by in (["customer", "day"], ["customer", "feature"], ["customer", "hour"]):
        rows = usage_report(globex, start=START, end=END, group_by=group_by).rows
        assert [r["events"] for r in rows] == [1]
        assert rows[0]["customer"] == "c1"


# ---------------------------------------------------------------------------------------------------
# finalize: the API's formulas (API.md §3) written out plainly, against the flat hot-path version.
# ---------------------------------------------------------------------------------------------------

UPPERS = [float(e) for e in LATENCY_EDGES_MS] + [None]


def _percentile(histogram, fraction):
    total = sum(histogram)
    if not total:
        return None
    target, cumulative, lower = fraction * total, 0, 0.0
    for count, upper in zip(histogram, UPPERS):
        if count and cumulative + count >= target:
            return (
                lower if upper is None else round(lower + (upper - lower) * (target - cumulative) / count, 1)
            )
        cumulative += count
        if upper is not None:
            lower = upper
    return lower


def _ratio(a, b, digits=6):
    return None if not b else round(a / b, digits)


def _reference(s):
    revenue = s["revenue_nanos"] + s["recurring_revenue_nanos"]
    cost, shadow, baseline = s["cost_nanos"], s["shadow_cost_nanos"], s["baseline_cost_nanos"]
    histogram = [s[f"lat_b{i}"] for i in range(LATENCY_BUCKETS)]
    return {
        **{k: s[k] for k in COUNT_METRICS},
        "cost_usd": nanos_to_str(cost),
        "shadow_cost_usd": nanos_to_str(shadow),
        "wasted_cost_usd": nanos_to_str(s["wasted_cost_nanos"]),
        "baseline_cost_usd": nanos_to_str(baseline),
        "savings_usd": nanos_to_str(baseline - (cost - shadow)),
        "revenue_usd": nanos_to_str(revenue),
        "margin_usd": nanos_to_str(revenue - cost),
        "margin_pct": _ratio(100 * (revenue - cost), revenue, 4),
        "fallback_rate": _ratio(s["fallbacks"], s["requests"]),
        "error_rate": _ratio(s["errors"], s["events"]),
        "avg_quality": _ratio(s["quality_sum"], s["quality_count"]),
        "quality_samples": s["quality_count"],
        "avg_latency_ms": _ratio(s["latency_sum"], s["latency_count"], 3),
        "p50_latency_ms": _percentile(histogram, 0.5),
        "p95_latency_ms": _percentile(histogram, 0.95),
    }


_small = st.one_of(st.just(0), st.integers(0, 5), st.integers(0, 10**7))
_money = st.one_of(st.just(0), st.integers(-(10**15), 10**15))


@st.composite
def _sums(draw):
    sums = {c: draw(_small) for c in METRIC_COLUMNS}
    for c in ("cost_nanos", "shadow_cost_nanos", "wasted_cost_nanos", "baseline_cost_nanos", "revenue_nanos"):
        sums[c] = draw(_money)
    sums["quality_sum"] = draw(st.floats(0, 10**6, allow_nan=False))
    sums["latency_sum"] = draw(st.floats(0, 10**9, allow_nan=False))
    sums["recurring_revenue_nanos"] = draw(_money)
    return sums


@settings(max_examples=400, deadline=None)
@given(_sums())
def test_finalize_matches_the_formulas(sums):
    assert finalize(sums) == _reference(sums)


def test_the_api_answers_the_report_as_json(spread, acme_api):
    import json

    from costlens.usage.api import report_json

    window = {"start": "2026-04-08T07:00:00Z", "end": "2026-04-11T05:00:00Z"}
    r = acme_api.get("/api/v1/usage", {**window, "group_by": "customer,day"})
    assert r.status_code == 200
    assert r["Content-Type"] == "application/json"
    body = json.loads(r.content)
    want = report_json(usage_report(spread, start=START, end=END, group_by=["customer", "day"]))
    assert {k: v for k, v in body.items() if k != "as_of"} == {k: v for k, v in want.items() if k != "as_of"}
    assert len(body["rows"]) > 10


def test_reports_leave_the_garbage_collector_as_they_found_it(spread):
    import gc

    from costlens.usage.selectors import cyclic_gc_paused

    assert gc.isenabled()
    usage_report(spread, start=START, end=END, group_by=["customer", "day"])
    assert gc.isenabled()

    @cyclic_gc_paused
    def fails():
        assert not gc.isenabled()
        raise ValueError

    with pytest.raises(ValueError):
        fails()
    assert gc.isenabled()
    gc.disable()
    try:
        usage_report(spread, start=START, end=END, group_by=["day"])
        assert not gc.isenabled()  # a caller's pause is not ended by a nested report
    finally:
        gc.enable()


@settings(max_examples=400, deadline=None)
@example(1, 0, 2, [1])  # $0.5 nano at the midpoint: a tie, to even (0)
@example(5, 0, 4, [2, 3])  # 2.5 -> 2, 3.75 -> 4
@example(-1, 0, 2, [1, 2])  # -0.5 -> 0
@given(
    st.integers(-(10**13), 10**13) | st.sampled_from([1, 3, 5, -3, 7]),
    st.integers(0, 10**6),
    st.integers(1, 10**7) | st.sampled_from([1, 2, 4, 86_400]),
    st.lists(st.integers(0, 2 * 10**7), min_size=1, max_size=8),
)
def test_recurring_revenue_prorates_every_edge_as_the_definition(amount, offset, seconds, edges):
    """R(t) at a report's bucket edges (the inlined, batched half-even rounding) equals API.md's
    definition (customers.revenue.cumulative_nanos), ties included."""
    from datetime import timedelta

    from costlens.customers.revenue import cumulative_nanos
    from costlens.usage.selectors import _cumulative_at

    period_start = START + timedelta(seconds=offset)
    period_end = period_start + timedelta(seconds=seconds)
    times = [START + timedelta(seconds=e) for e in sorted(edges)]
    assert _cumulative_at(amount, period_start, period_end, times, {}) == [
        cumulative_nanos(amount, period_start, period_end, t) for t in times
    ]

"""From summed rollup columns to the metrics of API.md §3 (names exactly as the API shows them)."""

from __future__ import annotations

from bisect import bisect_left
from itertools import accumulate
from operator import itemgetter

import orjson

from costlens.money import NANOS_PER_USD, nanos_to_str
from costlens.usage.models import LATENCY_BUCKETS, LATENCY_EDGES_MS
from costlens.usage.rollup import METRIC_COLUMNS

COUNT_METRICS = (
    "events",
    "requests",
    "fallbacks",
    "superseded",
    "errors",
    "unpriced_events",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
)
MONEY_METRICS = (
    "cost_usd",
    "shadow_cost_usd",
    "wasted_cost_usd",
    "baseline_cost_usd",
    "savings_usd",
    "revenue_usd",
    "margin_usd",
)
RATE_METRICS = (
    "margin_pct",
    "fallback_rate",
    "error_rate",
    "avg_quality",
    "quality_samples",
    "avg_latency_ms",
    "p50_latency_ms",
    "p95_latency_ms",
)
METRIC_NAMES = COUNT_METRICS + MONEY_METRICS + RATE_METRICS
_HISTOGRAM_KEYS = tuple(f"lat_b{i}" for i in range(LATENCY_BUCKETS))


def empty_sums() -> dict[str, int | float]:
    sums: dict[str, int | float] = dict.fromkeys(METRIC_COLUMNS, 0)
    sums["recurring_revenue_nanos"] = 0
    return sums


def add_sums(into: dict, other: dict) -> dict:
    for key, value in other.items():
        if key in into:
            into[key] += value or 0
    return into


def ratio(numerator: float, denominator: float, digits: int = 6) -> float | None:
    if not denominator:
        return None
    return round(numerator / denominator, digits)


# Lower and upper edge of each histogram bucket (the open last one has no upper), for _percentile.
_LOWERS = (0.0, *(float(e) for e in LATENCY_EDGES_MS))
_UPPERS = (*(float(e) for e in LATENCY_EDGES_MS), None)
# METRIC_COLUMNS positions of what finalize_values reads (the histogram is the tail).
_HIST_AT = METRIC_COLUMNS.index("lat_b0")
assert METRIC_COLUMNS[_HIST_AT:] == list(_HISTOGRAM_KEYS)
_counts = itemgetter(*(METRIC_COLUMNS.index(c) for c in COUNT_METRICS))
_read = itemgetter(
    *(
        METRIC_COLUMNS.index(c)
        for c in (
            "events",
            "requests",
            "fallbacks",
            "errors",
            "cost_nanos",
            "shadow_cost_nanos",
            "wasted_cost_nanos",
            "baseline_cost_nanos",
            "revenue_nanos",
            "quality_sum",
            "quality_count",
            "latency_sum",
            "latency_count",
        )
    )
)


def _percentile(cumulative: list[int], histogram, target: float) -> float:
    """The first bucket whose cumulative count reaches `target` (> 0), interpolated linearly inside
    it; the open last bucket answers its lower edge."""
    i = bisect_left(cumulative, target)
    lower = _LOWERS[i]
    if i == len(LATENCY_EDGES_MS):
        return lower
    upper = _UPPERS[i]
    before = cumulative[i] - histogram[i]
    return round(lower + (upper - lower) * (target - before) / histogram[i], 1)


def finalize_values(values, recurring_revenue_nanos: int = 0) -> tuple:
    """finalize() for a row of summed rollup columns in METRIC_COLUMNS order, answering the metric
    values in METRIC_NAMES order: no dict in or out (a 30-day customer×day report finalises 15,500
    rows; this is what usage_report calls per row). Written out flat, money formatted inline."""
    (
        events,
        requests,
        fallbacks,
        errors,
        cost,
        shadow,
        wasted,
        baseline,
        revenue,
        quality_sum,
        quality_count,
        latency_sum,
        latency_count,
    ) = _read(values)
    revenue += recurring_revenue_nanos
    margin = revenue - cost
    savings = baseline - (cost - shadow)
    money = []
    # '%' of the divmod tuple is one C call: 7 amounts in 1.5 µs where f-strings took 2.2 µs.
    for nanos in (cost, shadow, wasted, baseline, savings, revenue, margin):
        if nanos >= 0:
            money.append("%d.%09d" % divmod(nanos, NANOS_PER_USD))  # noqa: UP031
        else:
            money.append("-%d.%09d" % divmod(-nanos, NANOS_PER_USD))  # noqa: UP031
    histogram = values[_HIST_AT:]
    cumulative = list(accumulate(histogram))
    total = cumulative[-1]
    if total:
        p50 = _percentile(cumulative, histogram, 0.5 * total)
        p95 = _percentile(cumulative, histogram, 0.95 * total)
    else:
        p50 = p95 = None
    return (
        *_counts(values),
        *money,
        # ratio(), inlined: null when the denominator is 0.
        round(100 * margin / revenue, 4) if revenue else None,
        round(fallbacks / requests, 6) if requests else None,
        round(errors / events, 6) if events else None,
        round(quality_sum / quality_count, 6) if quality_count else None,
        quality_count,
        round(latency_sum / latency_count, 3) if latency_count else None,
        p50,
        p95,
    )


_columns = itemgetter(*METRIC_COLUMNS)


def finalize(sums: dict) -> dict:
    """The API's metric dict from summed rollup columns (ints; quality/latency sums float): counts as
    int, money as decimal strings, rates as float or None."""
    return dict(zip(METRIC_NAMES, finalize_values(_columns(sums), sums.get("recurring_revenue_nanos", 0))))


# A rendered row (models.DailyRendered) keeps a row's metrics as JSON members, finalised once when the
# rollup writes its day, except the three that depend on recurring revenue, which is prorated by the
# report's window: they are added when the row is read (revenue_members), in between.
_REVENUE_AT = METRIC_NAMES.index("revenue_usd")
assert METRIC_NAMES[_REVENUE_AT : _REVENUE_AT + 3] == ("revenue_usd", "margin_usd", "margin_pct")
HEAD_NAMES = METRIC_NAMES[:_REVENUE_AT]
TAIL_NAMES = METRIC_NAMES[_REVENUE_AT + 3 :]


def render_members(values) -> tuple[str, str]:
    """The JSON members (no braces) before and after revenue_usd, margin_usd and margin_pct of a row of
    summed rollup columns in METRIC_COLUMNS order, byte for byte as orjson renders finalize_values'
    dict; `head + "," + revenue_members(...) + "," + tail` is the whole metric part of the row."""
    metrics = finalize_values(values)
    head = orjson.dumps(dict(zip(HEAD_NAMES, metrics))).decode()
    tail = orjson.dumps(dict(zip(TAIL_NAMES, metrics[_REVENUE_AT + 3 :]))).decode()
    return head[1:-1], tail[1:-1]


def revenue_members(revenue_nanos: int, cost_nanos: int) -> str:
    """'"revenue_usd":"…","margin_usd":"…","margin_pct":…' as finalize_values and orjson give them."""
    margin = revenue_nanos - cost_nanos
    pct = orjson.dumps(round(100 * margin / revenue_nanos, 4)).decode() if revenue_nanos else "null"
    return (
        f'"revenue_usd":"{nanos_to_str(revenue_nanos)}",'
        f'"margin_usd":"{nanos_to_str(margin)}","margin_pct":{pct}'
    )

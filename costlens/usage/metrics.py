"""From summed rollup columns to the metrics of API.md §3 (names exactly as the API shows them)."""

from __future__ import annotations

from costlens.money import nanos_to_str
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


def latency_percentile(histogram: list[int], fraction: float) -> float | None:
    """Approximate percentile from fixed buckets, interpolated linearly inside the bucket."""
    total = sum(histogram)
    if total == 0:
        return None
    return _percentile(histogram, fraction * total)


# Upper edge of each histogram bucket (None for the open last one), for _percentile.
_UPPERS = tuple(
    float(LATENCY_EDGES_MS[i]) if i < len(LATENCY_EDGES_MS) else None for i in range(LATENCY_BUCKETS)
)


def _percentile(histogram: list[int], target: float) -> float | None:
    """latency_percentile's walk for a precomputed target (fraction × total, total > 0)."""
    cumulative = 0
    lower = 0.0
    for count, upper in zip(histogram, _UPPERS):
        if count and cumulative + count >= target:
            if upper is None:
                return lower
            return round(lower + (upper - lower) * (target - cumulative) / count, 1)
        cumulative += count
        if upper is not None:
            lower = upper
    return lower


def finalize(sums: dict) -> dict:
    """The API's metric dict: counts as int, money as decimal strings, rates as float or None."""
    cost = int(sums["cost_nanos"])
    shadow = int(sums["shadow_cost_nanos"])
    baseline = int(sums["baseline_cost_nanos"])
    revenue = int(sums["revenue_nanos"]) + int(sums.get("recurring_revenue_nanos", 0))
    margin = revenue - cost
    out: dict = {name: int(sums[name]) for name in COUNT_METRICS}
    out.update(
        {
            "cost_usd": nanos_to_str(cost),
            "shadow_cost_usd": nanos_to_str(shadow),
            "wasted_cost_usd": nanos_to_str(int(sums["wasted_cost_nanos"])),
            "baseline_cost_usd": nanos_to_str(baseline),
            "savings_usd": nanos_to_str(baseline - (cost - shadow)),
            "revenue_usd": nanos_to_str(revenue),
            "margin_usd": nanos_to_str(margin),
            "margin_pct": ratio(100 * margin, revenue, 4),
            "fallback_rate": ratio(sums["fallbacks"], sums["requests"]),
            "error_rate": ratio(sums["errors"], sums["events"]),
            "avg_quality": ratio(sums["quality_sum"], sums["quality_count"]),
            "quality_samples": int(sums["quality_count"]),
            "avg_latency_ms": ratio(sums["latency_sum"], sums["latency_count"], 3),
        }
    )
    # latency_percentile(histogram, 0.5 / 0.95), with the total summed once (hot for large groupings).
    histogram = [int(sums[k]) for k in _HISTOGRAM_KEYS]
    total = sum(histogram)
    if total:
        out["p50_latency_ms"] = _percentile(histogram, 0.5 * total)
        out["p95_latency_ms"] = _percentile(histogram, 0.95 * total)
    else:
        out["p50_latency_ms"] = out["p95_latency_ms"] = None
    return out

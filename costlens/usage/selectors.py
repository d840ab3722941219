"""Reads of usage: the one place aggregates are queried. Every selector takes the org first.

Totals come from the rollup tables, never from raw events: hourly rows for the ragged ends of a
window, daily rows for the whole UTC days in between.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db.models import Count, Sum
from django.db.models.functions import TruncDay
from django.utils import timezone

from costlens.accounts.models import Organization
from costlens.customers.models import RevenueEntry
from costlens.customers.revenue import prorated_nanos
from costlens.money import nanos_to_str
from costlens.usage.metrics import add_sums, empty_sums, finalize
from costlens.usage.models import (
    DailyRollup,
    DailySlice,
    DirtyBucket,
    Event,
    HourlyRollup,
    HourlySlice,
    RollupWatermark,
)
from costlens.usage.rollup import DIMENSIONS, METRIC_COLUMNS, cube_for

GROUP_KEYS = ("customer", "feature", "model", "route", "provider", "day", "hour")
FILTER_KEYS = DIMENSIONS
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def truncate_hour(ts: datetime) -> datetime:
    return ts.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def rfc3339(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class UsageReport:
    as_of: datetime | None
    start: datetime
    end: datetime
    group_by: tuple[str, ...]
    rows: list[dict] = field(default_factory=list)
    totals: dict = field(default_factory=dict)


def rollup_as_of(org: Organization) -> datetime | None:
    """Every event received before this instant is reflected in the rollups."""
    if not DirtyBucket.objects.filter(org=org).exists():
        return timezone.now()
    mark = RollupWatermark.objects.filter(org=org).first()
    return mark.as_of if mark else None


def window_segments(start: datetime, end: datetime) -> list[tuple[type, datetime, datetime]]:
    """Split [start, end) (hour-aligned) into hourly ends and whole days in the middle."""
    if end <= start:
        return []
    first_day = start.replace(hour=0) + (DAY if start.hour else timedelta(0))
    last_day = end.replace(hour=0)
    if first_day >= last_day:
        return [(HourlyRollup, start, end)]
    segments: list[tuple[type, datetime, datetime]] = []
    if start < first_day:
        segments.append((HourlyRollup, start, first_day))
    segments.append((DailyRollup, first_day, last_day))
    if last_day < end:
        segments.append((HourlyRollup, last_day, end))
    return segments


def _rollup_rows(
    org: Organization,
    start: datetime,
    end: datetime,
    group_by: Sequence[str],
    filters: dict[str, list[str]],
    *,
    use_slices: bool = True,
) -> Iterable[dict]:
    segments = [(HourlyRollup, start, end)] if "hour" in group_by else window_segments(start, end)
    dims = [g for g in group_by if g in DIMENSIONS]
    sums = {c: Sum(c) for c in METRIC_COLUMNS}
    # The smallest rollup that still has every dimension the query groups or filters by.
    cube = cube_for(set(dims) | set(filters)) if use_slices else None
    for table, lo, hi in segments:
        if cube is None:
            qs = table.objects.filter(org=org, bucket__gte=lo, bucket__lt=hi)
        else:
            narrow = HourlySlice if table is HourlyRollup else DailySlice
            qs = narrow.objects.filter(org=org, cube=cube, bucket__gte=lo, bucket__lt=hi)
        for key, values in filters.items():
            if values:
                qs = qs.filter(**{f"{key}__in": values})
        keys = list(dims)
        if "day" in group_by:
            qs = qs.annotate(day=TruncDay("bucket", tzinfo=UTC))
            keys.append("day")
        if "hour" in group_by:
            keys.append("bucket")
        yield from qs.values(*keys).annotate(**sums).order_by()


def _group_key(row: dict, group_by: Sequence[str]) -> tuple:
    key = []
    for g in group_by:
        if g == "hour":
            key.append(row["bucket"])
        elif g == "day":
            key.append(row["day"])
        else:
            key.append(row[g] or None)
    return tuple(key)


def _recurring_revenue(
    org: Organization, start: datetime, end: datetime, group_by: Sequence[str], filters: dict[str, list[str]]
) -> Iterable[tuple[tuple, int]]:
    """(group key, nanos) of recurring revenue in the window. It has no model/feature/route/provider."""
    if any(filters.get(k) for k in ("feature", "model", "route", "provider")):
        return
    entries = RevenueEntry.objects.filter(org=org, period_start__lt=end, period_end__gt=start).select_related(
        "customer"
    )
    if filters.get("customer"):
        entries = entries.filter(customer__external_id__in=filters["customer"])
    step = HOUR if "hour" in group_by else DAY if "day" in group_by else None
    for entry in entries:
        lo, hi = max(start, entry.period_start), min(end, entry.period_end)
        if step is None:
            pieces = [(None, start, end)]
        else:
            cursor = (
                truncate_hour(lo) if step == HOUR else lo.replace(hour=0, minute=0, second=0, microsecond=0)
            )
            pieces = []
            while cursor < hi:
                pieces.append((cursor, max(cursor, start), min(cursor + step, end)))
                cursor += step
        for bucket, a, b in pieces:
            amount = prorated_nanos(entry.amount_nanos, entry.period_start, entry.period_end, a, b)
            if amount == 0:
                continue
            key = []
            for g in group_by:
                if g == "customer":
                    key.append(entry.customer.external_id)
                elif g in ("day", "hour"):
                    key.append(bucket)
                else:
                    key.append(None)
            yield tuple(key), amount


def _format_key(group: str, value) -> object:
    if value is None:
        return None
    if group == "day":
        return value.astimezone(UTC).strftime("%Y-%m-%d")
    if group == "hour":
        return rfc3339(value)
    return value


def usage_report(
    org: Organization,
    *,
    start: datetime,
    end: datetime,
    group_by: Sequence[str] = (),
    filters: dict[str, list[str]] | None = None,
    use_slices: bool = True,
) -> UsageReport:
    """API.md §3 metrics over [start, end) (truncated to the hour), grouped and filtered.

    `use_slices=False` reads the full five-dimension rollups only (benchmarks compare the two).
    """
    start, end = truncate_hour(start), truncate_hour(end)
    filters = {k: list(v) for k, v in (filters or {}).items() if k in FILTER_KEYS and v}
    group_by = tuple(dict.fromkeys(g for g in group_by if g in GROUP_KEYS))
    grouped: dict[tuple, dict] = {}
    for row in _rollup_rows(org, start, end, group_by, filters, use_slices=use_slices):
        key = _group_key(row, group_by)
        add_sums(grouped.setdefault(key, empty_sums()), {c: row[c] for c in METRIC_COLUMNS})
    for key, amount in _recurring_revenue(org, start, end, group_by, filters):
        grouped.setdefault(key, empty_sums())["recurring_revenue_nanos"] += amount

    totals = empty_sums()
    for sums in grouped.values():
        add_sums(totals, sums)
    rows = []
    for key, sums in grouped.items():
        row = {g: _format_key(g, v) for g, v in zip(group_by, key, strict=True)}
        row.update(finalize(sums))
        row["_cost_nanos"] = sums["cost_nanos"]
        rows.append(row)
    time_key = "hour" if "hour" in group_by else "day" if "day" in group_by else None
    if time_key:
        rows.sort(key=lambda r: (r[time_key] or "", -r["_cost_nanos"]))
    else:
        rows.sort(key=lambda r: (-r["_cost_nanos"], *[str(r[g]) for g in group_by]))
    for row in rows:
        del row["_cost_nanos"]
    if not group_by:
        rows = [finalize(totals)]
    return UsageReport(
        as_of=rollup_as_of(org), start=start, end=end, group_by=group_by, rows=rows, totals=finalize(totals)
    )


@dataclass(frozen=True)
class SpendSoFar:
    events: int
    cost_nanos: int

    @property
    def cost_usd(self) -> str:
        return nanos_to_str(self.cost_nanos) or "0.000000000"


def spend_to_date(org: Organization) -> SpendSoFar:
    agg = DailyRollup.objects.filter(org=org).aggregate(events=Sum("events"), cost=Sum("cost_nanos"))
    return SpendSoFar(events=agg["events"] or 0, cost_nanos=agg["cost"] or 0)


def raw_event_count(org: Organization) -> int:
    """Stored events (for empty states and the demo), not a total shown as money."""
    return Event.objects.filter(org=org).aggregate(n=Count("id"))["n"]


def dimension_values(org: Organization, *, limit: int = 200) -> dict[str, list[str]]:
    """Values seen for each filter dimension (for the filter bar's suggestions)."""
    from costlens.customers.models import Customer
    from routing.models import Route

    out: dict[str, list[str]] = {
        "customer": list(Customer.objects.filter(org=org).values_list("external_id", flat=True)[:limit]),
        "route": list(Route.objects.filter(org=org).values_list("name", flat=True)[:limit]),
    }
    # The narrow daily slices hold every value seen (days × values rows), so these DISTINCTs stay small
    # where the full five-dimension rollup has millions of rows; this runs on every page view.
    days = DailySlice.objects.filter(org=org).order_by()
    for dim in ("feature", "model", "provider"):
        cube = days.filter(cube=cube_for({dim}))
        out[dim] = sorted(v for v in cube.values_list(dim, flat=True).distinct()[:limit] if v)
    return out


# ---------------------------------------------------------------------------------------------------
# Dashboard pages (Overview, Models, Features, Prices). Rollups only; the org first.
# ---------------------------------------------------------------------------------------------------


def has_usage(org: Organization) -> bool:
    """Whether the org has ever sent an event (rolled up or still waiting for the rollup)."""
    return DailyRollup.objects.filter(org=org).exists() or DirtyBucket.objects.filter(org=org).exists()


@dataclass(frozen=True)
class RepricedModel:
    """One model's token volume in a window, its actual cost and what it would cost at today's price.

    `todays_cost_nanos` prices the window's token *sums* once, so it can differ from the sum of
    per-event costs by the per-event rounding (at most 0.5 nano-USD per event): an estimate (≈).
    It is None when the model has no price in force today.
    """

    model: str | None
    events: int
    unpriced_events: int
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    reasoning_tokens: int
    actual_cost_nanos: int
    todays_cost_nanos: int | None

    @property
    def difference_nanos(self) -> int | None:
        if self.todays_cost_nanos is None:
            return None
        return self.todays_cost_nanos - self.actual_cost_nanos

    @property
    def change_pct(self) -> float | None:
        if self.difference_nanos is None or not self.actual_cost_nanos:
            return None
        return round(100 * self.difference_nanos / self.actual_cost_nanos, 2)


@dataclass
class RepriceEstimate:
    as_of: datetime | None
    start: datetime
    end: datetime
    priced_at: datetime
    models: list[RepricedModel]

    @property
    def actual_cost_nanos(self) -> int:
        return sum(m.actual_cost_nanos for m in self.models)

    @property
    def todays_cost_nanos(self) -> int:
        """Models without a price today count at their actual cost (nothing to compare them with)."""
        return sum(
            m.actual_cost_nanos if m.todays_cost_nanos is None else m.todays_cost_nanos for m in self.models
        )

    @property
    def unpriced(self) -> list[RepricedModel]:
        return [m for m in self.models if m.unpriced_events]


def window_at_todays_prices(
    org: Organization,
    *,
    start: datetime,
    end: datetime,
    filters: dict[str, list[str]] | None = None,
    at: datetime | None = None,
) -> RepriceEstimate:
    """The window's token volume by model (from the rollups), priced at the price in force `at` (now).

    The org's override beats the catalog, as for live events (API.md §2).
    """
    from decimal import Decimal

    from costlens.money import usd_to_nanos
    from costlens.pricing.cost import cost_nanos
    from costlens.pricing.selectors import price_book_for

    at = at or timezone.now()
    report = usage_report(org, start=start, end=end, group_by=["model"], filters=filters)
    book = price_book_for(org)
    models = []
    for row in report.rows:
        tokens = {
            k: row[k]
            for k in (
                "input_tokens",
                "output_tokens",
                "cache_read_tokens",
                "cache_write_tokens",
                "reasoning_tokens",
            )
        }
        price = book.price_at(row["model"], at) if row["model"] else None
        models.append(
            RepricedModel(
                model=row["model"],
                events=row["events"],
                unpriced_events=row["unpriced_events"],
                actual_cost_nanos=usd_to_nanos(Decimal(row["cost_usd"])),
                todays_cost_nanos=cost_nanos(price, **tokens) if price is not None else None,
                **tokens,
            )
        )
    return RepriceEstimate(
        as_of=report.as_of, start=report.start, end=report.end, priced_at=at, models=models
    )

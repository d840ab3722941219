"""Reads of usage: the one place aggregates are queried. Every selector takes the org first.

Totals come from the rollup tables, never from raw events: hourly rows for the ragged ends of a
window, daily rows for the whole UTC days in between.
"""

from __future__ import annotations

import functools
import gc
from collections import defaultdict
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import reduce
from operator import add, itemgetter

import orjson
from django.db import connection, transaction
from django.db.models import BigIntegerField, Count, Func, Sum
from django.utils import timezone

from costlens.accounts.models import Organization
from costlens.customers.models import RevenueEntry
from costlens.customers.revenue import cumulative_nanos
from costlens.money import nanos_to_str
from costlens.usage.metrics import METRIC_NAMES, add_sums, finalize_values, revenue_members
from costlens.usage.models import (
    UNATTRIBUTED,
    DailyRendered,
    DailyRollup,
    DailySlice,
    DirtyBucket,
    Event,
    HourlyRollup,
    HourlySlice,
    RollupWatermark,
    SpanSlice,
)
from costlens.usage.rollup import (
    COST_AT,
    CUBES,
    DIMENSIONS,
    METRIC_COLUMNS,
    QUARTER,
    SPANS,
    WEEK,
    cube_for,
    quarter_of,
    week_of,
)

GROUP_KEYS = ("customer", "feature", "model", "route", "provider", "day", "hour")
FILTER_KEYS = DIMENSIONS
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
MICROSECOND = timedelta(microseconds=1)


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
    # usage_report(rendered=True) may answer the rows as the JSON text of the array instead (`rows`
    # is then empty): the same rows, in the same order, byte for byte as orjson renders `rows`.
    rows_json: str | None = None


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


FLOAT_COLUMNS = {"quality_sum", "latency_sum"}
_FLOAT_AT = {i for i, c in enumerate(METRIC_COLUMNS) if c in FLOAT_COLUMNS}
_ZEROS = (0,) * len(METRIC_COLUMNS)


def _as_utc(value) -> datetime:
    """A bucket as returned by raw SQL: epoch seconds or aware on PostgreSQL, naive UTC text on SQLite."""
    if isinstance(value, int):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _rollup_rows(
    org: Organization,
    start: datetime,
    end: datetime,
    group_by: Sequence[str],
    filters: dict[str, list[str]],
    *,
    use_slices: bool = True,
    columns: Sequence[str] = METRIC_COLUMNS,
) -> Iterable[tuple[tuple, tuple]]:
    """(group key, summed rollup `columns` as a tuple) per group, from ONE statement over every window
    segment.

    `columns` (default: every metric column) narrows what is read and summed, for lean selectors.

    The segments (hourly ends, daily middle) are UNION ALL'ed and grouped in the database, and the
    sums are cast to bigint, so Python receives one plain row per group: no per-row ORM conversion,
    no Decimal, no merging (it was most of the time of a report at 10M events). A group key may
    still repeat (e.g. two rollup rows of one group); callers add such rows up.
    """
    segments = [(HourlyRollup, start, end)] if "hour" in group_by else window_segments(start, end)
    if not segments:
        return
    dims = [g for g in group_by if g in DIMENSIONS]
    # The smallest rollup that still has every dimension the query groups or filters by.
    cube = cube_for(set(dims) | set(filters)) if use_slices else None
    rest = None if "hour" in group_by else _trailing_day_guard(segments)
    # (table, lo, hi, guard): guard None, or whether the rest of the trailing partial day has rows.
    segments = [(table, lo, hi, None) for table, lo, hi in segments]
    if rest is not None:
        _, day, until, _ = segments.pop()
        segments += [(DailyRollup, day, day + DAY, False), (HourlyRollup, day, until, True)]
    if cube is not None and "hour" not in group_by:
        # Whole quarters of the partial days and, without a day key, whole weeks: one row each.
        segments = [
            (part, a, b, guard)
            for table, lo, hi, guard in segments
            for part, a, b in span_parts(table, lo, hi, weeks="day" not in group_by)
        ]
    key_exprs = []
    postgres = connection.vendor == "postgresql"
    for g in group_by:
        # On PostgreSQL time keys come back as epoch seconds (bigint): psycopg parses a timestamptz
        # from text for every row (a 30-day customer×day read has thousands), an int costs nothing
        # and is converted to a datetime once per distinct value below.
        if g == "day":
            key_exprs.append(
                "CAST(EXTRACT(EPOCH FROM date_trunc('day', bucket, 'UTC')) AS BIGINT)"
                if postgres
                else "date(bucket)"
            )
        elif g == "hour":
            key_exprs.append("CAST(EXTRACT(EPOCH FROM bucket) AS BIGINT)" if postgres else "bucket")
        else:
            key_exprs.append(f"NULLIF({g}, '')")  # unattributed: None, as the API shows it
    # Rows of the table that are already one per group (the grouped dimensions are exactly the table's,
    # at the grouped time grain) are read as they are: a 30-day customer×day report is 14,500 daily
    # slice rows, and aggregating them again spilled a 15,500-group hash aggregate to disk (~1 s).
    table_dims = set(CUBES[cube]) if cube is not None else set(DIMENSIONS)
    one_row_per_group = set(dims) == table_dims
    # With a time key the segments hold disjoint groups, so each is grouped on its own and the outer
    # GROUP BY over their union is not needed.
    time_keyed = "day" in group_by or "hour" in group_by
    casts = [f"SUM({c})" if c in FLOAT_COLUMNS else f"CAST(SUM({c}) AS BIGINT)" for c in columns]
    select_keys = "".join(f"{expr}, " for expr in key_exprs)
    group = f" GROUP BY {', '.join(key_exprs)}" if key_exprs else ""
    parts, params = [], []
    # The org's rows of the chosen table (and cube), in [%s, %s).
    in_cube = " AND cube = %s" if cube is not None else ""
    scope = f"org_id = %s{in_cube} AND bucket >= %s AND bucket < %s"
    scope_params = [org.pk] + ([cube] if cube is not None else [])
    hourly_table = (HourlyRollup if cube is None else HourlySlice)._meta.db_table
    filter_sql, filter_params = _filter_sql(filters)
    for table, lo, hi, guard in segments:
        if table in SPANS:  # a quarter or week of the slices
            model, where = SpanSlice, ["grain = %s", scope]
            params.append(table)
        else:
            model = table if cube is None else (HourlySlice if table is HourlyRollup else DailySlice)
            where = [scope]
        params += [*scope_params, _db_dt(lo), _db_dt(hi)]
        if guard is not None:
            where.append(f"{'' if guard else 'NOT '}EXISTS (SELECT 1 FROM {hourly_table} WHERE {scope})")
            params += [*scope_params, _db_dt(rest[0]), _db_dt(rest[1])]
        where += filter_sql
        params += filter_params
        source = f"FROM {model._meta.db_table} WHERE {' AND '.join(where)}"
        if not time_keyed:
            parts.append(f"SELECT {', '.join(sorted(set(dims) | {'bucket'}) + list(columns))} {source}")
        elif one_row_per_group and ("hour" in group_by or table is DailyRollup):
            parts.append(f"SELECT {select_keys}{', '.join(columns)} {source}")
        else:
            parts.append(f"SELECT {select_keys}{', '.join(casts)} {source}{group}")
    if time_keyed:
        sql = " UNION ALL ".join(parts)
    else:
        sql = f"SELECT {select_keys}{', '.join(casts)} FROM ({' UNION ALL '.join(parts)}) AS segments{group}"
    n_keys = len(key_exprs)
    with connection.cursor() as cursor:
        if postgres and (cube is None or key_exprs):
            # Tens to hundreds of thousands of rows aggregated again (the full rollup, or the customer x
            # feature slice over a long window: ~56,000 rows in 30 days). JIT compilation of
            # the 40 sums cost ~0.6 s of a ~1.5 s customer×feature read (more than it saved), and the
            # sort or hash aggregate spilled to disk at the default 4 MB; with more memory the ~8,000
            # hourly customer rows of a partial day are hashed instead of sorted (25 -> 17 ms). Every
            # grouped read gets the same settings, so the same rows are summed by the same plan whatever
            # the window (_rendered_report reads a window's partial days on their own): quality and
            # latency are float sums, and their last bit depends on the order rows are added in.
            # SET LOCAL: this transaction (or savepoint's) only.
            with transaction.atomic():
                cursor.execute(
                    "SELECT set_config('jit', 'off', true), set_config('work_mem', '32MB', true), "
                    "set_config('max_parallel_workers_per_gather', '0', true)"
                )
                cursor.execute(sql, params)
                rows = cursor.fetchall()
        else:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
    # Per-row work kept minimal (a 30-day customer×day report has 15,500 rows): the row is sliced, not
    # copied into a dict; "" dimensions are NULL from SQL already; bucket values are converted once per
    # distinct value, not once per row.
    time_at = [i for i, g in enumerate(group_by) if g in ("day", "hour")]
    converted: dict = {}
    for row in rows:
        values = row[n_keys:]
        if values[0] is None:  # no rollup rows at all (an aggregate without GROUP BY still answers)
            continue
        key = row[:n_keys]
        if time_at:
            key = list(key)
            for i in time_at:
                v = key[i]
                c = converted.get(v)
                if c is None:
                    c = converted[v] = _as_utc(v)
                key[i] = c
            key = tuple(key)
        yield key, values


def _filter_sql(filters: dict[str, list[str]]) -> tuple[list[str], list[str]]:
    """WHERE terms (`dimension IN (...)`) and their parameters for a report's filters."""
    terms = [f"{key} IN ({', '.join(['%s'] * len(values))})" for key, values in filters.items()]
    return terms, [v for values in filters.values() for v in values]


def span_parts(table, lo: datetime, hi: datetime, *, weeks: bool) -> list[tuple]:
    """A window segment as the coarsest rollup rows that tile it: an hourly one as hours up to the first
    quarter boundary, whole quarters ("q"), then hours; a daily one, with `weeks`, as days up to the
    first Monday, whole weeks ("w"), then days (models.SpanSlice)."""
    if table is HourlyRollup:
        step, coarse, align = QUARTER, "q", quarter_of
    elif weeks:
        step, coarse, align = WEEK, "w", week_of
    else:
        return [(table, lo, hi)]
    first, last = align(lo), align(hi)
    if first < lo:
        first += step
    if first >= last:
        return [(table, lo, hi)]
    parts = [(table, lo, first)] if lo < first else []
    parts.append((coarse, first, last))
    if last < hi:
        parts.append((table, last, hi))
    return parts


def _trailing_day_guard(segments: list) -> tuple[datetime, datetime] | None:
    """Where the window's last segment is a partial UTC day [day, end): the rest of it, [end, next day).

    Dashboards ask for "the last N days up to now", so the window ends inside today and the hours
    after its end are still empty; then the day's daily row holds exactly the sums of its hours
    before the end (the day and its hours are written in the same rollup transaction, and one
    statement reads them consistent). _rollup_rows reads that daily row when nothing is stored in
    the rest of the day, and the hours otherwise (a late or future-dated event): two guarded
    branches of the same statement, each an index probe the planner runs once. Today's hourly
    rows are many (~1,400 an hour in the customer x feature slice, 22,000 in a 16-hour morning)
    where the daily row is one per group.
    """
    if not segments or segments[-1][0] is not HourlyRollup:
        return None
    _, day, end = segments[-1]
    if day.hour or end - day >= DAY:
        return None
    return end, day + DAY


def _db_dt(value: datetime):
    return connection.ops.adapt_datetimefield_value(value)


_ENTRY_COLUMNS = ("customer__external_id", "amount_nanos", "period_start", "period_end")


class _EpochMicros(Func):
    """A timestamptz as bigint microseconds since the epoch (PostgreSQL)."""

    template = "CAST(EXTRACT(EPOCH FROM %(expressions)s) * 1000000 AS BIGINT)"
    output_field = BigIntegerField()


_shared_entries: ContextVar[tuple | None] = ContextVar("shared_revenue_entries", default=None)


@contextmanager
def revenue_entries_read_once(org: Organization, start: datetime, end: datetime):
    """Within the block, recurring revenue of `org` over any window inside [start, end) is prorated
    from revenue entries read once here (a page that shows several sums of one range, or of this
    range and the previous one, read them up to five times). Nothing else changes: the same entries
    (overlapping the window, of the filtered customers) are prorated the same way."""
    start, end = truncate_hour(start), truncate_hour(end) + HOUR
    rows = _entries_overlapping(org, start, end, None)
    token = _shared_entries.set((org.pk, start, end, rows))
    try:
        yield
    finally:
        _shared_entries.reset(token)


def _revenue_entry_rows(
    org: Organization, start: datetime, end: datetime, customers: list[str] | None
) -> Iterable[tuple]:
    """(customer external id, amount, period start, period end) of entries overlapping [start, end)."""
    shared = _shared_entries.get()
    if shared is not None and shared[0] == org.pk and shared[1] <= start and end <= shared[2]:
        wanted = set(customers) if customers else None
        return [
            row
            for row in shared[3]
            if row[2] < end and row[3] > start and (wanted is None or row[0] in wanted)
        ]
    return _entries_overlapping(org, start, end, customers)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _entries_overlapping(
    org: Organization, start: datetime, end: datetime, customers: list[str] | None
) -> list[tuple]:
    entries = RevenueEntry.objects.filter(org=org, period_start__lt=end, period_end__gt=start)
    if customers:
        entries = entries.filter(customer__external_id__in=customers)
    if connection.vendor != "postgresql":
        return list(entries.values_list(*_ENTRY_COLUMNS))
    # The periods as epoch microseconds, each distinct one converted once: psycopg parses a
    # timestamptz in Python (~3 µs), and a month of entries (one per customer) shares a few periods.
    sql, params = entries.values_list(
        "customer__external_id",
        "amount_nanos",
        _EpochMicros("period_start"),
        _EpochMicros("period_end"),
    ).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    instants: dict[int, datetime] = {}
    for micros in {m for row in rows for m in row[2:]}:
        instants[micros] = _EPOCH + timedelta(microseconds=micros)
    return [(external_id, amount, instants[lo], instants[hi]) for external_id, amount, lo, hi in rows]


def _recurring_revenue(
    org: Organization,
    start: datetime,
    end: datetime,
    group_by: Sequence[str],
    filters: dict[str, list[str]],
    *,
    epoch_buckets: bool = False,
) -> Iterable[tuple[tuple, int]]:
    """(group key, nanos) of recurring revenue in the window. It has no model/feature/route/provider.
    A day or hour in the key is a datetime, or with `epoch_buckets` its epoch seconds."""
    if any(filters.get(k) for k in ("feature", "model", "route", "provider")):
        return
    step = HOUR if "hour" in group_by else DAY if "day" in group_by else None
    # Plain tuples: a report can cover thousands of entries (one per customer and month).
    rows = _revenue_entry_rows(org, start, end, filters.get("customer"))
    elapsed_cache: dict[tuple, list[int]] = {}
    span_cache: dict[tuple, tuple[list, list]] = {}
    key_cache: dict[tuple, tuple] = {}
    by_customer = "customer" in group_by
    # True for a (customer, day|hour) key, False for (day|hour, customer), None for any other.
    pair = {("customer", "day"): True, ("customer", "hour"): True}.get(tuple(group_by))
    if pair is None and tuple(group_by) in (("day", "customer"), ("hour", "customer")):
        pair = False
    totals: dict[tuple, int] = defaultdict(int)  # summed here: one yield per group, not per entry × bucket
    for external_id, amount_nanos, period_start, period_end in rows:
        lo, hi = max(start, period_start), min(end, period_end)
        if step is None:
            buckets, edges = [None], [start, end]
        elif (lo, hi) in span_cache:  # entries of the same period share their buckets and edges
            buckets, edges = span_cache[(lo, hi)]
        else:
            # R(t) once per bucket edge: bucket i gets R(edge i+1) − R(edge i), exact and additive.
            cursor = (
                truncate_hour(lo) if step == HOUR else lo.replace(hour=0, minute=0, second=0, microsecond=0)
            )
            buckets, edges = [], [max(cursor, start)]
            while cursor < hi:
                buckets.append(int(cursor.timestamp()) if epoch_buckets else cursor)
                cursor += step
                edges.append(min(cursor, end))
            span_cache[(lo, hi)] = buckets, edges
        cumulative = _cumulative_at(amount_nanos, period_start, period_end, edges, elapsed_cache)
        if pair is not None:  # (customer, time) or (time, customer): the key built directly
            keys = [(external_id, b) for b in buckets] if pair else [(b, external_id) for b in buckets]
            for key, before, after in zip(keys, cumulative, cumulative[1:]):
                if after != before:
                    totals[key] += after - before
            continue
        for bucket, before, after in zip(buckets, cumulative, cumulative[1:]):
            if after != before:
                cache_key = (external_id if by_customer else None, bucket)
                key = key_cache.get(cache_key)
                if key is None:
                    key = key_cache[cache_key] = tuple(
                        external_id if g == "customer" else bucket if g in ("day", "hour") else None
                        for g in group_by
                    )
                totals[key] += after - before
    yield from totals.items()


def _cumulative_at(
    amount_nanos: int, period_start: datetime, period_end: datetime, edges: list[datetime], cache: dict
) -> list[int]:
    """R(t) (customers.revenue.cumulative_nanos) at every edge; the clamped elapsed times are shared
    by all entries of the same period, so an hourly report over thousands of entries stays cheap."""
    period = (period_end - period_start) // MICROSECOND
    if period <= 0:
        return [cumulative_nanos(amount_nanos, period_start, period_end, t) for t in edges]
    key = (period_start, period_end, edges[0], edges[-1], len(edges))
    elapsed = cache.get(key)
    if elapsed is None:
        elapsed = cache[key] = [min(max((t - period_start) // MICROSECOND, 0), period) for t in edges]
    sign, amount = (-1, -amount_nanos) if amount_nanos < 0 else (1, amount_nanos)
    # money.round_half_even_div inlined: a daily series prorates every entry at ~31 edges. Half up
    # (floor((2·A·e + P) / 2P)), then an exact tie (no remainder) that went up to an odd quotient
    # back down to even; two comprehensions instead of a loop.
    double = 2 * period
    halves = [divmod(2 * amount * e + period, double) for e in elapsed]
    return [sign * (q - 1 if not r and q & 1 else q) for q, r in halves]


def _tie_break_positions(group_by: Sequence[str]) -> list[int]:
    """Where a time-keyed report's dimensions are in its key, in DIMENSIONS order: rows of the same
    time and cost are ordered by those values (models.DailyRendered.rank does the same)."""
    return [group_by.index(d) for d in DIMENSIONS if d in group_by]


def _format_key(group: str, value) -> object:
    if value is None:
        return None
    if group == "day":
        return value.astimezone(UTC).strftime("%Y-%m-%d")
    if group == "hour":
        return rfc3339(value)
    return value


def cyclic_gc_paused(fn):
    """Run fn with Python's cyclic garbage collector paused (reference counting still frees).

    A 30-day customer×day report builds ~50,000 dicts; each batch of 700 new containers triggered a
    young collection and some a full one over every object of the process (measured: 160-260 ms of
    a ~1.7 s request, and single 90-185 ms pauses that set the p95 of the customer and margin
    pages). Report rows hold no cycles, so nothing waits for the collector; it resumes on return.
    """

    @functools.wraps(fn)
    def paused(*args, **kwargs):
        if not gc.isenabled():  # nested, or paused by the caller
            return fn(*args, **kwargs)
        gc.disable()
        try:
            return fn(*args, **kwargs)
        finally:
            gc.enable()

    return paused


@cyclic_gc_paused
def usage_report(
    org: Organization,
    *,
    start: datetime,
    end: datetime,
    group_by: Sequence[str] = (),
    filters: dict[str, list[str]] | None = None,
    use_slices: bool = True,
    rendered: bool = False,
) -> UsageReport:
    """API.md §3 metrics over [start, end) (truncated to the hour), grouped and filtered.

    `use_slices=False` reads the full five-dimension rollups only (benchmarks compare the two).
    `rendered=True` lets a report grouped by day and one cube's dimensions answer `rows_json` from
    the rendered daily rows instead of `rows` (GET /api/v1/usage; see _rendered_report).
    """
    start, end = truncate_hour(start), truncate_hour(end)
    filters = {k: list(v) for k, v in (filters or {}).items() if k in FILTER_KEYS and v}
    group_by = tuple(dict.fromkeys(g for g in group_by if g in GROUP_KEYS))
    if rendered and use_slices:
        report = _rendered_report(org, start, end, group_by, filters)
        if report is not None:
            return report
    # Per group: the summed METRIC_COLUMNS as a tuple, one row from SQL taken as is (no dict, no
    # copy) unless a key repeats; recurring revenue beside it.
    grouped: dict[tuple, tuple] = {}
    for key, values in _rollup_rows(org, start, end, group_by, filters, use_slices=use_slices):
        if None in values:
            values = tuple(v or 0 for v in values)
        existing = grouped.get(key)
        grouped[key] = values if existing is None else tuple(map(add, existing, values))
    recurring: dict[tuple, int] = {}
    for key, amount in _recurring_revenue(org, start, end, group_by, filters):
        if key not in grouped:  # revenue without usage in this group
            grouped[key] = _ZEROS
        recurring[key] = recurring.get(key, 0) + amount

    totals = list(_ZEROS)
    if grouped:
        # Column-wise sums in C; floats summed in order, as a running total would (reduce, not sum:
        # sum() of floats is compensated from Python 3.12 on).
        totals = [
            reduce(add, column, 0) if i in _FLOAT_AT else sum(column)
            for i, column in enumerate(zip(*grouped.values()))
        ]
    total_metrics = dict(zip(METRIC_NAMES, finalize_values(totals, sum(recurring.values()))))
    # Rows are built once, in their final order (decorated sort: no helper key added and removed).
    time_at = next((i for i, g in enumerate(group_by) if g == "hour"), None)
    if time_at is None:
        time_at = next((i for i, g in enumerate(group_by) if g == "day"), None)
    formatted: dict[tuple, object] = {}
    times = [g in ("day", "hour") for g in group_by]
    tie_at = _tie_break_positions(group_by)
    names = (*group_by, *METRIC_NAMES)
    decorated = []
    recurring_of = recurring.get
    for key, values in grouped.items():
        if time_at is None:  # no time key to format
            shown = key
        else:
            shown = []
            for g, is_time, v in zip(group_by, times, key, strict=True):
                if is_time:
                    text = formatted.get((g, v))
                    if text is None:
                        text = formatted[(g, v)] = _format_key(g, v)
                    shown.append(text)
                else:
                    shown.append(v)
        row = dict(zip(names, (*shown, *finalize_values(values, recurring_of(key, 0)))))
        cost = values[COST_AT]
        # By time then cost (largest first), ties by the dimensions' text (unattributed as "") in
        # DIMENSIONS order, as rendered rows are ranked; without a time key by cost, then the key's text.
        if time_at is None:
            order = (-cost, *map(str, shown))
        else:
            order = (shown[time_at] or "", -cost, *(shown[i] or "" for i in tie_at))
        decorated.append((order, row))
    decorated.sort(key=itemgetter(0))
    rows = [row for _, row in decorated]
    if not group_by:
        rows = [dict(total_metrics)]
    return UsageReport(
        as_of=rollup_as_of(org), start=start, end=end, group_by=group_by, rows=rows, totals=total_metrics
    )


def _rendered_report(
    org: Organization,
    start: datetime,
    end: datetime,
    group_by: tuple[str, ...],
    filters: dict[str, list[str]],
) -> UsageReport | None:
    """usage_report with `rows_json`, for a report grouped by day and exactly one cube's dimensions
    on PostgreSQL (a 30-day customer x day report is 15,500 rows, 10 MB of JSON): the whole UTC days
    are read from DailyRendered, finalised when the rollup wrote the day, so a row costs a string
    join (plus its recurring revenue, prorated per day as usage_report does) instead of ~40 sums
    read and finalised. The partial days at the window's ends and the totals are usage_report's own.
    All of it is read in one snapshot. None when the report has another shape, or when a day's
    rendered rows are not those of its slices (_rendered_days_current); usage_report then reads the
    slices. The rows are usage_report's, in its order, byte for byte (tests compare them).
    """
    if connection.vendor != "postgresql" or "day" not in group_by or "hour" in group_by:
        return None
    dims = [g for g in group_by if g != "day"]
    cube = cube_for(set(dims) | set(filters))
    if cube is None or set(dims) != set(CUBES[cube]):
        return None
    segments = window_segments(start, end)
    whole = [(lo, hi) for table, lo, hi in segments if table is DailyRollup]
    if not whole:
        return None
    days_lo, days_hi = whole[0]
    edges = [(lo, hi) for table, lo, hi in segments if table is HourlyRollup]
    filter_sql, filter_params = _filter_sql(filters)
    where = ["org_id = %s", "cube = %s", "bucket >= %s", "bucket < %s", *filter_sql]
    with _one_snapshot(), connection.cursor() as cursor:
        rest = _trailing_day_guard(segments)
        if rest is not None and not _slice_hours_exist(cursor, org, cube, *rest):
            edges.pop()  # the trailing partial day is read from its daily row, as _rollup_rows does
            days_hi += DAY
        if not _rendered_days_current(cursor, org, cube, days_lo, days_hi):
            return None
        keys = ", ".join(
            "CAST(EXTRACT(EPOCH FROM bucket) AS BIGINT)" if g == "day" else f"NULLIF({g}, '')"
            for g in group_by
        )
        # In (day, rank) order from the index: the planner preferred a parallel scan and a sort of the
        # ~1 KB rows (55 ms where the index scan takes 11 at 15,000 rows).
        cursor.execute(
            "SELECT set_config('enable_sort', 'off', true), "
            "set_config('max_parallel_workers_per_gather', '0', true)"
        )
        cursor.execute(
            f"""
            SELECT {keys}, cost_nanos, revenue_nanos, head, tail FROM {DailyRendered._meta.db_table}
            WHERE {" AND ".join(where)}
            ORDER BY bucket, rank
            """,
            [org.pk, cube, _db_dt(days_lo), _db_dt(days_hi), *filter_params],
        )
        rows = cursor.fetchall()
        cursor.execute("SELECT set_config('enable_sort', 'on', true)")  # parallel plans stay off
        with revenue_entries_read_once(org, start, end):
            recurring = dict(
                _recurring_revenue(org, days_lo, min(days_hi, end), group_by, filters, epoch_buckets=True)
            )
            parts = [
                usage_report(org, start=lo, end=hi, group_by=group_by, filters=filters) for lo, hi in edges
            ]
            total = usage_report(org, start=start, end=end, filters=filters)
    n = len(group_by)
    members: list[dict] = [{} for _ in group_by]  # per key position: value -> '"name":value'

    def member(i: int, value) -> str:
        text = members[i].get(value)
        if text is None:
            shown = datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d") if group_by[i] == "day" else value
            text = members[i][value] = f'"{group_by[i]}":{orjson.dumps(shown).decode()}'
        return text

    texts = []
    append, pop = texts.append, recurring.pop
    if n == 2:  # a cube of one dimension, and the day: the usual shape, unrolled
        first, second = members
        for a, b, cost, revenue, head, tail in rows:
            shown_a = first.get(a) or member(0, a)
            shown_b = second.get(b) or member(1, b)
            append(f"{{{shown_a},{shown_b},{head},{revenue_members(revenue + pop((a, b), 0), cost)},{tail}}}")
    else:
        positions = range(n)
        for row in rows:
            key = row[:n]
            cost, revenue, head, tail = row[n:]
            shown = ",".join([members[i].get(key[i]) or member(i, key[i]) for i in positions])
            append(f"{{{shown},{head},{revenue_members(revenue + pop(key, 0), cost)},{tail}}}")
    if recurring:  # revenue without usage in a group: rows of zeros, put in their place
        day_at = group_by.index("day")
        names = (*group_by, *METRIC_NAMES)

        tie_at = _tie_break_positions(group_by)

        def order(key: tuple, cost: int) -> tuple:
            day = datetime.fromtimestamp(key[day_at], UTC).strftime("%Y-%m-%d")
            return (day, -cost, *(key[i] or "" for i in tie_at))

        decorated = [(order(row[:n], row[n]), text) for row, text in zip(rows, texts, strict=True)]
        for key, amount in recurring.items():
            shown = list(key)
            shown[day_at] = _format_key("day", datetime.fromtimestamp(key[day_at], UTC))
            row = dict(zip(names, (*shown, *finalize_values(_ZEROS, amount))))
            decorated.append((order(key, 0), orjson.dumps(row).decode()))
        decorated.sort(key=itemgetter(0))
        texts = [text for _, text in decorated]
    # The partial days at either end, in their place: their rows are usage_report's, already ordered.
    ends = [(lo < days_lo, orjson.dumps(part.rows).decode()[1:-1]) for part, (lo, _) in zip(parts, edges)]
    texts = [t for first, t in ends if first and t] + texts + [t for first, t in ends if not first and t]
    if texts:  # brackets on the first and last rows: the ~10 MB of a month is joined once
        texts[0] = "[" + texts[0]
        texts[-1] += "]"
    rows_json = ",".join(texts) if texts else "[]"
    return UsageReport(
        as_of=total.as_of, start=start, end=end, group_by=group_by, totals=total.totals, rows_json=rows_json
    )


@contextmanager
def _one_snapshot():
    """The block's statements read one snapshot (REPEATABLE READ, read only), so several of them agree
    (a report's rows and totals); inside a caller's transaction, that transaction's reads."""
    if connection.in_atomic_block:
        yield
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield


def _slice_hours_exist(cursor, org: Organization, cube: int, lo: datetime, hi: datetime) -> bool:
    cursor.execute(
        f"SELECT EXISTS (SELECT 1 FROM {HourlySlice._meta.db_table} "
        "WHERE org_id = %s AND cube = %s AND bucket >= %s AND bucket < %s)",
        [org.pk, cube, _db_dt(lo), _db_dt(hi)],
    )
    return cursor.fetchone()[0]


def _rendered_days_current(cursor, org: Organization, cube: int, lo: datetime, hi: datetime) -> bool:
    """Whether every day in [lo, hi) has the rendered rows of its slice rows: both written by the same
    transaction (one index probe into each table per day). A day whose slices a worker of an earlier
    release rewrote has them with a NULL txid (-1 here), and rendered rows that are missing or stale."""
    cursor.execute(
        f"""
        SELECT NOT EXISTS (
            SELECT 1 FROM generate_series(%(lo)s::timestamptz, %(hi)s::timestamptz - interval '1 day',
                                          interval '1 day') AS d(day)
            WHERE (SELECT coalesce(s.txid, -1) FROM {DailySlice._meta.db_table} s
                   WHERE s.org_id = %(org)s AND s.cube = %(cube)s AND s.bucket = d.day LIMIT 1)
                  IS DISTINCT FROM
                  (SELECT r.txid FROM {DailyRendered._meta.db_table} r
                   WHERE r.org_id = %(org)s AND r.cube = %(cube)s AND r.bucket = d.day LIMIT 1)
        )
        """,
        {"org": org.pk, "cube": cube, "lo": _db_dt(lo), "hi": _db_dt(hi)},
    )
    return cursor.fetchone()[0]


@cyclic_gc_paused
def usage_sums(
    org: Organization,
    *,
    start: datetime,
    end: datetime,
    group_by: Sequence[str] = (),
    filters: dict[str, list[str]] | None = None,
    columns: Sequence[str] = ("cost_nanos", "revenue_nanos"),
) -> dict[tuple, dict[str, int]]:
    """Raw sums per group (key as in usage_report before formatting: datetimes for day/hour), only
    the rollup `columns` asked for plus `recurring_revenue_nanos`; nothing finalised. For series and
    sparklines that need one or two numbers per cell (API.md §3 figures, the same as usage_report's)."""
    start, end = truncate_hour(start), truncate_hour(end)
    filters = {k: list(v) for k, v in (filters or {}).items() if k in FILTER_KEYS and v}
    group_by = tuple(dict.fromkeys(g for g in group_by if g in GROUP_KEYS))
    columns = [c for c in METRIC_COLUMNS if c in set(columns)]
    out: dict[tuple, dict[str, int]] = {}
    for key, values in _rollup_rows(org, start, end, group_by, filters, columns=columns):
        sums = {k: v or 0 for k, v in zip(columns, values)}
        sums["recurring_revenue_nanos"] = 0
        if key in out:
            add_sums(out[key], sums)
        else:
            out[key] = sums
    blank = {**dict.fromkeys(columns, 0), "recurring_revenue_nanos": 0}
    for key, amount in _recurring_revenue(org, start, end, group_by, filters):
        out.setdefault(key, dict(blank))["recurring_revenue_nanos"] += amount
    return out


def customer_daily_margins(
    org: Organization,
    *,
    start: datetime,
    end: datetime,
    customers: Sequence[str],
    filters: dict[str, list[str]] | None = None,
) -> dict[str, dict[str, int]]:
    """Margin (revenue incl. prorated recurring revenue − cost, nano-USD) per customer per UTC day
    ("YYYY-MM-DD"), for just `customers` (the rows a page shows): the same figures as usage_report's
    `margin_usd` grouped by customer,day, from the daily/hourly customer slice."""
    filters = {k: list(v) for k, v in (filters or {}).items() if v}
    wanted = list(dict.fromkeys(customers))
    if filters.get("customer"):
        wanted = [c for c in wanted if c in filters["customer"]]
    if not wanted:
        return {}
    filters["customer"] = wanted
    sums = usage_sums(org, start=start, end=end, group_by=("customer", "day"), filters=filters)
    out: dict[str, dict[str, int]] = defaultdict(dict)
    days: dict[datetime, str] = {}
    for (customer, day), s in sums.items():
        label = days.get(day)
        if label is None:
            label = days[day] = _format_key("day", day)
        out[customer or UNATTRIBUTED][label] = (
            s["revenue_nanos"] + s["recurring_revenue_nanos"] - s["cost_nanos"]
        )
    return dict(out)


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

"""Rollups: recompute whole (org, hour) buckets from raw events, never increment.

Late events, duplicates, repricing and retries all end exact after the next run, and a worker
killed half-way leaves its claimed marks in place (the transaction rolls back) for the next one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from costlens.usage.models import (
    LATENCY_BUCKETS,
    LATENCY_EDGES_MS,
    DailyRendered,
    DailyRollup,
    DailySlice,
    DirtyBucket,
    HourlyRollup,
    HourlySlice,
    SpanSlice,
)

DIMENSIONS = ("customer", "feature", "model", "route", "provider")
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
CLAIM_BATCH = 50
# How many of an org's oldest dirty marks a claim looks at to pick its days.
CLAIM_SCAN = 5000

# Other apps' per-hour recomputations (e.g. routing's fallback-chain rollup), registered from their
# AppConfig.ready(). Each is called as fn(org_id, hour) inside the claiming transaction, after the
# hourly rows are rebuilt, and must itself replace (not increment) its rows for that hour.
HOUR_HOOKS: list[Callable[[int, datetime], None]] = []


# ... and their per-day rewrites: fn(org_id, day) once per claimed batch for each UTC day it touched,
# after the usage day rows, under the same per-(org, day) advisory lock (so two workers that rebuilt
# hours of one day take turns and the second one's sums read the first one's committed hours).
DAY_HOOKS: list[Callable[[int, datetime], None]] = []


def register_hour_hook(fn: Callable[[int, datetime], None]) -> None:
    if fn not in HOUR_HOOKS:
        HOUR_HOOKS.append(fn)


def register_day_hook(fn: Callable[[int, datetime], None]) -> None:
    if fn not in DAY_HOOKS:
        DAY_HOOKS.append(fn)


def _latency_sql() -> list[tuple[str, str]]:
    exprs = []
    lower = None
    for i in range(LATENCY_BUCKETS):
        upper = LATENCY_EDGES_MS[i] if i < len(LATENCY_EDGES_MS) else None
        conds = []
        if lower is not None:
            conds.append(f"latency_ms > {lower}")
        if upper is not None:
            conds.append(f"latency_ms <= {upper}")
        exprs.append((f"lat_b{i}", f"COUNT(*) FILTER (WHERE {' AND '.join(conds)})"))
        lower = upper
    return exprs


# (rollup column, aggregate over usage_event rows) — the one definition of every metric's sum.
# Counts use FILTER (PostgreSQL, SQLite >= 3.30): markedly cheaper per row than SUM(CASE ...).
EVENT_AGGREGATES: list[tuple[str, str]] = [
    ("events", "COUNT(*)"),
    ("requests", "COUNT(*) FILTER (WHERE NOT shadow AND attempt = 1)"),
    ("fallbacks", "COUNT(*) FILTER (WHERE NOT shadow AND attempt = 2)"),
    ("superseded", "COUNT(*) FILTER (WHERE superseded)"),
    ("errors", "COUNT(*) FILTER (WHERE is_error)"),
    ("unpriced_events", "COUNT(*) FILTER (WHERE unpriced)"),
    ("input_tokens", "SUM(input_tokens)"),
    ("output_tokens", "SUM(output_tokens)"),
    ("cache_read_tokens", "SUM(cache_read_tokens)"),
    ("cache_write_tokens", "SUM(cache_write_tokens)"),
    ("reasoning_tokens", "SUM(reasoning_tokens)"),
    ("cost_nanos", "SUM(cost_nanos)"),
    ("shadow_cost_nanos", "SUM(CASE WHEN shadow THEN cost_nanos ELSE 0 END)"),
    ("wasted_cost_nanos", "SUM(CASE WHEN superseded THEN cost_nanos ELSE 0 END)"),
    (
        "baseline_cost_nanos",
        "SUM(CASE WHEN NOT shadow AND NOT superseded THEN baseline_cost_nanos ELSE 0 END)",
    ),
    ("revenue_nanos", "SUM(revenue_nanos)"),
    ("quality_sum", "COALESCE(SUM(quality_score), 0)"),
    ("quality_count", "COUNT(quality_score)"),
    ("latency_sum", "COALESCE(SUM(latency_ms), 0)"),
    ("latency_count", "COUNT(latency_ms)"),
    *_latency_sql(),
]
METRIC_COLUMNS = [name for name, _ in EVENT_AGGREGATES]
COST_AT = METRIC_COLUMNS.index("cost_nanos")
_REVENUE_NANOS_AT = METRIC_COLUMNS.index("revenue_nanos")
# The column lists every rollup statement writes and sums.
_DIMS_SQL = ", ".join(DIMENSIONS)
_COLS_SQL = ", ".join(METRIC_COLUMNS)
_SUMS_SQL = ", ".join(f"SUM({c})" for c in METRIC_COLUMNS)


# Narrower rollups (HourlySlice/DailySlice), smallest first: usage_report reads the first cube whose
# dimensions cover a query's group_by and filters, and the full five-dimension rows otherwise.
# Sizes at the benchmark's shape (docs/performance.md): ~15, ~40, ~500 and ~1,400 rows per hour,
# versus ~3,400 per hour in the full rollup. Cube 4 (customer x feature: spend by feature of each
# customer, the customer page's feature table) is listed after the customer cube so that customer-only
# queries still read the ~500-row one; cube_for takes the first that covers a query.
CUBES: dict[int, tuple[str, ...]] = {
    1: ("feature",),
    2: ("model", "provider", "route"),
    3: ("customer",),
    4: ("customer", "feature"),
}
CUSTOMER_FEATURE_CUBE = 4


# Spelled out in slice queries so the (org, cube, bucket) index serves them without a cube.
CUBE_IDS = ", ".join(str(c) for c in CUBES)


def cube_for(dimensions: set[str]) -> int | None:
    for cube, dims in CUBES.items():
        if dimensions <= set(dims):
            return cube
    return None


def _table(model) -> str:
    return model._meta.db_table


def _dt(value: datetime):
    """A datetime as the backend stores it (SQLite keeps naive UTC text; raw SQL gets no adaptation)."""
    return connection.ops.adapt_datetimefield_value(value)


def recompute_hour(org_id: int, hour: datetime) -> None:
    """Replace the hourly rows (full and slices) of one bucket with a fresh GROUP BY over raw events."""
    hourly, hslice = _table(HourlyRollup), _table(HourlySlice)
    dims, cols, sums = _DIMS_SQL, _COLS_SQL, _SUMS_SQL
    aggs = ", ".join(expr for _, expr in EVENT_AGGREGATES)
    bucket = _dt(hour)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {hourly} WHERE org_id = %s AND bucket = %s", [org_id, bucket])
        cursor.execute(
            f"DELETE FROM {hslice} WHERE org_id = %s AND cube IN ({CUBE_IDS}) AND bucket = %s",
            [org_id, bucket],
        )
        cursor.execute(
            f"""
            INSERT INTO {hourly} (org_id, bucket, {dims}, {cols})
            SELECT org_id, %s, {dims}, {aggs}
            FROM usage_event
            WHERE org_id = %s AND timestamp >= %s AND timestamp < %s
            GROUP BY org_id, {dims}
            """,
            [bucket, org_id, bucket, _dt(hour + HOUR)],
        )
        for cube, cube_dims in CUBES.items():
            picked = ", ".join(d if d in cube_dims else "''" for d in DIMENSIONS)
            cursor.execute(
                f"""
                INSERT INTO {hslice} (org_id, bucket, cube, {dims}, {cols})
                SELECT org_id, bucket, %s, {picked}, {sums}
                FROM {hourly}
                WHERE org_id = %s AND bucket = %s
                GROUP BY org_id, bucket, {", ".join(cube_dims)}
                """,
                [cube, org_id, bucket],
            )


def recompute_day(org_id: int, day: datetime) -> None:
    """Replace the daily rows (full and slices) of one UTC day with the sums of its hourly rows (the
    slices: of its quarters, which hold those sums).

    Claims take whole days under the per-(org, day) advisory lock (_claim), so one worker holds all
    the claimed hours of a day; the lock, taken again here, also makes any other writer of the day's
    rows take turns, each reading the other's committed hours.
    """
    hourly, daily, dslice = _table(HourlyRollup), _table(DailyRollup), _table(DailySlice)
    dims, cols, sums = _DIMS_SQL, _COLS_SQL, _SUMS_SQL
    lo, hi = _dt(day), _dt(day + DAY)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [org_id, day.toordinal()])
        cursor.execute(f"DELETE FROM {daily} WHERE org_id = %s AND bucket = %s", [org_id, lo])
        cursor.execute(
            f"DELETE FROM {dslice} WHERE org_id = %s AND cube IN ({CUBE_IDS}) AND bucket = %s", [org_id, lo]
        )
        cursor.execute(
            f"""
            INSERT INTO {daily} (org_id, bucket, {dims}, {cols})
            SELECT org_id, %s, {dims}, {sums}
            FROM {hourly}
            WHERE org_id = %s AND bucket >= %s AND bucket < %s
            GROUP BY org_id, {dims}
            """,
            [lo, org_id, lo, hi],
        )
        postgres = connection.vendor == "postgresql"
        # The day's slices are the sums of its four quarters (rollup_claimed_batch rewrites the
        # quarters of the hours it rewrites first, and a quarter is only ever written with its hours):
        # ~4 rows per group to add instead of ~24.
        cursor.execute(
            f"""
            INSERT INTO {dslice} (org_id, bucket, cube, {dims}, txid, {cols})
            SELECT org_id, %s, cube, {dims}, {"txid_current()" if postgres else "NULL"}, {sums}
            FROM {_table(SpanSlice)}
            WHERE org_id = %s AND grain = 'q' AND cube IN ({CUBE_IDS}) AND bucket >= %s AND bucket < %s
            GROUP BY org_id, cube, {dims}
            """,
            [lo, org_id, lo, hi],
        )
        if postgres:
            render_day(cursor, org_id, lo)
    for hook in DAY_HOOKS:
        hook(org_id, day)


def render_day(cursor, org_id: int, bucket) -> None:
    """Replace the DailyRendered rows of one day with the day's DailySlice rows rendered (PostgreSQL,
    in the transaction that wrote those slice rows: the rendered rows take the same txid)."""
    from costlens.usage.metrics import render_members  # metrics imports this module

    dslice, rendered = _table(DailySlice), _table(DailyRendered)
    dims = _DIMS_SQL
    cursor.execute(f"DELETE FROM {rendered} WHERE org_id = %s AND bucket = %s", [org_id, bucket])
    cursor.execute(
        f"""
        SELECT cube, {dims}, txid, {_COLS_SQL} FROM {dslice}
        WHERE org_id = %s AND cube IN ({CUBE_IDS}) AND bucket = %s
        """,
        [org_id, bucket],
    )
    n_keys = 2 + len(DIMENSIONS)
    cost_at = n_keys + COST_AT
    # `rank`: the row's place in its cube's day in report order, by cost (largest first) and then the
    # dimensions' text (selectors: usage_report orders rows the same way), so reports read the rows
    # in order from the index instead of sorting ~1 KB rows.
    rows = sorted(cursor.fetchall(), key=lambda r: (r[0], -r[cost_at], *r[1 : n_keys - 1]))
    with cursor.copy(
        f"COPY {rendered} (org_id, bucket, cube, {dims}, txid, rank, cost_nanos, revenue_nanos, head, tail) "
        "FROM STDIN"
    ) as copy:
        rank, cube = 0, None
        for row in rows:
            rank = rank + 1 if row[0] == cube else 0
            cube = row[0]
            values = row[n_keys:]
            head, tail = render_members(values)
            copy.write_row(
                (org_id, bucket, *row[:n_keys], rank, values[COST_AT], values[_REVENUE_NANOS_AT], head, tail)
            )


def day_of(hour: datetime) -> datetime:
    return hour.replace(hour=0, minute=0, second=0, microsecond=0)


def quarter_of(hour: datetime) -> datetime:
    """The start of the quarter of a UTC day (00:00, 06:00, 12:00, 18:00) that holds `hour`."""
    return hour.replace(hour=hour.hour - hour.hour % 6, minute=0, second=0, microsecond=0)


def week_of(day: datetime) -> datetime:
    """The Monday 00:00 UTC that starts the week of `day`."""
    day = day_of(day)
    return day - timedelta(days=day.weekday())


QUARTER = timedelta(hours=6)
WEEK = timedelta(days=7)
SPANS = {"q": (HourlySlice, QUARTER), "w": (DailySlice, WEEK)}


def recompute_span(org_id: int, grain: str, start: datetime) -> None:
    """Replace the SpanSlice rows of one quarter ("q", from its hourly slices) or week ("w", from its
    daily slices), in the transaction that rewrote those.

    A quarter lies inside a day, whose hours only the holder of the day's advisory lock rewrites. A
    week spans days that two workers may hold: its own advisory lock (keyed by the negated ordinal of
    its Monday, never a day's) makes them take turns, the second summing the first's committed days.
    """
    source, length = SPANS[grain]
    span, table = _table(SpanSlice), _table(source)
    dims, cols, sums = _DIMS_SQL, _COLS_SQL, _SUMS_SQL
    lo, hi = _dt(start), _dt(start + length)
    with connection.cursor() as cursor:
        if grain == "w" and connection.vendor == "postgresql":
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [org_id, -start.toordinal()])
        cursor.execute(
            f"DELETE FROM {span} WHERE org_id = %s AND grain = %s AND cube IN ({CUBE_IDS}) AND bucket = %s",
            [org_id, grain, lo],
        )
        cursor.execute(
            f"""
            INSERT INTO {span} (org_id, bucket, grain, cube, {dims}, {cols})
            SELECT org_id, %s, %s, cube, {dims}, {sums}
            FROM {table}
            WHERE org_id = %s AND cube IN ({CUBE_IDS}) AND bucket >= %s AND bucket < %s
            GROUP BY org_id, cube, {dims}
            """,
            [lo, grain, org_id, lo, hi],
        )


@dataclass
class RollupRun:
    buckets: int = 0
    orgs: int = 0


def _claim(org_id: int, limit: int) -> list[tuple[int, datetime]]:
    """Lock the dirty marks of whole UTC days, oldest first, up to `limit` hours (at least one day).

    Whole days, so that each day's rows are rewritten once per run rather than once per batch that
    holds some of its hours (72 dirty hours, two workers: 4 day rewrites instead of 5; a 720-hour
    rebuild: 30 instead of ~44). On PostgreSQL a day is claimed with its per-(org, day) advisory
    lock, tried and never waited for (a day another worker holds is skipped; recompute_day takes
    the same lock again, which is immediate), then its marks FOR UPDATE SKIP LOCKED (a mark an
    ingest transaction is upserting right now waits for the next run).
    """
    pending = DirtyBucket.objects.filter(org_id=org_id).order_by("hour").values_list("hour", flat=True)
    per_day: dict[datetime, int] = {}
    for hour in pending[:CLAIM_SCAN]:
        day = day_of(hour)
        per_day[day] = per_day.get(day, 0) + 1
    claimed: list[tuple[int, datetime]] = []
    for day, count in per_day.items():
        if claimed and len(claimed) + count > limit:
            break
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [org_id, day.toordinal()])
                if not cursor.fetchone()[0]:
                    continue
        claimed += (
            DirtyBucket.objects.select_for_update(skip_locked=True)
            .filter(org_id=org_id, hour__gte=day, hour__lt=day + DAY)
            .order_by("hour")
            .values_list("id", "hour")
        )
    return claimed


def rollup_claimed_batch(org_id: int, *, limit: int | None = None) -> int:
    """Claim the dirty hours of whole days of one org (about `limit` hours), recompute them and their days.

    Returns how many buckets were recomputed; 0 when nothing is left to claim.
    """
    with transaction.atomic():
        claimed = _claim(org_id, limit or CLAIM_BATCH)
        if not claimed:
            return 0
        hours = sorted({h for _, h in claimed})
        if connection.vendor == "postgresql":
            # Enough memory for a hash aggregate of an hour's groups instead of a sort. The planner
            # guesses a day's groups at ~20x what they are (125k for 5.6k at the benchmark's shape) and
            # sorted 82k hourly rows by five text columns instead (226 ms a day; hashed: 130 ms): the
            # hash table may be planned up to 8 x work_mem, and spills to disk past it anyway.
            # No JIT: compiling cost ~15 ms a statement, more than it saved on these few-ms statements.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL work_mem = '64MB'")
                cursor.execute("SET LOCAL hash_mem_multiplier = 8")
                cursor.execute("SET LOCAL jit = off")
        for hour in hours:
            recompute_hour(org_id, hour)
            for hook in HOUR_HOOKS:
                hook(org_id, hour)
        for quarter in sorted({quarter_of(h) for h in hours}):
            recompute_span(org_id, "q", quarter)
        days = sorted({day_of(h) for h in hours})
        for day in days:
            recompute_day(org_id, day)
        for week in sorted({week_of(d) for d in days}):
            recompute_span(org_id, "w", week)
        DirtyBucket.objects.filter(id__in=[pk for pk, _ in claimed]).delete()
    return len(hours)


def rollup_org(
    org_id: int, *, progress: Callable[[int], None] | None = None, limit: int | None = None
) -> int:
    """Bring one org's rollups up to date; advance its watermark when nothing older is pending."""
    started = timezone.now()
    done = 0
    while True:
        n = rollup_claimed_batch(org_id, limit=limit)
        if n == 0:
            break
        done += n
        if progress:
            progress(n)
    if not DirtyBucket.objects.filter(org_id=org_id, marked_at__lt=started).exists():
        watermark_advance(org_id, started)
    return done


def watermark_advance(org_id: int, as_of: datetime) -> None:
    """Move the org's `as_of` forward (never back), safely when two workers finish at once."""
    greatest = "GREATEST" if connection.vendor == "postgresql" else "MAX"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO usage_rollupwatermark (org_id, as_of) VALUES (%s, %s)
            ON CONFLICT (org_id) DO UPDATE SET as_of = {greatest}(usage_rollupwatermark.as_of, excluded.as_of)
            """,
            [org_id, _dt(as_of)],
        )


def dirty_org_ids() -> list[int]:
    return list(DirtyBucket.objects.values_list("org_id", flat=True).distinct().order_by("org_id"))


def rollup_all(*, progress: Callable[[int], None] | None = None, workers: int = 1) -> RollupRun:
    """Every org with dirty buckets, one after the other; `workers` threads share each org's claims."""
    run = RollupRun()
    for org_id in dirty_org_ids():
        if workers > 1:
            run.buckets += _rollup_org_threads(org_id, workers, progress)
        else:
            run.buckets += rollup_org(org_id, progress=progress)
        run.orgs += 1
    return run


def _rollup_org_threads(org_id: int, workers: int, progress: Callable[[int], None] | None) -> int:
    """The work is in the database, so threads (one connection each) scale like processes here."""
    lock = threading.Lock()
    done: list[int] = []
    # Claims of about an even share of what is pending (whole days, see _claim): with CLAIM_BATCH
    # claims, 72 dirty hours and two workers, one worker took 50 hours and the other 22, then idled.
    pending = DirtyBucket.objects.filter(org_id=org_id).count()
    limit = max(1, min(CLAIM_BATCH, -(-pending // workers)))
    errors: list[BaseException] = []

    def report(n: int) -> None:
        if progress:
            with lock:
                progress(n)

    def work() -> None:
        try:
            done.append(rollup_org(org_id, progress=report, limit=limit))
        except BaseException as exc:  # re-raised in the caller's thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, name=f"rollup-{org_id}-{i}") for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return sum(done)

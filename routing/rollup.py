"""Routing rollups: per (org, hour) rebuilds of the routing tables, hooked into the usage rollup.

`recompute_routing_hour` runs inside the usage rollup's claiming transaction for every hour it
recomputes, replaces that hour's rows from raw events, then replaces the day's rows with the sum of
its hours. Plain SQL that PostgreSQL and the SQLite demo both run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection

from costlens.usage.models import DirtyBucket
from routing.models import (
    CONFIDENCE_BANDS,
    NO_CONFIDENCE,
    QUALITY_BINS,
    RouteChainStep,
    RouteModelStat,
    RouteQualityBin,
    RouteShadowPair,
)

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def _band_sql(column: str) -> str:
    parts = [f"WHEN {column} IS NULL THEN '{NO_CONFIDENCE}'"]
    bounds = [lower for _, lower in CONFIDENCE_BANDS[1:]]
    for (label, _), upper in zip(CONFIDENCE_BANDS, bounds, strict=False):
        parts.append(f"WHEN {column} < {upper} THEN '{label}'")
    parts.append(f"ELSE '{CONFIDENCE_BANDS[-1][0]}'")
    return "CASE " + " ".join(parts) + " END"


@dataclass(frozen=True)
class Spec:
    model: type
    dims: tuple[str, ...]
    metrics: tuple[str, ...]
    # SELECT of (dims..., metrics...) over the org's events in [%(lo)s, %(hi)s); grouped by dims.
    select: str

    @property
    def table(self) -> str:
        return self.model._meta.db_table


_served = "CASE WHEN NOT superseded THEN {} ELSE 0 END"

SPECS = (
    Spec(
        RouteModelStat,
        ("route", "model", "band"),
        (
            "requests",
            "escalated",
            "served",
            "served_input_tokens",
            "served_output_tokens",
            "served_cache_read_tokens",
            "served_cache_write_tokens",
            "served_reasoning_tokens",
            "served_cost_nanos",
            "calls",
            "cost_nanos",
            "quality_sum",
            "quality_count",
        ),
        f"""
        SELECT route, model, {_band_sql("router_confidence")},
            SUM(CASE WHEN attempt = 1 THEN 1 ELSE 0 END),
            SUM(CASE WHEN attempt = 1 AND superseded THEN 1 ELSE 0 END),
            SUM(CASE WHEN NOT superseded THEN 1 ELSE 0 END),
            SUM({_served.format("input_tokens")}),
            SUM({_served.format("output_tokens")}),
            SUM({_served.format("cache_read_tokens")}),
            SUM({_served.format("cache_write_tokens")}),
            SUM({_served.format("reasoning_tokens")}),
            SUM({_served.format("cost_nanos")}),
            COUNT(*), SUM(cost_nanos), COALESCE(SUM(quality_score), 0), COUNT(quality_score)
        FROM usage_event
        WHERE org_id = %(org)s AND timestamp >= %(lo)s AND timestamp < %(hi)s AND NOT shadow AND route <> ''
        GROUP BY 1, 2, 3
        """,
    ),
    Spec(
        RouteQualityBin,
        ("route", "model", "qbin"),
        ("calls",),
        f"""
        SELECT route, model,
            CAST(CASE WHEN quality_score >= 1 THEN {QUALITY_BINS}
                 ELSE FLOOR(quality_score * {QUALITY_BINS} + 1e-9) END AS INTEGER),
            COUNT(*)
        FROM usage_event
        WHERE org_id = %(org)s AND timestamp >= %(lo)s AND timestamp < %(hi)s AND NOT shadow
          AND route <> '' AND quality_score IS NOT NULL
        GROUP BY 1, 2, 3
        """,
    ),
    Spec(
        RouteChainStep,
        ("route", "from_model", "to_model", "from_attempt", "reason"),
        ("steps", "wasted_cost_nanos"),
        """
        SELECT a.route, a.model, b.model, a.attempt, b.fallback_reason, COUNT(*), SUM(a.cost_nanos)
        FROM usage_event a
        JOIN usage_event b ON b.org_id = a.org_id AND b.request_id = a.request_id
             AND b.attempt = a.attempt + 1 AND NOT b.shadow
        WHERE a.org_id = %(org)s AND a.timestamp >= %(lo)s AND a.timestamp < %(hi)s AND NOT a.shadow
          AND a.superseded AND a.route <> ''
        GROUP BY 1, 2, 3, 4, 5
        """,
    ),
    Spec(
        RouteShadowPair,
        ("route", "live_model", "shadow_model"),
        (
            "pairs",
            "live_cost_nanos",
            "shadow_cost_nanos",
            "scored_pairs",
            "live_quality_sum",
            "shadow_quality_sum",
        ),
        """
        SELECT l.route, l.model, s.model, COUNT(*), SUM(l.cost_nanos), SUM(s.cost_nanos),
            SUM(CASE WHEN l.quality_score IS NOT NULL AND s.quality_score IS NOT NULL THEN 1 ELSE 0 END),
            COALESCE(SUM(CASE WHEN s.quality_score IS NOT NULL THEN l.quality_score END), 0),
            COALESCE(SUM(CASE WHEN l.quality_score IS NOT NULL THEN s.quality_score END), 0)
        FROM usage_event s
        JOIN usage_event l ON l.org_id = s.org_id AND l.request_id = s.request_id
             AND NOT l.shadow AND NOT l.superseded
        WHERE s.org_id = %(org)s AND s.timestamp >= %(lo)s AND s.timestamp < %(hi)s AND s.shadow
          AND l.route <> ''
        GROUP BY 1, 2, 3
        """,
    ),
)


def _dt(value: datetime):
    """A datetime as the backend stores it (SQLite keeps naive UTC text; raw SQL gets no adaptation)."""
    return connection.ops.adapt_datetimefield_value(value)


def _replace_hour(cursor, spec: Spec, org_id: int, hour: datetime) -> None:
    cols = ", ".join(spec.dims + spec.metrics)
    bucket = _dt(hour)
    cursor.execute(
        f"DELETE FROM {spec.table} WHERE org_id = %s AND grain = 'h' AND bucket = %s", [org_id, bucket]
    )
    select = spec.select.replace("%(org)s", "%s").replace("%(lo)s", "%s").replace("%(hi)s", "%s")
    cursor.execute(
        f"INSERT INTO {spec.table} (org_id, grain, bucket, {cols}) "
        f"SELECT %s, 'h', %s, src.* FROM ({select}) src",
        [org_id, bucket, org_id, bucket, _dt(hour + HOUR)],
    )


def _replace_day(cursor, spec: Spec, org_id: int, day: datetime) -> None:
    dims = ", ".join(spec.dims)
    metrics = ", ".join(spec.metrics)
    sums = ", ".join(f"SUM({m})" for m in spec.metrics)
    lo, hi = _dt(day), _dt(day + DAY)
    cursor.execute(
        f"DELETE FROM {spec.table} WHERE org_id = %s AND grain = 'd' AND bucket = %s", [org_id, lo]
    )
    cursor.execute(
        f"""
        INSERT INTO {spec.table} (org_id, grain, bucket, {dims}, {metrics})
        SELECT org_id, 'd', %s, {dims}, {sums}
        FROM {spec.table}
        WHERE org_id = %s AND grain = 'h' AND bucket >= %s AND bucket < %s
        GROUP BY org_id, {dims}
        """,
        [lo, org_id, lo, hi],
    )


def _later_hour_pending(org_id: int, hour: datetime, day: datetime) -> bool:
    """Is a later hour of the same day still marked dirty? Its own run will rewrite the day."""
    return DirtyBucket.objects.filter(org_id=org_id, hour__gt=hour, hour__lt=day + DAY).exists()


def recompute_routing_hour(org_id: int, hour: datetime) -> None:
    """Replace one (org, hour) of every routing table, then that UTC day's rows.

    The day is rewritten by the run of its last dirty hour only (a rebuild marks 24 hours of a day at
    once; rewriting the day after each of them was most of the hook's time). Safe because the lock
    below is taken first: a worker that processed a later hour of this day holds it until it commits
    and deletes its marks, so a pending later mark means a run that has yet to take the lock.
    """
    day = hour.replace(hour=0, minute=0, second=0, microsecond=0)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The same per-(org, day) lock the usage day rewrite takes: two workers rebuilding hours
            # of one day take turns, and the second one's day sums read the first one's hours.
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [org_id, day.toordinal()])
        for spec in SPECS:
            _replace_hour(cursor, spec, org_id, hour)
        if _later_hour_pending(org_id, hour, day):
            return
        for spec in SPECS:
            _replace_day(cursor, spec, org_id, day)

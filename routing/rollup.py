"""Routing rollups: per (org, hour) rebuilds of the routing tables, hooked into the usage rollup.

`recompute_routing_hour` runs inside the usage rollup's claiming transaction for every hour it
recomputes and replaces that hour's rows from raw events; `recompute_routing_day` then replaces each
touched day's rows with the sum of its hours (once per claimed batch). PostgreSQL does an hour in one
statement over one scan of the hour's events; SPECS is the portable SQL the SQLite demo runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection

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
             AND b.attempt = a.attempt + 1 AND b.attempt > 1 AND NOT b.shadow
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
        JOIN usage_event l ON l.id IN (
                SELECT r.id FROM usage_event r
                WHERE r.org_id = s.org_id AND r.event_id = s.request_id AND r.request_id = s.request_id
                UNION ALL
                SELECT r.id FROM usage_event r
                WHERE r.org_id = s.org_id AND r.request_id = s.request_id AND NOT (r.request_id = r.event_id)
             )
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


# PostgreSQL: the hour's events are read once (one index range scan into a materialized CTE) and
# every table's hour rows are deleted and re-inserted by the same statement; the chain-step and
# shadow-pair lookups probe only for the hour's superseded / shadow calls: the next attempt in the
# retry index (attempt > 1 AND NOT shadow), the live calls of a shadow's request as (event_id =
# request_id = R) in the unique (org_id, event_id) index UNION ALL (request_id = R, request_id <>
# event_id) in the partial (org_id, request_id) index, which has no entry for first attempts with
# the default request_id (their own event_id). SPECS read them the same way.
# The figures are the same expressions as SPECS (the portable path, run by SQLite).
_PG_HOUR = f"""
WITH ev AS MATERIALIZED (
    SELECT route, model, attempt, superseded, shadow, request_id, router_confidence, quality_score,
        input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens, cost_nanos
    FROM usage_event
    WHERE org_id = %(org)s AND timestamp >= %(lo)s AND timestamp < %(hi)s AND (route <> '' OR shadow)
),
d_model AS (
    DELETE FROM routing_routemodelstat WHERE org_id = %(org)s AND grain = 'h' AND bucket = %(lo)s
),
d_quality AS (
    DELETE FROM routing_routequalitybin WHERE org_id = %(org)s AND grain = 'h' AND bucket = %(lo)s
),
d_chain AS (
    DELETE FROM routing_routechainstep WHERE org_id = %(org)s AND grain = 'h' AND bucket = %(lo)s
),
d_shadow AS (
    DELETE FROM routing_routeshadowpair WHERE org_id = %(org)s AND grain = 'h' AND bucket = %(lo)s
),
i_model AS (
    INSERT INTO routing_routemodelstat (org_id, grain, bucket, {", ".join(SPECS[0].dims + SPECS[0].metrics)})
    SELECT %(org)s, 'h', %(lo)s, route, model, {_band_sql("router_confidence")},
        COUNT(*) FILTER (WHERE attempt = 1),
        COUNT(*) FILTER (WHERE attempt = 1 AND superseded),
        COUNT(*) FILTER (WHERE NOT superseded),
        COALESCE(SUM(input_tokens) FILTER (WHERE NOT superseded), 0),
        COALESCE(SUM(output_tokens) FILTER (WHERE NOT superseded), 0),
        COALESCE(SUM(cache_read_tokens) FILTER (WHERE NOT superseded), 0),
        COALESCE(SUM(cache_write_tokens) FILTER (WHERE NOT superseded), 0),
        COALESCE(SUM(reasoning_tokens) FILTER (WHERE NOT superseded), 0),
        COALESCE(SUM(cost_nanos) FILTER (WHERE NOT superseded), 0),
        COUNT(*), SUM(cost_nanos), COALESCE(SUM(quality_score), 0), COUNT(quality_score)
    FROM ev
    WHERE NOT shadow AND route <> ''
    GROUP BY 4, 5, 6
),
i_quality AS (
    INSERT INTO routing_routequalitybin (org_id, grain, bucket, route, model, qbin, calls)
    SELECT %(org)s, 'h', %(lo)s, route, model,
        CAST(CASE WHEN quality_score >= 1 THEN {QUALITY_BINS}
             ELSE FLOOR(quality_score * {QUALITY_BINS} + 1e-9) END AS INTEGER),
        COUNT(*)
    FROM ev
    WHERE NOT shadow AND route <> '' AND quality_score IS NOT NULL
    GROUP BY 4, 5, 6
),
i_chain AS (
    INSERT INTO routing_routechainstep
        (org_id, grain, bucket, route, from_model, to_model, from_attempt, reason, steps, wasted_cost_nanos)
    SELECT %(org)s, 'h', %(lo)s, a.route, a.model, b.model, a.attempt, b.fallback_reason,
        COUNT(*), SUM(a.cost_nanos)
    FROM ev a
    CROSS JOIN LATERAL (
        SELECT model, fallback_reason FROM usage_event
        WHERE org_id = %(org)s AND request_id = a.request_id AND attempt = a.attempt + 1
          AND attempt > 1 AND NOT shadow
        OFFSET 0
    ) b
    WHERE NOT a.shadow AND a.superseded AND a.route <> ''
    GROUP BY 4, 5, 6, 7, 8
),
i_shadow AS (
    INSERT INTO routing_routeshadowpair (org_id, grain, bucket, route, live_model, shadow_model, pairs,
        live_cost_nanos, shadow_cost_nanos, scored_pairs, live_quality_sum, shadow_quality_sum)
    SELECT %(org)s, 'h', %(lo)s, l.route, l.model, s.model, COUNT(*), SUM(l.cost_nanos), SUM(s.cost_nanos),
        COUNT(*) FILTER (WHERE l.quality_score IS NOT NULL AND s.quality_score IS NOT NULL),
        COALESCE(SUM(l.quality_score) FILTER (WHERE s.quality_score IS NOT NULL), 0),
        COALESCE(SUM(s.quality_score) FILTER (WHERE l.quality_score IS NOT NULL), 0)
    FROM ev s
    CROSS JOIN LATERAL (
        SELECT route, model, cost_nanos, quality_score FROM usage_event
        WHERE org_id = %(org)s AND event_id = s.request_id AND request_id = s.request_id
          AND NOT shadow AND NOT superseded AND route <> ''
        UNION ALL
        SELECT route, model, cost_nanos, quality_score FROM usage_event
        WHERE org_id = %(org)s AND request_id = s.request_id AND request_id <> event_id
          AND NOT shadow AND NOT superseded AND route <> ''
        OFFSET 0
    ) l
    WHERE s.shadow
    GROUP BY 4, 5, 6
)
SELECT 1
"""


def _replace_hour_pg(cursor, org_id: int, hour: datetime) -> None:
    # The planner's guess for the request_id probes (thousands of rows instead of the ~10% of an
    # hour that are superseded or shadow calls) lifts the estimate over jit_above_cost, and compiling
    # the statement took longer (~90 ms) than running it. JIT off for this statement only.
    cursor.execute("SELECT current_setting('jit'), set_config('jit', 'off', true)")
    (jit,) = cursor.fetchone()[:1]
    cursor.execute(_PG_HOUR, {"org": org_id, "lo": hour, "hi": hour + HOUR})
    cursor.execute("SELECT set_config('jit', %s, true)", [jit])


def recompute_routing_hour(org_id: int, hour: datetime) -> None:
    """Replace one (org, hour) of every routing table (the usage rollup's hour hook).

    The hour is claimed by this worker alone (SKIP LOCKED), so no lock is needed here; the day rows
    are rewritten by `recompute_routing_day`, once per claimed batch.
    """
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            _replace_hour_pg(cursor, org_id, hour)
        else:
            for spec in SPECS:
                _replace_hour(cursor, spec, org_id, hour)


def recompute_routing_day(org_id: int, day: datetime) -> None:
    """Replace one (org, UTC day) of every routing table with the sums of its hour rows.

    The usage rollup's day hook: called once per claimed batch for each day it touched, after the
    batch's hours, under the usage rollup's per-(org, day) advisory lock. Before, the hour hook took
    that lock at its first hour and held it to the end of the batch, so a second worker with an
    hour of the same day waited for the whole batch (the two workers ran one after the other).
    """
    with connection.cursor() as cursor:
        for spec in SPECS:
            _replace_day(cursor, spec, org_id, day)

"""Writes to raw events' bookkeeping: dirty buckets and superseded attempts.

Rollup computation itself lives in costlens/usage/rollup.py.
"""

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime

from django.db import connection, transaction
from django.db.models import F
from django.db.models.functions import TruncHour
from django.utils import timezone

from costlens.accounts.models import Organization
from costlens.pricing.cost import cost_nanos
from costlens.pricing.normalize import normalize_model
from costlens.pricing.selectors import price_book_for
from costlens.usage.models import DirtyBucket, Event, HourlyRollup

BASELINE_CHUNK = 5000
# pg_advisory_xact_lock(namespace, org_id): "this transaction is marking superseded attempts of the org".
CHAIN_LOCK_NAMESPACE = 0x1C05


def hour_of(ts: datetime) -> datetime:
    return ts.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def buckets_mark_dirty(*, org_id: int, hours: Iterable[datetime]) -> None:
    """Record (org, hour) buckets as needing a rollup. Call inside the writing transaction.

    On PostgreSQL the upsert row-locks existing marks (DO UPDATE), so a rollup claiming with
    SKIP LOCKED either waits for this transaction's events or sees the mark again afterwards.
    Hours are sorted so concurrent writers lock in the same order (no deadlocks).
    """
    ordered = sorted({hour_of(h) for h in hours})
    if not ordered:
        return
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO usage_dirtybucket (org_id, hour, generation, marked_at)
                SELECT %s, h, 1, now() FROM unnest(%s::timestamptz[]) AS h
                ON CONFLICT (org_id, hour)
                DO UPDATE SET generation = usage_dirtybucket.generation + 1, marked_at = now()
                """,
                [org_id, ordered],
            )
        return
    existing = set(DirtyBucket.objects.filter(org_id=org_id, hour__in=ordered).values_list("hour", flat=True))
    DirtyBucket.objects.filter(org_id=org_id, hour__in=existing).update(
        generation=F("generation") + 1, marked_at=timezone.now()
    )
    DirtyBucket.objects.bulk_create(
        [DirtyBucket(org_id=org_id, hour=h) for h in ordered if h not in existing], ignore_conflicts=True
    )


def request_events_sql(request_id: str) -> str:
    """SQL of the non-shadow events (id, attempt, superseded) of the org's (`%(org)s`) request whose id
    is the SQL expression `request_id`: the one whose event_id and request_id are both the request's
    (the unique (org_id, event_id) index) and the others (the partial (org_id, request_id) index,
    request_id <> event_id: first attempts with the default request_id have no entry there)."""
    return f"""
        SELECT e.id, e.attempt, e.superseded FROM usage_event e
        WHERE e.org_id = %(org)s AND e.event_id = {request_id} AND e.request_id = {request_id}
          AND NOT e.shadow
        UNION ALL
        SELECT e.id, e.attempt, e.superseded FROM usage_event e
        WHERE e.org_id = %(org)s AND e.request_id = {request_id} AND e.request_id <> e.event_id
          AND NOT e.shadow
    """


def attempts_mark_superseded(*, org_id: int, request_ids: Iterable[str]) -> list[datetime]:
    """Mark every non-shadow attempt that has a higher-numbered attempt for the same request.

    Works whatever order attempts arrive in. Returns the timestamps of newly superseded events,
    whose buckets must be recomputed too.
    """
    ids = sorted(set(request_ids))
    if not ids:
        return []
    if connection.vendor == "postgresql":
        chain = request_events_sql("r.request_id")
        with connection.cursor() as cursor:
            # Two steps, each planned as index probes per id (LATERAL). As one statement (or with
            # `request_id = ANY(...)`) the planner often chose to scan all the org's events
            # instead: ~100 ms per 1,000-event batch at 60k events, and worse as the table grows.
            cursor.execute(
                f"""
                SELECT r.request_id, m.top
                FROM unnest(%(ids)s::text[]) AS r(request_id)
                CROSS JOIN LATERAL (SELECT max(y.attempt) AS top, count(*) AS n FROM ({chain}) AS y) AS m
                WHERE m.n > 1
                """,
                {"ids": ids, "org": org_id},
            )
            chains = cursor.fetchall()
            if not chains:
                return []
            cursor.execute(
                f"""
                UPDATE usage_event u SET superseded = true
                WHERE u.id = ANY(ARRAY(
                    SELECT y.id
                    FROM unnest(%(ids)s::text[], %(tops)s::int[]) AS r(request_id, top)
                    CROSS JOIN LATERAL ({chain}) AS y
                    WHERE y.attempt < r.top AND NOT y.superseded
                ))
                AND u.org_id = %(org)s AND NOT u.shadow AND NOT u.superseded
                RETURNING u.timestamp
                """,
                {"ids": [c[0] for c in chains], "tops": [c[1] for c in chains], "org": org_id},
            )
            return [row[0] for row in cursor.fetchall()]
    touched: list[datetime] = []
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        # A request's events in two arms, each an index search (the (org_id, request_id) index holds
        # only events whose request_id is not their own event_id; a query without that condition
        # scanned all the org's events, per chunk): the first attempt through (org_id, event_id).
        mine = Event.objects.filter(org_id=org_id, shadow=False)
        columns = ("request_id", "attempt", "superseded", "id", "timestamp")
        chains: dict[str, list[tuple]] = defaultdict(list)
        for row in [
            *mine.filter(event_id__in=chunk, request_id=F("event_id")).values_list(*columns),
            *mine.filter(request_id__in=chunk).exclude(request_id=F("event_id")).values_list(*columns),
        ]:
            chains[row[0]].append(row)
        stale = []
        for rows in chains.values():
            top = max(attempt for _, attempt, _, _, _ in rows)
            stale += [(pk, ts) for _, attempt, superseded, pk, ts in rows if attempt < top and not superseded]
        if stale:
            Event.objects.filter(id__in=[pk for pk, _ in stale]).update(superseded=True)
            touched += [ts for _, ts in stale]
    return touched


def buckets_mark_all_dirty(*, since: datetime | None = None) -> int:
    """Mark every (org, hour) that has events (or rollup rows) at or after `since` dirty, for a rebuild.

    Hours that only have rollup rows left (their events were deleted) are marked too, so a rebuild
    also clears what no longer exists. Returns how many buckets are dirty afterwards.
    """
    since = hour_of(since) if since else None
    if connection.vendor == "postgresql":
        where = "WHERE timestamp >= %s" if since else ""
        where_rollup = "WHERE bucket >= %s" if since else ""
        params = [since, since] if since else []
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                INSERT INTO usage_dirtybucket (org_id, hour, generation, marked_at)
                SELECT org_id, hour, 1, now() FROM (
                    SELECT DISTINCT org_id, date_trunc('hour', timestamp) AS hour FROM usage_event {where}
                    UNION
                    SELECT DISTINCT org_id, bucket FROM {HourlyRollup._meta.db_table} {where_rollup}
                ) AS hours
                ORDER BY org_id, hour
                ON CONFLICT (org_id, hour)
                DO UPDATE SET generation = usage_dirtybucket.generation + 1, marked_at = now()
                """,
                params,
            )
    else:
        events = Event.objects.all()
        rollups = HourlyRollup.objects.all()
        if since:
            events = events.filter(timestamp__gte=since)
            rollups = rollups.filter(bucket__gte=since)
        by_org: dict[int, set[datetime]] = defaultdict(set)
        hours = events.annotate(hour=TruncHour("timestamp", tzinfo=UTC)).values_list("org_id", "hour")
        for org_id, hour in hours.distinct().order_by():
            by_org[org_id].add(hour)
        for org_id, hour in rollups.values_list("org_id", "bucket").distinct().order_by():
            by_org[org_id].add(hour)
        for org_id, org_hours in by_org.items():
            with transaction.atomic():
                buckets_mark_dirty(org_id=org_id, hours=org_hours)
    return DirtyBucket.objects.count()


def _routes_with_own_baseline(org: Organization) -> dict[str, str]:
    from routing.models import Route

    return {
        name: model
        for name, model in Route.objects.filter(org=org).values_list("name", "baseline_model")
        if model
    }


def baselines_recompute(*, org: Organization, route: str | None = None) -> int:
    """Recompute `baseline_cost_nanos` of the org's events after a baseline model changed.

    With `route`, the events of that route (its own baseline, else the org's); without, the events
    whose route has no baseline of its own (including events with no route). Chunks of
    BASELINE_CHUNK events, each committed with the dirty marks of the hours it changed, so a rollup
    brings the aggregates along. Returns how many events changed.
    """
    org = Organization.objects.get(pk=org.pk)  # the committed settings, not a caller's stale copy
    own = _routes_with_own_baseline(org)
    events = Event.objects.filter(org=org)
    if route is not None:
        events = events.filter(route=route)
        baseline_model = own.get(route) or org.baseline_model
    else:
        events = events.exclude(route__in=list(own))
        baseline_model = org.baseline_model
    book = price_book_for(org)
    baseline_model = normalize_model(baseline_model, book.aliases)
    fields = (
        "id",
        "timestamp",
        "input_tokens",
        "output_tokens",
        "cache_read_tokens",
        "cache_write_tokens",
        "reasoning_tokens",
        "cost_nanos",
        "baseline_cost_nanos",
    )
    changed = 0
    last_id = 0
    while True:
        chunk = list(events.filter(id__gt=last_id).order_by("id").values_list(*fields)[:BASELINE_CHUNK])
        if not chunk:
            return changed
        last_id = chunk[-1][0]
        updates: list[tuple[int, int]] = []
        hours: set[datetime] = set()
        for pk, ts, inp, out, c_read, c_write, reasoning, cost, old in chunk:
            price = book.price_at(baseline_model, ts)
            # With no price for the baseline model, the event claims no savings (docs/decisions.md).
            new = (
                cost_nanos(
                    price,
                    input_tokens=inp,
                    output_tokens=out,
                    cache_read_tokens=c_read,
                    cache_write_tokens=c_write,
                    reasoning_tokens=reasoning,
                )
                if price is not None
                else cost
            )
            if new != old:
                updates.append((pk, new))
                hours.add(ts)
        if updates:
            with transaction.atomic():
                _write_baselines(updates)
                buckets_mark_dirty(org_id=org.pk, hours=hours)
            changed += len(updates)


def _write_baselines(updates: list[tuple[int, int]]) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                """
                UPDATE usage_event SET baseline_cost_nanos = v.baseline
                FROM unnest(%s::bigint[], %s::bigint[]) AS v(id, baseline)
                WHERE usage_event.id = v.id
                """,
                [[pk for pk, _ in updates], [b for _, b in updates]],
            )
        return
    Event.objects.bulk_update(
        [Event(id=pk, baseline_cost_nanos=b) for pk, b in updates], ["baseline_cost_nanos"], batch_size=500
    )


def organization_settings_update(*, org: Organization, changes: dict) -> Organization:
    """Save validated org settings; a new baseline model recomputes the baselines after commit.

    The recompute runs as a Celery task enqueued on commit (inline in eager mode, e.g. the demo),
    so the settings answer does not wait for millions of events.
    """
    from costlens.accounts.services import organization_update_settings
    from costlens.usage.tasks import baselines_recompute_task

    changes = {k: v for k, v in changes.items() if getattr(org, k) != v}
    if not changes:
        return org
    with transaction.atomic():
        organization_update_settings(org=org, **changes)
        if "baseline_model" in changes:
            org_id = org.pk
            transaction.on_commit(lambda: baselines_recompute_task.delay(org_id))
    return org

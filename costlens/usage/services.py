"""Writes to raw events' bookkeeping: dirty buckets and superseded attempts.

Rollup computation itself lives in costlens/usage/rollup.py.
"""

from collections.abc import Iterable
from datetime import UTC, datetime

from django.db import connection
from django.db.models import Count, F, Max
from django.utils import timezone

from costlens.usage.models import DirtyBucket, Event


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


def attempts_mark_superseded(*, org_id: int, request_ids: Iterable[str]) -> list[datetime]:
    """Mark every non-shadow attempt that has a higher-numbered attempt for the same request.

    Works whatever order attempts arrive in. Returns the timestamps of newly superseded events,
    whose buckets must be recomputed too.
    """
    ids = sorted(set(request_ids))
    if not ids:
        return []
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                """
                WITH chains AS (
                    SELECT request_id, max(attempt) AS top
                    FROM usage_event
                    WHERE org_id = %s AND request_id = ANY(%s) AND NOT shadow
                    GROUP BY request_id
                    HAVING count(*) > 1
                )
                UPDATE usage_event e SET superseded = true
                FROM chains c
                WHERE e.org_id = %s AND e.request_id = c.request_id AND NOT e.shadow
                  AND e.attempt < c.top AND NOT e.superseded
                RETURNING e.timestamp
                """,
                [org_id, ids, org_id],
            )
            return [row[0] for row in cursor.fetchall()]
    touched: list[datetime] = []
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        chains = (
            Event.objects.filter(org_id=org_id, request_id__in=chunk, shadow=False)
            .values("request_id")
            .annotate(top=Max("attempt"), n=Count("id"))
            .filter(n__gt=1)
        )
        for chain in chains:
            stale = Event.objects.filter(
                org_id=org_id,
                request_id=chain["request_id"],
                shadow=False,
                attempt__lt=chain["top"],
                superseded=False,
            )
            touched.extend(stale.values_list("timestamp", flat=True))
            stale.update(superseded=True)
    return touched

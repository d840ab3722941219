"""Celery tasks of usage: thin wrappers that take IDs, are idempotent and retry only transient errors.

Every task recomputes from raw events (never increments), so running one twice, or after a
worker died half-way (acks_late: it is delivered again), ends in the same rollups.
"""

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from costlens.accounts.models import Organization
from costlens.usage.rollup import dirty_org_ids, rollup_org
from costlens.usage.services import baselines_recompute

# Connection lost, server restarting, serialization/lock timeouts: worth a retry. Anything else
# (a bug, a constraint violation) would fail the same way again, so it is raised, not retried.
TRANSIENT_DB_ERRORS = (OperationalError, InterfaceError)


@shared_task(acks_late=True, autoretry_for=TRANSIENT_DB_ERRORS, retry_backoff=True, max_retries=3)
def rollup_all_dirty() -> int:
    """Periodic: fan out one rollup task per org that has dirty buckets."""
    org_ids = dirty_org_ids()
    # A fan-out older than a few intervals is superseded by a newer one; let it expire unrun.
    expires = max(4 * settings.ROLLUP_INTERVAL_SECONDS, 60)
    for org_id in org_ids:
        rollup_org_task.apply_async((org_id,), expires=expires)
    return len(org_ids)


@shared_task(acks_late=True, autoretry_for=TRANSIENT_DB_ERRORS, retry_backoff=True, max_retries=5)
def rollup_org_task(org_id: int) -> int:
    return rollup_org(org_id)


@shared_task(acks_late=True, autoretry_for=TRANSIENT_DB_ERRORS, retry_backoff=True, max_retries=5)
def baselines_recompute_task(org_id: int, route: str | None = None) -> int:
    """Recompute baseline costs after a baseline model changed, then bring the rollups along."""
    org = Organization.objects.filter(pk=org_id).first()
    if org is None:  # deleted since it was enqueued: nothing to do
        return 0
    changed = baselines_recompute(org=org, route=route)
    if changed:
        rollup_org_task.delay(org_id)
    return changed

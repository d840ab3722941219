from celery import shared_task
from django.db import InterfaceError, OperationalError

from costlens.usage.rollup import dirty_org_ids, rollup_org


@shared_task(acks_late=True)
def rollup_all_dirty() -> int:
    """Periodic: fan out one rollup task per org that has dirty buckets."""
    org_ids = dirty_org_ids()
    for org_id in org_ids:
        rollup_org_task.delay(org_id)
    return len(org_ids)


@shared_task(
    acks_late=True, autoretry_for=(OperationalError, InterfaceError), retry_backoff=True, max_retries=5
)
def rollup_org_task(org_id: int) -> int:
    return rollup_org(org_id)

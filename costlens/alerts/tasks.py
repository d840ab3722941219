from celery import shared_task
from django.db import InterfaceError, OperationalError

from costlens.alerts.services import due_rule_ids, notifications_send_due, rule_evaluate


@shared_task(acks_late=True)
def evaluate_due_rules() -> int:
    """Periodic: one evaluation task per enabled rule that is due."""
    ids = due_rule_ids()
    for rule_id in ids:
        evaluate_rule.delay(rule_id)
    return len(ids)


@shared_task(
    acks_late=True, autoretry_for=(OperationalError, InterfaceError), retry_backoff=True, max_retries=5
)
def evaluate_rule(rule_id: int) -> int:
    """Idempotent: a rule already evaluated by another worker in this interval is skipped."""
    from datetime import timedelta

    from django.conf import settings
    from django.utils import timezone

    due_after = timezone.now() - timedelta(seconds=settings.ALERTS_INTERVAL_SECONDS * 0.9)
    return len(rule_evaluate(rule_id=rule_id, due_after=due_after).opened)


@shared_task(
    acks_late=True, autoretry_for=(OperationalError, InterfaceError), retry_backoff=True, max_retries=5
)
def send_pending_notifications() -> int:
    """Send due outbox rows (periodic, and enqueued after an evaluation wrote some)."""
    return notifications_send_due().sent

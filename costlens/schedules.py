"""Every periodic job of CostLens, in one place (run by `celery beat`)."""

from django.conf import settings


def beat_schedule() -> dict[str, dict]:
    return {
        "rollup-dirty-buckets": {
            "task": "costlens.usage.tasks.rollup_all_dirty",
            "schedule": float(settings.ROLLUP_INTERVAL_SECONDS),
        },
        "evaluate-alerts": {
            "task": "costlens.alerts.tasks.evaluate_due_rules",
            "schedule": float(settings.ALERTS_INTERVAL_SECONDS),
        },
        "send-notifications": {
            "task": "costlens.alerts.tasks.send_pending_notifications",
            "schedule": 30.0,
        },
    }

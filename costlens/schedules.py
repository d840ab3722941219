"""Every periodic job of CostLens, in one place (run by `celery beat` or `celery worker -B`)."""

from django.conf import settings


def beat_schedule() -> dict[str, dict]:
    rollup_every = float(settings.ROLLUP_INTERVAL_SECONDS)
    return {
        "rollup-dirty-buckets": {
            "task": "costlens.usage.tasks.rollup_all_dirty",
            "schedule": rollup_every,
            # A tick nobody ran before the next one is useless; drop it instead of piling up.
            "options": {"expires": rollup_every},
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

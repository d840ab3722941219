"""The Celery app. Broker from CELERY_BROKER_URL (Redis in production); without it, tasks run eagerly.

Run a worker and the scheduler with `celery -A costlens worker -B` (or `worker` + `beat` apart).
Periodic jobs are defined in costlens/schedules.py only.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "costlens.settings")

app = Celery("costlens")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    # acks_late tasks whose worker process dies are re-queued rather than lost.
    task_reject_on_worker_lost=True,
    broker_connection_retry_on_startup=True,
    worker_max_tasks_per_child=1000,
    # Results are never read; do not keep them.
    task_ignore_result=True,
)
app.autodiscover_tasks()


@app.on_after_finalize.connect
def _install_schedule(sender: Celery, **kwargs: object) -> None:
    # Late: the schedule reads Django settings, which are not importable while this module loads.
    from costlens.schedules import beat_schedule

    sender.conf.beat_schedule = beat_schedule()

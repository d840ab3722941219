import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "costlens.settings")

app = Celery("costlens")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_finalize.connect
def _install_schedule(sender: Celery, **kwargs: object) -> None:
    from costlens.schedules import beat_schedule

    sender.conf.beat_schedule = beat_schedule()

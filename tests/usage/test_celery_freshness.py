"""A real Celery worker with beat, on Redis, rolls up an ingested event until GET /api/v1/usage shows it.

Needs Redis at 127.0.0.1:6379 (db 3): a missing Redis fails this test, it is never skipped.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from django.conf import settings

from tests.conftest import make_event

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
BROKER = "redis://127.0.0.1:6379/3"
TIMEOUT_S = 60


def database_url() -> str:
    db = settings.DATABASES["default"]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def worker(tmp_path):
    client = redis.Redis.from_url(BROKER, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as exc:
        pytest.fail(f"Redis is needed at {BROKER} for the Celery integration test: {exc}")
    client.flushdb()  # no stale tasks from an earlier run
    env = dict(
        os.environ,
        CELERY_BROKER_URL=BROKER,
        DATABASE_URL=database_url(),
        ROLLUP_INTERVAL_SECONDS="2",
        DEBUG="1",
    )
    log = (tmp_path / "worker.log").open("w")
    celery = str(Path(sys.executable).with_name("celery"))
    proc = subprocess.Popen(
        [
            celery, "-A", "costlens", "worker", "-B", "--concurrency=1", "--loglevel=INFO",
            "--schedule", str(tmp_path / "beat-schedule"), "--hostname", "usage-test@%h",
        ],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    yield proc, tmp_path / "worker.log"
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    except ProcessLookupError:
        pass
    log.close()
    client.flushdb()


def test_an_ingested_event_shows_in_usage_within_a_minute(acme_api, worker):
    proc, log_path = worker
    response = acme_api.post_events([make_event("fresh-1", timestamp="2026-04-10T12:00:00Z")])
    assert response.status_code == 200
    ingested = time.monotonic()
    window = {"start": "2026-04-10T00:00:00Z", "end": "2026-04-11T00:00:00Z"}
    events = 0
    while time.monotonic() - ingested < TIMEOUT_S:
        assert proc.poll() is None, f"the worker exited:\n{log_path.read_text()[-3000:]}"
        body = acme_api.get("/api/v1/usage", window).json()
        events = body["totals"]["events"]
        if events:
            break
        time.sleep(0.5)
    assert events == 1, f"not rolled up within {TIMEOUT_S} s; worker log:\n{log_path.read_text()[-3000:]}"
    assert body["totals"]["cost_usd"] == "0.004500000"
    assert body["as_of"] is not None

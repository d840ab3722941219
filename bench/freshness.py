"""Freshness benchmark: seconds from POST /api/v1/events to the event counted by GET /api/v1/usage.

Not a test (pytest never collects bench/). Default settings (ROLLUP_INTERVAL_SECONDS unset: 30 s),
a real `celery -A costlens worker -B` on Redis, real PostgreSQL:

    .venv/bin/python bench/freshness.py                  # 5 trials, own database costlens_usage_fresh
    .venv/bin/python bench/freshness.py --trials 10 --broker redis://127.0.0.1:6379/3

Each trial ingests one event (through the endpoint, in-process Django test Client) at a random
moment and polls GET /api/v1/usage every 0.25 s until the event is counted. Target: ≤ 60 s.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PYTHON = str(ROOT / ".venv" / "bin" / "python")
CELERY = str(ROOT / ".venv" / "bin" / "celery")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", default="costlens_usage_fresh")
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/3")
    parser.add_argument("--trials", type=int, default=5)
    args = parser.parse_args()

    with psycopg.connect("postgresql://root@127.0.0.1:5432/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{args.db}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{args.db}"')
    url = f"postgres://root@127.0.0.1:5432/{args.db}"
    env = {k: v for k, v in os.environ.items() if k != "ROLLUP_INTERVAL_SECONDS"}
    env.update(DATABASE_URL=url, DEBUG="1")
    subprocess.run(
        [PYTHON, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env, check=True, capture_output=True
    )

    os.environ.update(DATABASE_URL=url, DEBUG="1", DJANGO_SETTINGS_MODULE="costlens.settings")
    os.environ.pop("CELERY_BROKER_URL", None)  # this process only ingests and reads
    import django

    django.setup()
    import orjson
    import redis
    from django.conf import settings
    from django.test import Client

    from costlens.accounts.services import api_key_create, organization_create

    redis.Redis.from_url(args.broker).flushdb()
    org = organization_create(name="Freshness")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {api_key_create(org=org).raw_key}")
    worker_env = dict(env, CELERY_BROKER_URL=args.broker)
    schedule = Path("/tmp") / f"costlens-freshness-beat-{os.getpid()}"
    worker = subprocess.Popen(
        [
            CELERY,
            "-A",
            "costlens",
            "worker",
            "-B",
            "--concurrency=2",
            "--loglevel=WARNING",
            "-s",
            str(schedule),
        ],
        cwd=ROOT,
        env=worker_env,
        start_new_session=True,
    )
    log(f"worker+beat started (ROLLUP_INTERVAL_SECONDS={settings.ROLLUP_INTERVAL_SECONDS}, the default)")
    lags = []
    try:
        time.sleep(5)
        for trial in range(args.trials):
            time.sleep(random.uniform(0, settings.ROLLUP_INTERVAL_SECONDS))
            event = {
                "event_id": f"fresh-{trial}",
                "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "model": "claude-haiku-4-5",
                "input_tokens": 100,
                "output_tokens": 10,
            }
            body = orjson.dumps({"events": [event]})
            assert client.post("/api/v1/events", body, content_type="application/json").status_code == 200
            t0 = time.monotonic()
            while True:
                answer = client.get("/api/v1/usage").json()
                if answer["totals"]["events"] == trial + 1:
                    break
                if time.monotonic() - t0 > 180:
                    raise SystemExit("not visible after 180 s")
                time.sleep(0.25)
            lag = time.monotonic() - t0
            lags.append(lag)
            log(f"trial {trial + 1}: visible after {lag:.1f} s (as_of {answer['as_of']})")
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)
        schedule.unlink(missing_ok=True)
    print(
        f"RESULT trials={len(lags)} median_s={sorted(lags)[len(lags) // 2]:.1f} max_s={max(lags):.1f} "
        f"interval_s={settings.ROLLUP_INTERVAL_SECONDS} target_s=60"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

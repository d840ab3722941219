"""The zero-setup demo: what someone trying CostLens relies on after `make demo`.

The seeding service runs against the real PostgreSQL test database at small sizes; one test runs
`manage.py demo` itself in demo mode (SQLite, eager Celery), which is what `make demo` does.
"""

import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path

import orjson
import pytest
from django.db.models import Count, F, Q, Sum
from django.utils import timezone
from rest_framework.test import APIClient

from costlens import demo
from costlens.customers.models import Customer, RevenueEntry
from costlens.money import nanos_to_str
from costlens.usage.models import DirtyBucket, Event
from costlens.usage.selectors import usage_report
from routing.models import Route

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def seeded(db):
    return demo.demo_seed(days=2, customers=20, events=2000, seed=7)


def _window(result):
    return {"start": result.start, "end": result.end + timedelta(hours=1)}


def test_demo_org_admin_can_log_in_and_see_the_dashboard(seeded, client):
    org = seeded.access.org
    assert (org.name, org.slug) == ("Acme AI", "acme-ai")
    assert client.login(username=demo.ADMIN_EMAIL, password=demo.ADMIN_PASSWORD)
    assert client.get("/").status_code == 200


def test_demo_api_key_ingests_and_reads(seeded):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {seeded.access.api_key}")
    event = {
        "event_id": "hello-1",
        "timestamp": timezone.now().isoformat(),
        "model": "claude-haiku-4-5",
        "input_tokens": 500,
        "output_tokens": 200,
        "customer_id": "cus_0001",
        "feature": "chat",
        "route": "support-chat",
    }
    response = api.post("/api/v1/events", orjson.dumps({"events": [event]}), content_type="application/json")
    assert response.status_code == 200, response.content
    assert response.json()["accepted"] == 1
    usage = api.get("/api/v1/usage", {"group_by": "model"})
    assert usage.status_code == 200
    assert {row["model"] for row in usage.json()["rows"]} >= {"claude-haiku-4-5", demo.UNPRICED_MODEL}


def test_demo_traffic_has_the_patterns_the_dashboards_show(seeded):
    org = seeded.access.org
    assert seeded.rejected == 0 and seeded.duplicates == 0
    assert 1800 <= seeded.accepted <= 2200
    events = Event.objects.filter(org=org)
    counts = events.aggregate(
        requests=Count("id", filter=Q(shadow=False, attempt=1)),
        fallbacks=Count("id", filter=Q(shadow=False, attempt=2)),
        third=Count("id", filter=Q(attempt=3)),
        shadow=Count("id", filter=Q(shadow=True)),
        cached=Count("id", filter=Q(cache_read_tokens__gt=0)),
        cache_writes=Count("id", filter=Q(cache_write_tokens__gt=0)),
        reasoning=Count("id", filter=Q(reasoning_tokens__gt=0)),
        errors=Count("id", filter=Q(is_error=True)),
        unpriced=Count("id", filter=Q(unpriced=True, model=demo.UNPRICED_MODEL)),
        usage_billed=Count("id", filter=Q(revenue_nanos__gt=0)),
        unattributed=Count("id", filter=Q(customer="(unattributed)")),
        judged=Count("id", filter=Q(quality_score__isnull=False)),
        confident=Count("id", filter=Q(router_confidence__isnull=False)),
    )
    assert 0.06 <= counts["fallbacks"] / counts["requests"] <= 0.16
    assert 0.01 <= counts["shadow"] / counts["requests"] <= 0.06
    for key in (
        "third",
        "cached",
        "cache_writes",
        "reasoning",
        "errors",
        "unpriced",
        "usage_billed",
        "unattributed",
        "judged",
        "confident",
    ):
        assert counts[key] > 0, key
    reasons = set(events.filter(attempt=2).values_list("fallback_reason", flat=True))
    assert {"low_confidence", "error"} <= reasons
    assert events.filter(attempt=2, superseded=False).count() < counts["fallbacks"]  # some went to a 3rd
    assert (
        events.filter(attempt=1, request_id__in=events.filter(attempt=2).values("request_id"))
        .filter(superseded=True)
        .count()
        == events.filter(attempt=2).count()
    )
    assert events.exclude(model_raw=F("model")).exists()  # other spellings were normalised
    # Cheaper models score a little lower than frontier ones.
    quality = dict(
        events.filter(quality_score__isnull=False, fallback_reason="", attempt=1, shadow=False)
        .values_list("model")
        .annotate(q=Sum("quality_score") / Count("quality_score"))
    )
    assert quality["gpt-5-nano"] < quality["claude-sonnet-4-6"]


def test_demo_rollups_are_exact_and_some_customers_lose_money(seeded):
    org = seeded.access.org
    assert not DirtyBucket.objects.filter(org=org).exists()
    report = usage_report(org, **_window(seeded))
    stored = Event.objects.filter(org=org).aggregate(cost=Sum("cost_nanos"), n=Count("id"))
    assert report.totals["cost_usd"] == nanos_to_str(stored["cost"])
    assert report.totals["events"] == stored["n"]
    assert report.totals["unpriced_events"] > 0
    assert report.totals["cache_read_tokens"] > 0
    assert float(report.totals["savings_usd"]) > 0
    assert report.totals["margin_pct"] is not None and report.totals["margin_pct"] > 0

    by_customer = usage_report(org, group_by=["customer"], **_window(seeded)).rows
    paying_underwater = [
        r for r in by_customer if r["revenue_usd"] != "0.000000000" and r["margin_usd"].startswith("-")
    ]
    assert paying_underwater, "a paying customer should cost more than they pay"
    assert any(not r["margin_usd"].startswith("-") for r in by_customer)


def test_demo_routes_customers_revenue_prices_and_alerts(seeded):
    org = seeded.access.org
    routes = {r.name: r for r in Route.objects.filter(org=org)}
    assert set(demo.ROUTES) <= set(routes)
    chat = routes["support-chat"]
    assert chat.target_split == {"claude-haiku-4-5": "0.7000", "claude-sonnet-4-6": "0.3000"}
    assert chat.baseline_model == "claude-sonnet-4-6"
    assert chat.fallback_chain == ["claude-haiku-4-5", "claude-sonnet-4-6", "claude-opus-4-6"]

    customers = Customer.objects.filter(org=org)
    assert customers.count() == 20
    assert all(c.name and c.plan in {"free", "pro", "enterprise"} and c.segment for c in customers)
    assert RevenueEntry.objects.filter(org=org).exists()

    override = org.price_overrides.get(model=demo.PRICE_CHANGE_MODEL)
    assert override.discount_pct == demo.PRICE_CHANGE_DISCOUNT_PCT
    assert override.effective_from <= seeded.end - demo.PRICE_CHANGE_AGO

    kinds = set(org.alert_rules.filter(enabled=True).values_list("kind", flat=True))
    assert {"negative_margin", "fallback_rate", "split_drift", "unpriced_model"} <= kinds
    assert org.incidents.filter(rule__kind="unpriced_model", resolved_at=None).exists()


def test_demo_reseed_and_restart(seeded, client):
    org = seeded.access.org
    assert demo.demo_org_get() == org
    again = demo.demo_access_grant(org=org)
    assert again.api_key != seeded.access.api_key
    assert org.api_keys.filter(name=demo.API_KEY_NAME, revoked_at=None).count() == 1
    demo.demo_org_delete()
    assert demo.demo_org_get() is None
    fresh = demo.demo_seed(days=1, customers=5, events=300, seed=7)
    assert Event.objects.filter(org=fresh.access.org).count() == fresh.accepted > 0


def test_demo_traffic_is_deterministic_and_tells_its_stories():
    now = timezone.now()

    def generate():
        rng = demo.random.Random(3)
        customers = demo.demo_customers_build(rng, 30)
        start = now - timedelta(days=7)
        return list(demo.TrafficGenerator(rng=rng, customers=customers, start=start, now=now, events=20_000))

    events = generate()
    assert events == generate()
    assert all(_ts(e) <= now for e in events)

    def sonnet_share(inside: bool) -> float:
        lo, hi = now - demo.DRIFT_START, now - demo.DRIFT_END
        picked = [
            e
            for e in events
            if e.get("route") == demo.DRIFT_ROUTE
            and "attempt" not in e
            and not e.get("shadow")
            and (lo <= _ts(e) < hi) == inside
        ]
        return sum("sonnet" in e["model"] for e in picked) / len(picked)

    assert sonnet_share(inside=False) == pytest.approx(0.3, abs=0.05)
    assert sonnet_share(inside=True) == pytest.approx(0.6, abs=0.07)
    # Weekday afternoons (UTC) are busier than nights.
    by_hour = [0] * 24
    for e in events:
        by_hour[_ts(e).hour] += 1
    assert by_hour[15] > 2 * by_hour[3]


def _ts(event):
    return datetime.fromisoformat(event["timestamp"])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _demo_env(db_path: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("CELERY_BROKER_URL", "REDIS_URL", "DEBUG")}
    env.update(
        COSTLENS_DEMO="1",
        DATABASE_URL=f"sqlite:///{db_path}",
        PYTHONUNBUFFERED="1",
        ROLLUP_INTERVAL_SECONDS="2",
    )
    return env


def test_manage_py_demo_zero_setup_end_to_end(tmp_path):
    """`make demo`'s path: demo mode (SQLite by design, eager Celery), seed, print access, then serve."""
    db_path = tmp_path / "demo.sqlite3"
    env = _demo_env(db_path)
    cmd = [sys.executable, "manage.py", "demo", "--days", "1", "--customers", "10", "--events", "1500"]
    first = subprocess.run(
        [*cmd, "--no-serve"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert first.returncode == 0, first.stderr[-3000:]
    out = first.stdout
    assert "http://127.0.0.1:8000" in out
    assert f"{demo.ADMIN_EMAIL}  /  {demo.ADMIN_PASSWORD}" in out
    assert "curl" in out and "Authorization: Bearer cl_" in out
    with sqlite3.connect(db_path) as db:
        (org_id,) = db.execute("SELECT id FROM accounts_organization WHERE slug = 'acme-ai'").fetchone()
        (n_events,) = db.execute("SELECT count(*) FROM usage_event WHERE org_id = ?", [org_id]).fetchone()
        (n_hourly,) = db.execute(
            "SELECT count(*) FROM usage_hourlyrollup WHERE org_id = ?", [org_id]
        ).fetchone()
        (n_dirty,) = db.execute("SELECT count(*) FROM usage_dirtybucket").fetchone()
    assert 1200 <= n_events <= 1800
    assert n_hourly > 0 and n_dirty == 0

    # Second start: the data is kept, a fresh key is printed, the server answers with it, and a posted
    # event reaches the rollups (the demo runs the periodic jobs itself).
    port = _free_port()
    server = subprocess.Popen(
        [*cmd, "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        key = None
        lines = []
        deadline = time.monotonic() + 120
        while key is None and time.monotonic() < deadline:
            line = server.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.strip().startswith("API key"):
                key = line.split()[-1]
        assert key, "".join(lines)[-3000:]
        assert any("already exists" in line for line in lines)
        base = f"http://127.0.0.1:{port}"
        while True:
            try:
                with urllib.request.urlopen(f"{base}/login/", timeout=5) as page:
                    assert page.status == 200
                    break
            except (urllib.error.URLError, ConnectionError):
                assert time.monotonic() < deadline, "demo server did not answer"
                time.sleep(0.3)
        body = orjson.dumps(
            {
                "events": [
                    {
                        "event_id": "zero-setup-1",
                        "timestamp": timezone.now().isoformat(),
                        "model": "claude-haiku-4-5",
                        "input_tokens": 500,
                        "output_tokens": 200,
                        "customer_id": "zero-setup",
                    }
                ]
            }
        )
        request = urllib.request.Request(
            f"{base}/api/v1/events",
            data=body,
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.status == 200
            assert orjson.loads(answer.read())["accepted"] == 1
        # The demo's in-process scheduler rolls it up: it reaches the read API without a Celery beat.
        usage = urllib.request.Request(
            f"{base}/api/v1/usage?customer=zero-setup", headers={"Authorization": f"Bearer {key}"}
        )
        while True:
            with urllib.request.urlopen(usage, timeout=10) as answer:
                if orjson.loads(answer.read())["totals"]["events"] == 1:
                    break
            assert time.monotonic() < deadline, "the posted event never reached the rollups"
            time.sleep(0.5)
    finally:
        server.terminate()
        server.wait(timeout=20)
    with sqlite3.connect(db_path) as db:
        (n_after,) = db.execute("SELECT count(*) FROM usage_event").fetchone()
    assert n_after == n_events + 1

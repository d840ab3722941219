"""Recomputes stay exact after deleted, changed and superseded events, with claims of whole days.

Every test checks the rollups (hourly, daily, slices) against sums over the raw events, never
against CostLens's own arithmetic; one runs the SQLite (demo) statements.
"""

import os
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

from django.core.management import call_command
from django.db import transaction
from django.db.models import F, Sum

from costlens.usage import rollup
from costlens.usage.models import DailyRollup, DailySlice, DirtyBucket, Event, HourlyRollup, HourlySlice
from costlens.usage.services import buckets_mark_dirty
from routing.models import RouteChainStep, RouteModelStat
from tests.conftest import at, make_event

ROOT = Path(__file__).resolve().parent.parent.parent
KEY = ("customer", "feature", "model", "route", "provider")
SUMMED = ("events", "requests", "superseded", "cost_nanos", "wasted_cost_nanos", "input_tokens")


def expected_from_events(org, grain: str) -> dict:
    """(bucket, *KEY) -> sums, straight from usage_event."""
    out: dict = defaultdict(Counter)
    for e in Event.objects.filter(org=org):
        bucket = e.timestamp.replace(minute=0, second=0, microsecond=0)
        if grain == "d":
            bucket = bucket.replace(hour=0)
        row = out[(bucket, *(getattr(e, k) for k in KEY))]
        row["events"] += 1
        row["requests"] += int(not e.shadow and e.attempt == 1)
        row["superseded"] += int(e.superseded)
        row["cost_nanos"] += e.cost_nanos
        row["wasted_cost_nanos"] += e.cost_nanos if e.superseded else 0
        row["input_tokens"] += e.input_tokens
    return {k: dict(v) for k, v in out.items()}


def stored(model, org) -> dict:
    rows = model.objects.filter(org=org).values("bucket", *KEY, *SUMMED)
    out = {}
    for r in rows:
        key = (r["bucket"], *(r[k] for k in KEY))
        assert key not in out, f"two {model.__name__} rows for {key}"
        out[key] = {m: r[m] for m in SUMMED}
    return out


def assert_exact(org) -> None:
    assert stored(HourlyRollup, org) == expected_from_events(org, "h")
    assert stored(DailyRollup, org) == expected_from_events(org, "d")
    for slice_model, full in ((HourlySlice, HourlyRollup), (DailySlice, DailyRollup)):
        for cube, dims in rollup.CUBES.items():
            got = {
                (r["bucket"], *(r[d] for d in dims)): r["cost_nanos"]
                for r in slice_model.objects.filter(org=org, cube=cube).values("bucket", *dims, "cost_nanos")
            }
            want = {
                (r["bucket"], *(r[d] for d in dims)): r["n"]
                for r in full.objects.filter(org=org).values("bucket", *dims).annotate(n=Sum("cost_nanos"))
            }
            assert got == want, (slice_model.__name__, cube)


def two_days_of_events(prefix: str = "e") -> list[dict]:
    return [
        make_event(
            f"{prefix}{i}",
            timestamp=f"2026-04-{10 + i % 2}T{i % 5:02d}:{i % 60:02d}:00Z",
            customer_id=f"c{i % 3}",
            route="r1",
            model=["claude-haiku-4-5", "claude-sonnet-4-6"][i % 2],
            quality_score=0.5,
        )
        for i in range(60)
    ]


def mark(org, *hours) -> None:
    with transaction.atomic():
        buckets_mark_dirty(org_id=org.id, hours=[at(h) for h in hours])


def test_deleted_and_changed_events_in_a_rolled_up_hour(acme_api, acme):
    acme_api.post_events(two_days_of_events())
    call_command("rollup", verbosity=0)
    hour = at("2026-04-10T02:00:00Z")
    in_hour = Event.objects.filter(org=acme, timestamp__gte=hour, timestamp__lt=hour + rollup.HOUR)
    gone = in_hour.filter(customer="c2")
    assert gone.exists()
    gone.delete()  # a whole group of the hour disappears
    in_hour.filter(customer="c0").update(cost_nanos=F("cost_nanos") + 7)  # another group changes
    mark(acme, "2026-04-10T02:00:00Z")
    call_command("rollup", verbosity=0)
    assert not HourlyRollup.objects.filter(org=acme, bucket=hour, customer="c2").exists()
    assert not HourlySlice.objects.filter(org=acme, bucket=hour, cube=3, customer="c2").exists()
    assert_exact(acme)
    # Every event of a day deleted: its hour and day rows go too.
    Event.objects.filter(org=acme, timestamp__gte=at("2026-04-11T00:00:00Z")).delete()
    mark(acme, *(f"2026-04-11T{h:02d}:00:00Z" for h in range(5)))
    call_command("rollup", verbosity=0)
    assert not DailyRollup.objects.filter(org=acme, bucket=at("2026-04-11T00:00:00Z")).exists()
    assert_exact(acme)


def test_a_later_attempt_rewrites_the_superseded_attempts_hour(acme_api, acme):
    first = make_event("a1", request_id="req", route="r1", timestamp="2026-04-10T01:50:00Z")
    acme_api.post_events([first, *two_days_of_events()])
    call_command("rollup", verbosity=0)
    second = make_event(
        "a2",
        request_id="req",
        attempt=2,
        route="r1",
        fallback_reason="error",
        timestamp="2026-04-10T03:05:00Z",
    )
    acme_api.post_events([second])
    assert Event.objects.get(org=acme, event_id="evt-a1").superseded
    call_command("rollup", verbosity=0)
    assert_exact(acme)
    steps = RouteChainStep.objects.filter(org=acme, reason="error")
    assert {(s.grain, s.bucket, s.steps) for s in steps} == {
        ("h", at("2026-04-10T01:00:00Z"), 1),
        ("d", at("2026-04-10T00:00:00Z"), 1),
    }


def test_rebuild_puts_right_day_rows_that_drifted_while_their_hours_were_right(acme_api, acme):
    acme_api.post_events(two_days_of_events())
    call_command("rollup", verbosity=0)
    DailyRollup.objects.filter(org=acme).update(events=F("events") + 1)
    DailySlice.objects.filter(org=acme).update(cost_nanos=F("cost_nanos") + 1)
    RouteModelStat.objects.filter(org=acme, grain="d").update(calls=F("calls") + 1)
    call_command("rollup", "--rebuild", verbosity=0)
    assert_exact(acme)
    hours = RouteModelStat.objects.filter(org=acme, grain="h").aggregate(n=Sum("calls"))["n"]
    assert RouteModelStat.objects.filter(org=acme, grain="d").aggregate(n=Sum("calls"))["n"] == hours


def test_claims_take_whole_days(acme_api, acme):
    acme_api.post_events(two_days_of_events())  # 5 dirty hours on each of two days
    acme_api.post_events([make_event("d3", timestamp="2026-04-12T07:00:00Z")])  # 1 on a third
    assert DirtyBucket.objects.filter(org=acme).count() == 11
    assert rollup.rollup_claimed_batch(acme.id, limit=3) == 5  # a day bigger than the limit: whole
    assert rollup.rollup_claimed_batch(acme.id, limit=6) == 6  # two days fit in 6 hours
    assert rollup.rollup_claimed_batch(acme.id, limit=6) == 0
    assert_exact(acme)


SQLITE_SCRIPT = """
from collections import Counter
from datetime import UTC, datetime, timedelta
from django.core.management import call_command
from django.db import transaction
from django.db.models import Count, Sum
from costlens.accounts.services import organization_create
from costlens.usage.models import DailyRollup, Event, HourlyRollup, HourlySlice
from costlens.usage.rollup import rollup_all
from costlens.usage.services import buckets_mark_dirty
from routing.models import RouteModelStat

org = organization_create(name="Lite")
t0 = datetime(2026, 4, 10, tzinfo=UTC)
def add(n, prefix, hours):
    rows = [Event(org=org, event_id=f"{prefix}{i}", timestamp=t0 + timedelta(hours=hours[i % len(hours)]),
                  received_at=t0, model_raw="m", model="m", input_tokens=10, output_tokens=5,
                  customer=f"c{i % 3}", route="r", request_id=f"{prefix}{i}", cost_nanos=100 + i,
                  quality_score=0.5)
            for i in range(n)]
    Event.objects.bulk_create(rows)
    with transaction.atomic():
        buckets_mark_dirty(org_id=org.id, hours=[r.timestamp for r in rows])
def check():
    raw = Event.objects.filter(org=org)
    for model, kind in ((HourlyRollup, "hour"), (DailyRollup, "day")):
        want = Counter()
        for e in raw:
            b = e.timestamp.replace(minute=0, second=0, microsecond=0)
            want[(b if kind == "hour" else b.replace(hour=0), e.customer)] += e.cost_nanos
        got = Counter({(r.bucket, r.customer): r.cost_nanos for r in model.objects.filter(org=org)})
        assert got == want, (kind, got, want)
    assert HourlySlice.objects.filter(org=org, cube=3).aggregate(n=Sum("cost_nanos"))["n"] == sum(
        e.cost_nanos for e in raw)
    d = RouteModelStat.objects.filter(org=org, grain="d").aggregate(n=Sum("calls"))["n"]
    assert d == raw.count(), (d, raw.count())
add(30, "a", [1, 2, 25])
rollup_all()
check()
add(4, "late", [2])  # late events into rolled-up hours
Event.objects.filter(org=org, customer="c1", timestamp__gte=t0 + timedelta(hours=25)).delete()
with transaction.atomic():
    buckets_mark_dirty(org_id=org.id, hours=[t0 + timedelta(hours=25)])
rollup_all(workers=1)
check()
print("SQLITE-ROLLUP-OK")
"""


def test_the_sqlite_demo_path_stays_exact_after_late_and_deleted_events(tmp_path):
    """SQLite (the demo's database) runs the portable statements; same results."""
    env = {k: v for k, v in os.environ.items() if k not in ("CELERY_BROKER_URL", "REDIS_URL", "DEBUG")}
    env.update(COSTLENS_DEMO="1", DATABASE_URL=f"sqlite:///{tmp_path / 'lite.sqlite3'}")
    manage = [sys.executable, "manage.py"]
    migrate = subprocess.run(
        [*manage, "migrate", "-v", "0"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert migrate.returncode == 0, migrate.stderr[-3000:]
    run = subprocess.run(
        [*manage, "shell", "-c", SQLITE_SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "SQLITE-ROLLUP-OK" in run.stdout

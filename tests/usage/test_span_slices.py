"""Quarter-day and week slices (models.SpanSlice): long windows read one row per whole quarter of a
partial day and per whole week instead of its hours and days; every answer stays the sums of the
raw events, and the spans stay the sums of what they cover through late events and repricing.
"""

import importlib
from collections import defaultdict
from datetime import timedelta

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection
from django.db.models import Sum

from costlens.usage.models import DailySlice, DirtyBucket, Event, HourlyRollup, HourlySlice, SpanSlice
from costlens.usage.rollup import QUARTER, WEEK, quarter_of, week_of
from costlens.usage.selectors import span_parts, usage_report
from tests.conftest import at, make_event

# Monday 2026-04-06 .. Sunday 2026-04-26: three whole weeks, with events before and after.
FIRST = at("2026-04-03T00:00:00Z")


@pytest.fixture
def weeks(acme, acme_api):
    events = []
    for d in range(27):
        for hour in (1, 7, 13, 19, 22):
            n = len(events)
            events.append(
                make_event(
                    f"w{n}",
                    timestamp=(FIRST + timedelta(days=d, hours=hour, minutes=n % 60)).isoformat(),
                    customer_id=f"c{n % 4}",
                    feature=("chat", "search", "summarize")[n % 3],
                    input_tokens=100 + n,
                    output_tokens=10 + n % 50,
                    latency_ms=40 + n,
                )
            )
    assert acme_api.post_events(events).status_code == 200
    call_command("rollup", verbosity=0)
    return acme


def _event_cost(org, start, end, dims):
    out = defaultdict(int)
    for e in Event.objects.filter(org=org, timestamp__gte=start, timestamp__lt=end):
        out[tuple(getattr(e, d) for d in dims)] += e.cost_nanos
    return dict(out)


def _report_cost(report, dims):
    return {tuple(r[d] for d in dims): int(r["cost_usd"].replace(".", "")) for r in report.rows}


@pytest.mark.parametrize(
    ("lo", "hi", "weeks", "want"),
    [
        # Hours to the next quarter, whole quarters, hours after the last one.
        ("2026-04-08T07", "2026-04-08T23", False, [("h", "07", "12"), ("q", "12", "18"), ("h", "18", "23")]),
        ("2026-04-08T06", "2026-04-08T18", False, [("q", "06", "18")]),
        ("2026-04-08T07", "2026-04-08T11", False, [("h", "07", "11")]),
    ],
)
def test_an_hourly_segment_is_tiled_by_hours_and_whole_quarters(lo, hi, weeks, want):
    parts = span_parts(HourlyRollup, at(f"{lo}:00:00Z"), at(f"{hi}:00:00Z"), weeks=weeks)
    shown = [("h" if p is HourlyRollup else p, a.strftime("%H"), b.strftime("%H")) for p, a, b in parts]
    assert shown == want


def test_a_daily_segment_is_tiled_by_days_and_whole_weeks():
    from costlens.usage.models import DailyRollup

    lo, hi = at("2026-04-03T00:00:00Z"), at("2026-04-29T00:00:00Z")
    parts = span_parts(DailyRollup, lo, hi, weeks=True)
    assert [(p if isinstance(p, str) else "d", a.day, b.day) for p, a, b in parts] == [
        ("d", 3, 6),
        ("w", 6, 27),
        ("d", 27, 29),
    ]
    assert span_parts(DailyRollup, lo, hi, weeks=False) == [(DailyRollup, lo, hi)]
    # Every tiling covers the segment exactly, coarse parts aligned.
    for p, a, b in parts:
        if p == "w":
            assert week_of(a) == a and (b - a) % WEEK == timedelta(0)


def test_the_rollup_writes_each_span_as_the_sum_of_what_it_covers(weeks, acme_api):
    def check():
        for grain, source, align in (("q", HourlySlice, quarter_of), ("w", DailySlice, week_of)):
            want = defaultdict(int)
            for row in source.objects.filter(org=weeks).values(
                "bucket", "cube", "customer", "feature", "cost_nanos"
            ):
                want[(align(row["bucket"]), row["cube"], row["customer"], row["feature"])] += row[
                    "cost_nanos"
                ]
            got = {
                (r["bucket"], r["cube"], r["customer"], r["feature"]): r["cost_nanos"]
                for r in SpanSlice.objects.filter(org=weeks, grain=grain).values(
                    "bucket", "cube", "customer", "feature", "cost_nanos"
                )
            }
            assert got == dict(want), grain
            assert got

    check()
    assert SpanSlice.objects.filter(org=weeks, grain="w").values("bucket").distinct().count() == 5
    # A late event in the middle of a week and quarter: both are rewritten with it.
    late = make_event("late", timestamp="2026-04-15T14:10:00Z", customer_id="c1", input_tokens=10**6)
    assert acme_api.post_events([late]).status_code == 200
    call_command("rollup", verbosity=0)
    check()
    week = SpanSlice.objects.filter(org=weeks, grain="w", bucket=at("2026-04-13T00:00:00Z"), cube=3)
    assert week.aggregate(n=Sum("events"))["n"] == 7 * 5 + 1


@pytest.mark.parametrize(
    "dims",
    [
        ["customer"],
        ["feature"],
        ["customer", "feature"],
        [],
        ["model"],
        ["customer", "day"],
        ["feature", "day"],
    ],
)
def test_long_windows_read_through_spans_and_equal_the_events_and_the_full_rollup(weeks, dims):
    for start, end in (
        (at("2026-04-03T07:00:00Z"), at("2026-04-28T17:00:00Z")),  # partial days, days, 3 weeks, days
        (at("2026-04-06T00:00:00Z"), at("2026-04-27T00:00:00Z")),  # exactly three weeks
        (at("2026-04-08T05:00:00Z"), at("2026-04-08T20:00:00Z")),  # inside one day: hours and quarters
    ):
        report = usage_report(weeks, start=start, end=end, group_by=dims)
        full = usage_report(weeks, start=start, end=end, group_by=dims, use_slices=False)
        assert report.rows == full.rows, (start, end, dims)
        assert report.totals == full.totals
        if "day" not in dims:
            assert _report_cost(report, dims) == _event_cost(weeks, start, end, dims)
        events = Event.objects.filter(org=weeks, timestamp__gte=start, timestamp__lt=end).count()
        assert report.totals["events"] == events


def test_the_migration_builds_the_spans_of_data_rolled_up_before_it(weeks, globex, globex_api):
    globex_api.post_events([make_event("g1", timestamp="2026-04-09T12:00:00Z")])
    call_command("rollup", verbosity=0)
    built = sorted(SpanSlice.objects.values_list("org_id", "grain", "bucket", "cube", "customer", "events"))
    SpanSlice.objects.all().delete()
    assert not DirtyBucket.objects.exists()

    migration = importlib.import_module("costlens.usage.migrations.0011_span_slices")
    with connection.schema_editor() as editor:
        migration.build_spans(apps, editor)

    again = sorted(SpanSlice.objects.values_list("org_id", "grain", "bucket", "cube", "customer", "events"))
    assert again == built
    assert {r[0] for r in again} == {weeks.pk, globex.pk}
    # Every rolled-up hour is marked for the next run, which leaves the spans as they are.
    assert set(DirtyBucket.objects.values_list("org_id", "hour")) == set(
        HourlyRollup.objects.values_list("org_id", "bucket")
    )
    call_command("rollup", verbosity=0)
    assert (
        sorted(SpanSlice.objects.values_list("org_id", "grain", "bucket", "cube", "customer", "events"))
        == built
    )
    assert timedelta(hours=6) == QUARTER


def test_reports_read_whole_weeks_and_quarters_from_the_spans(weeks):
    from django.db.models import F

    start, end = at("2026-04-05T07:00:00Z"), at("2026-04-27T00:00:00Z")
    before = usage_report(weeks, start=start, end=end, group_by=["customer"]).totals["events"]
    # Spans that disagree with their hours and days (never written so): the report follows them.
    SpanSlice.objects.filter(org=weeks, grain="w", cube=3).update(events=F("events") + 1000)
    SpanSlice.objects.filter(org=weeks, grain="q", cube=3, bucket=at("2026-04-05T12:00:00Z")).update(
        events=F("events") + 7
    )
    after = usage_report(weeks, start=start, end=end, group_by=["customer"]).totals["events"]
    n_weeks = SpanSlice.objects.filter(
        org=weeks, grain="w", cube=3, bucket__gte=start, bucket__lt=end
    ).count()
    n_quarter = SpanSlice.objects.filter(
        org=weeks, grain="q", cube=3, bucket=at("2026-04-05T12:00:00Z")
    ).count()
    assert after - before == 1000 * n_weeks + 7 * n_quarter
    assert n_weeks >= 3 * 4 and n_quarter >= 1
    # A day-keyed report does not read weeks (a week is not one day).
    by_day = usage_report(weeks, start=start, end=end, group_by=["customer", "day"]).totals["events"]
    assert by_day == before + 7 * n_quarter
    call_command("rollup", "--rebuild", verbosity=0)
    assert usage_report(weeks, start=start, end=end, group_by=["customer"]).totals["events"] == before

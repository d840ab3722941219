"""Windows that end inside a UTC day, and the customer x feature slice (rollup cube 4).

usage_report reads a window's trailing partial day from its daily row when nothing is stored after
the window's end that day; these tests check every answer against sums of the raw events.
"""

import importlib
from datetime import timedelta

from django.apps import apps
from django.core.management import call_command
from django.db import connection
from django.db.models import Count, Sum

from costlens.usage.models import DailySlice, DirtyBucket, Event, HourlyRollup, HourlySlice
from costlens.usage.rollup import CUSTOMER_FEATURE_CUBE
from costlens.usage.selectors import usage_report
from tests.conftest import at, make_event

DAY_BEFORE, DAY = at("2026-04-10T00:00:00Z"), at("2026-04-11T00:00:00Z")


def _events_at(hours: list[str], prefix: str) -> list[dict]:
    return [
        make_event(
            f"{prefix}{i}",
            timestamp=f"{hour}:{(7 * i) % 60:02d}:00Z",
            customer_id=f"c{i % 3}",
            feature=f"f{i % 2}",
            input_tokens=100 + i,
        )
        for i, hour in enumerate(hours)
    ]


def _from_events(org, start, end, dims):
    """(events, cost) per group of dims, straight from usage_event."""
    events = Event.objects.filter(org=org, timestamp__gte=start, timestamp__lt=end)
    if not dims:
        total = events.aggregate(n=Count("id"), cost=Sum("cost_nanos"))
        return {(): (total["n"], total["cost"])}
    rows = events.values(*dims).annotate(n=Count("id"), cost=Sum("cost_nanos"))
    return {tuple(r[d] or None for d in dims): (r["n"], r["cost"]) for r in rows}


def _from_report(report, dims):
    return {
        tuple(r[d] for d in dims): (r["events"], int(r["cost_usd"].replace(".", ""))) for r in report.rows
    }


def test_a_window_ending_inside_a_day_counts_only_its_hours_whatever_is_stored_later(acme_api, acme):
    hours = ["2026-04-10T03", "2026-04-10T22", "2026-04-11T01", "2026-04-11T05", "2026-04-11T05"]
    acme_api.post_events(_events_at(hours * 3, "a"))
    call_command("rollup", verbosity=0)
    windows = [
        (DAY_BEFORE, DAY + timedelta(hours=9)),
        (DAY_BEFORE + timedelta(hours=2), DAY + timedelta(hours=6)),
    ]

    def check():
        for start, end in windows:
            for dims in (
                [],
                ["customer"],
                ["feature"],
                ["customer", "feature"],
                ["customer", "day"],
                ["model"],
            ):
                report = usage_report(acme, start=start, end=end, group_by=dims)
                if dims and "day" not in dims:
                    assert _from_report(report, dims) == _from_events(acme, start, end, dims), (
                        start,
                        end,
                        dims,
                    )
                want = _from_events(acme, start, end, [])[()]
                assert (report.totals["events"], int(report.totals["cost_usd"].replace(".", ""))) == want

    check()  # nothing stored after 09:00 on the 11th: the day's row is read
    # A late event later that day (and one the next day) must not leak into windows ending before it.
    acme_api.post_events(_events_at(["2026-04-11T17", "2026-04-11T23", "2026-04-12T02"], "late"))
    call_command("rollup", verbosity=0)
    check()
    late = usage_report(acme, start=DAY, end=DAY + timedelta(hours=9))
    assert late.totals["events"] == 9


def test_customer_by_feature_reads_its_slice_and_agrees_with_the_full_rollup(acme_api, acme):
    acme_api.post_events(_events_at(["2026-04-10T03", "2026-04-10T22", "2026-04-11T05"] * 4, "b"))
    call_command("rollup", verbosity=0)
    assert HourlySlice.objects.filter(org=acme, cube=CUSTOMER_FEATURE_CUBE).exists()
    window = {"start": DAY_BEFORE + timedelta(hours=1), "end": DAY + timedelta(hours=8)}
    for group_by, filters in (
        (["customer", "feature"], {}),
        (["feature"], {"customer": ["c1"]}),
        (["customer"], {"feature": ["f0"]}),
    ):
        fast = usage_report(acme, group_by=group_by, filters=filters, **window)
        full = usage_report(acme, group_by=group_by, filters=filters, use_slices=False, **window)
        assert fast.rows == full.rows, group_by
        assert fast.totals == full.totals
    assert len(usage_report(acme, group_by=["customer", "feature"], **window).rows) == 6


def test_the_migration_builds_the_customer_feature_slice_of_data_rolled_up_before_it(
    acme_api, acme, globex_api, globex
):
    acme_api.post_events(_events_at(["2026-04-10T03", "2026-04-10T22", "2026-04-11T05"] * 4, "c"))
    globex_api.post_events(_events_at(["2026-04-10T04"] * 3, "g"))
    call_command("rollup", verbosity=0)
    built = {
        model: sorted(
            model.objects.filter(cube=CUSTOMER_FEATURE_CUBE).values_list(
                "org_id", "bucket", "customer", "feature", "events", "cost_nanos", "lat_b3"
            )
        )
        for model in (HourlySlice, DailySlice)
    }
    # As a database rolled up before the cube existed: no cube-4 rows.
    HourlySlice.objects.filter(cube=CUSTOMER_FEATURE_CUBE).delete()
    DailySlice.objects.filter(cube=CUSTOMER_FEATURE_CUBE).delete()
    assert not DirtyBucket.objects.exists()

    migration = importlib.import_module("costlens.usage.migrations.0008_customer_feature_cube")
    with connection.schema_editor() as editor:
        migration.build_cube(apps, editor)

    for model, rows in built.items():
        assert rows  # the rollup wrote some, for both orgs
        assert {r[0] for r in rows} == {acme.pk, globex.pk}
        again = model.objects.filter(cube=CUSTOMER_FEATURE_CUBE).values_list(
            "org_id", "bucket", "customer", "feature", "events", "cost_nanos", "lat_b3"
        )
        assert sorted(again) == rows, model.__name__
    # Every rolled-up hour is marked for the next run (which rebuilds it from events).
    hours = set(HourlyRollup.objects.values_list("org_id", "bucket"))
    assert set(DirtyBucket.objects.values_list("org_id", "hour")) == hours
    call_command("rollup", verbosity=0)
    assert not DirtyBucket.objects.exists()
    assert usage_report(acme, start=DAY_BEFORE, end=DAY + timedelta(days=1)).totals["events"] == 12

"""Reports grouped by day and exactly one cube's dimensions read the rows the rollup rendered when it
wrote their day (models.DailyRendered): the same JSON as the slices give, byte for byte and in the
same order, and never a stale one (a day rewritten by code that does not render is read from its
slices until it is rendered again).
"""

import importlib
from datetime import timedelta

import orjson
import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection
from django.db.models import Count
from hypothesis import given, settings
from hypothesis import strategies as st

from costlens.usage.metrics import finalize, render_members, revenue_members
from costlens.usage.models import DailyRendered, DailySlice, Event
from costlens.usage.rollup import CUBES, METRIC_COLUMNS
from costlens.usage.selectors import usage_report
from costlens.usage.services import buckets_mark_dirty
from tests.conftest import at, make_event
from tests.usage.conftest import END, START

DAY9 = at("2026-04-09T00:00:00Z")


def _reports(org, **query):
    """(rendered, plain): the report as the API asks for it, and the one read from the slices."""
    return usage_report(org, rendered=True, **query), usage_report(org, **query)


@pytest.mark.parametrize(
    ("group_by", "filters"),
    [
        (["customer", "day"], {}),
        (["day", "customer"], {}),
        (["feature", "day"], {}),
        (["customer", "feature", "day"], {}),
        (["feature", "customer", "day"], {"customer": ["c1", "c9"]}),
        (["model", "provider", "route", "day"], {"route": ["r-a"]}),
        (["customer", "day"], {"customer": ["c1", "(unattributed)"]}),
        (["customer", "day"], {"feature": ["chat"]}),  # cube 4, grouped by customer only: not rendered
    ],
)
def test_rendered_rows_are_the_slice_rows_byte_for_byte(spread, group_by, filters):
    rendered, plain = _reports(spread, start=START, end=END, group_by=group_by, filters=filters)
    assert plain.rows_json is None
    if "feature" in filters and "feature" not in group_by:
        assert rendered.rows_json is None  # more rows than groups in that cube: summed as usual
        return
    assert rendered.rows_json is not None
    assert rendered.rows == []
    assert rendered.rows_json == orjson.dumps(plain.rows).decode()
    assert rendered.totals == plain.totals
    assert len(plain.rows) > 3


def test_recurring_revenue_is_added_per_day_and_rows_of_revenue_alone_keep_their_place(spread):
    rendered, plain = _reports(spread, start=START, end=END, group_by=["customer", "day"])
    rows = {(r["customer"], r["day"]): r for r in orjson.loads(rendered.rows_json)}
    # $30 over the 8th-10th: $10 on the 9th (a whole, rendered day), plus the events' own revenue.
    c1 = rows[("c1", "2026-04-09")]
    events = Event.objects.filter(
        org=spread, customer="c1", timestamp__gte=DAY9, timestamp__lt=DAY9 + timedelta(1)
    )
    own = sum(e.revenue_nanos for e in events)
    cost = sum(e.cost_nanos for e in events)
    assert c1["revenue_usd"] == f"{(10 * 10**9 + own) // 10**9}.{(10 * 10**9 + own) % 10**9:09d}"
    assert int(c1["margin_usd"].replace(".", "")) == 10 * 10**9 + own - cost
    assert c1["margin_pct"] == round(100 * (10 * 10**9 + own - cost) / (10 * 10**9 + own), 4)
    # c9 has $5 of revenue on the 9th and no usage: a row of zeros, ordered with that day's rows.
    assert rows[("c9", "2026-04-09")]["revenue_usd"] == "5.000000000"
    assert rows[("c9", "2026-04-09")]["events"] == 0
    assert rendered.rows_json == orjson.dumps(plain.rows).decode()


def test_a_window_of_whole_days_and_a_trailing_day_read_from_its_rendered_row(spread, acme_api):
    events = [make_event(f"d12-{i}", timestamp="2026-04-12T01:30:00Z") for i in range(3)]
    assert acme_api.post_events(events).status_code == 200
    call_command("rollup", verbosity=0)
    for start, end in (
        (at("2026-04-07T00:00:00Z"), at("2026-04-12T00:00:00Z")),  # whole days only
        (START, at("2026-04-12T03:00:00Z")),  # the 12th: nothing stored after 03:00, its daily row
    ):
        rendered, plain = _reports(spread, start=start, end=end, group_by=["customer", "day"])
        assert rendered.rows_json is not None
        assert rendered.rows_json == orjson.dumps(plain.rows).decode()
        assert rendered.totals == plain.totals
    day12 = [r for r in orjson.loads(rendered.rows_json) if r["day"] == "2026-04-12"]
    assert sum(r["events"] for r in day12) == 3
    # A late event at 10:00 on the 12th: the window up to 03:00 must not count it.
    assert acme_api.post_events([make_event("d12-late", timestamp="2026-04-12T10:00:00Z")]).status_code == 200
    call_command("rollup", verbosity=0)
    rendered, plain = _reports(
        spread, start=START, end=at("2026-04-12T03:00:00Z"), group_by=["customer", "day"]
    )
    assert rendered.rows_json == orjson.dumps(plain.rows).decode()
    day12 = [r for r in orjson.loads(rendered.rows_json) if r["day"] == "2026-04-12"]
    assert sum(r["events"] for r in day12) == 3


def test_the_rollup_renders_every_daily_slice_row_in_the_same_transaction(spread, globex, globex_api):
    globex_api.post_events([make_event("g1", customer_id="gx", timestamp="2026-04-09T12:00:00Z")])
    call_command("rollup", verbosity=0)
    slices = {
        (r["org_id"], r["bucket"], r["cube"]): (r["n"], r["txid"])
        for r in DailySlice.objects.values("org_id", "bucket", "cube", "txid").annotate(n=Count("id"))
    }
    rendered = {
        (r["org_id"], r["bucket"], r["cube"]): (r["n"], r["txid"])
        for r in DailyRendered.objects.values("org_id", "bucket", "cube", "txid").annotate(n=Count("id"))
    }
    assert rendered == slices
    assert {org for org, _, _ in rendered} == {spread.pk, globex.pk}
    assert {cube for _, _, cube in rendered} == set(CUBES)
    # Ranks are the rows' places in their cube's day: by cost, largest first.
    for org, bucket, cube in rendered:
        ranked = DailyRendered.objects.filter(org_id=org, bucket=bucket, cube=cube).order_by("rank")
        assert [r.rank for r in ranked] == list(range(len(ranked)))
        costs = [r.cost_nanos for r in ranked]
        assert costs == sorted(costs, reverse=True)


def test_a_day_rewritten_without_rendering_is_read_from_its_slices_until_rendered_again(spread):
    query = {"start": START, "end": END, "group_by": ["customer", "day"]}
    before = usage_report(spread, rendered=True, **query)
    assert before.rows_json is not None
    # As a worker of the previous release rewrites the 9th: new sums, no txid, rendered rows untouched.
    DailySlice.objects.filter(org=spread, bucket=DAY9, cube=3, customer="c1").update(events=999, txid=None)
    DailySlice.objects.filter(org=spread, bucket=DAY9).update(txid=None)
    stale = usage_report(spread, rendered=True, **query)
    assert stale.rows_json is None  # not read from the rendered rows
    assert next(r for r in stale.rows if r["customer"] == "c1" and r["day"] == "2026-04-09")["events"] == 999
    # Rendered rows missing for a day (and slices stamped): also read from the slices.
    call_command("rollup", "--rebuild", verbosity=0)
    DailyRendered.objects.filter(org=spread, bucket=DAY9).delete()
    assert usage_report(spread, rendered=True, **query).rows_json is None
    # The next rollup of that day renders it again.
    buckets_mark_dirty(org_id=spread.pk, hours=[DAY9 + timedelta(hours=3)])
    call_command("rollup", verbosity=0)
    again = usage_report(spread, rendered=True, **query)
    assert again.rows_json == before.rows_json


def test_the_migration_renders_the_days_rolled_up_before_it(spread, globex, globex_api):
    globex_api.post_events([make_event("g1", customer_id="gx", timestamp="2026-04-09T12:00:00Z")])
    call_command("rollup", verbosity=0)
    query = {"start": START, "end": END, "group_by": ["customer", "day"]}
    want = usage_report(spread, rendered=True, **query).rows_json
    # As a database rolled up before rendering existed.
    DailyRendered.objects.all().delete()
    DailySlice.objects.update(txid=None)
    assert usage_report(spread, rendered=True, **query).rows_json is None

    migration = importlib.import_module("costlens.usage.migrations.0010_daily_rendered")
    with connection.schema_editor() as editor:
        migration.render_existing_days(apps, editor)

    assert usage_report(spread, rendered=True, **query).rows_json == want
    assert DailyRendered.objects.filter(org=globex).count() == DailySlice.objects.filter(org=globex).count()


def test_the_api_sends_the_rendered_rows(spread, acme_api):
    window = {"start": "2026-04-08T07:00:00Z", "end": "2026-04-11T05:00:00Z"}
    r = acme_api.get("/api/v1/usage", {**window, "group_by": "customer,day"})
    assert r.status_code == 200
    plain = usage_report(spread, start=START, end=END, group_by=["customer", "day"])
    assert b'"rows":' + orjson.dumps(plain.rows) + b',"totals":' in r.content
    body = orjson.loads(r.content)
    assert body["totals"] == plain.totals
    assert body["start"] == "2026-04-08T07:00:00Z"


_amount = st.one_of(st.just(0), st.integers(0, 10**7), st.integers(-(10**15), 10**15))


@st.composite
def _sums(draw):
    sums = {c: draw(st.integers(0, 10**6)) for c in METRIC_COLUMNS}
    for c in ("cost_nanos", "shadow_cost_nanos", "wasted_cost_nanos", "baseline_cost_nanos", "revenue_nanos"):
        sums[c] = draw(_amount)
    sums["quality_sum"] = draw(st.floats(0, 10**6, allow_nan=False))
    sums["latency_sum"] = draw(st.floats(0, 10**9, allow_nan=False))
    return sums


@settings(max_examples=300, deadline=None)
@given(_sums(), _amount)
def test_rendered_members_are_the_finalized_row(sums, recurring):
    head, tail = render_members([sums[c] for c in METRIC_COLUMNS])
    members = revenue_members(sums["revenue_nanos"] + recurring, sums["cost_nanos"])
    want = finalize({**sums, "recurring_revenue_nanos": recurring})
    assert "{" + ",".join((head, members, tail)) + "}" == orjson.dumps(want).decode()


def test_rendered_rows_never_cross_organizations(spread, globex, globex_api):
    assert (
        globex_api.post_events(
            [make_event("g1", customer_id="c1", timestamp="2026-04-09T12:00:00Z")]
        ).status_code
        == 200
    )
    call_command("rollup", verbosity=0)
    query = {"start": START, "end": END, "group_by": ["customer", "day"]}
    theirs = usage_report(globex, rendered=True, **query)
    assert theirs.rows_json is not None
    assert [(r["customer"], r["day"], r["events"]) for r in orjson.loads(theirs.rows_json)] == [
        ("c1", "2026-04-09", 1)
    ]
    assert theirs.totals["events"] == 1
    ours = usage_report(spread, rendered=True, **query)
    assert ours.rows_json == orjson.dumps(usage_report(spread, **query).rows).decode()
    assert (
        usage_report(spread, rendered=True, **query).totals["events"]
        == Event.objects.filter(org=spread, timestamp__gte=START, timestamp__lt=END).count()
    )


def test_an_organization_without_usage_gets_no_rows(globex):
    report = usage_report(globex, rendered=True, start=START, end=END, group_by=["customer", "day"])
    assert report.rows_json == "[]"
    assert report.totals["events"] == 0

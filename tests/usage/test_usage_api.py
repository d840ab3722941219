"""GET /api/v1/usage and /api/v1/usage.csv (API.md §4) through the real stack: ingest, rollup, read."""

import csv
import io

import pytest
import time_machine
from django.core.management import call_command

from costlens.usage.metrics import METRIC_NAMES
from tests.conftest import at, make_event

WINDOW = {"start": "2026-04-10T00:00:00Z", "end": "2026-04-12T00:00:00Z"}


@pytest.fixture
def acme_usage(acme_api):
    """Three customers, two models, two routes, a fallback chain, over two days."""
    events = [
        make_event(1, customer_id="c1", feature="chat", route="r-main", timestamp="2026-04-10T10:15:00Z"),
        make_event(
            2,
            customer_id="c1",
            feature="chat",
            route="r-main",
            model="claude-haiku-4-5",
            timestamp="2026-04-10T11:59:59Z",
        ),
        make_event(
            3,
            customer_id="c2",
            feature="search",
            route="r-cheap",
            model="claude-haiku-4-5",
            request_id="req-3",
            timestamp="2026-04-10T12:00:00Z",
        ),
        make_event(
            4,
            customer_id="c2",
            feature="search",
            route="r-cheap",
            request_id="req-3",
            attempt=2,
            fallback_reason="low_confidence",
            timestamp="2026-04-10T12:00:03Z",
        ),
        make_event(5, feature="chat", timestamp="2026-04-11T23:30:00Z", status="error", latency_ms=420),
    ]
    assert acme_api.post_events(events).status_code == 200
    call_command("rollup")
    return acme_api


def get_usage(client, **params):
    return client.get("/api/v1/usage", {**WINDOW, **params})


def test_no_group_by_answers_one_row_equal_to_totals(acme_usage):
    body = get_usage(acme_usage).json()
    assert set(body) == {"as_of", "start", "end", "rows", "totals"}
    assert body["start"] == "2026-04-10T00:00:00Z"
    assert body["end"] == "2026-04-12T00:00:00Z"
    assert body["rows"] == [body["totals"]]
    totals = body["totals"]
    assert list(totals) == list(METRIC_NAMES)
    assert totals["events"] == 5
    assert totals["requests"] == 4
    assert totals["fallbacks"] == 1
    assert totals["superseded"] == 1
    assert totals["errors"] == 1
    assert totals["fallback_rate"] == 0.25
    assert totals["error_rate"] == 0.2
    # 3 Sonnet calls of 500/200 tokens at $3/$15 ($0.0045 each) + 2 Haiku at $1/$5 ($0.0015 each);
    # the Haiku attempt of req-3 was superseded by its Sonnet fallback: wasted.
    assert totals["cost_usd"] == "0.016500000"
    assert totals["wasted_cost_usd"] == "0.001500000"
    assert isinstance(totals["events"], int)
    assert totals["revenue_usd"] == "0.000000000"
    assert totals["margin_pct"] is None  # no revenue: a null percent, never 0
    assert totals["avg_quality"] is None
    assert totals["avg_latency_ms"] == 420


def test_group_by_customer_and_day_rows_add_up_to_totals(acme_usage):
    body = get_usage(acme_usage, group_by="customer,day").json()
    keys = {(r["customer"], r["day"]) for r in body["rows"]}
    assert keys == {("c1", "2026-04-10"), ("c2", "2026-04-10"), ("(unattributed)", "2026-04-11")}
    assert list(body["rows"][0])[:2] == ["customer", "day"]
    assert sum(r["events"] for r in body["rows"]) == body["totals"]["events"]
    # rows of a time grouping come in time order
    assert [r["day"] for r in body["rows"]] == sorted(r["day"] for r in body["rows"])


def test_missing_dimensions_are_null_groups(acme_usage):
    rows = get_usage(acme_usage, group_by="route").json()["rows"]
    by_route = {r["route"]: r["events"] for r in rows}
    assert by_route == {"r-main": 2, "r-cheap": 2, None: 1}


def test_group_by_hour_uses_rfc3339_utc_buckets(acme_usage):
    rows = get_usage(acme_usage, group_by="hour").json()["rows"]
    assert [(r["hour"], r["events"]) for r in rows] == [
        ("2026-04-10T10:00:00Z", 1),
        ("2026-04-10T11:00:00Z", 1),
        ("2026-04-10T12:00:00Z", 2),
        ("2026-04-11T23:00:00Z", 1),
    ]


def test_filters_are_repeatable_and_combine(acme_usage):
    body = acme_usage.get(
        "/api/v1/usage",
        {**WINDOW, "customer": ["c1", "c2"], "model": "claude-haiku-4-5", "group_by": "model"},
    ).json()
    assert body["totals"]["events"] == 2
    assert [r["model"] for r in body["rows"]] == ["claude-haiku-4-5"]


def test_unknown_filter_values_give_empty_rows(acme_usage):
    body = get_usage(acme_usage, customer="nobody", group_by="customer").json()
    assert body["rows"] == []
    assert body["totals"]["events"] == 0
    assert body["totals"]["cost_usd"] == "0.000000000"
    assert body["totals"]["fallback_rate"] is None
    # without group_by there is still exactly one row, equal to the (zero) totals
    assert get_usage(acme_usage, customer="nobody").json()["rows"] == [body["totals"]]


def test_window_is_half_open_and_truncated_to_the_hour(acme_usage):
    body = acme_usage.get(
        "/api/v1/usage", {"start": "2026-04-10T11:59:00Z", "end": "2026-04-10T12:30:00+00:00"}
    ).json()
    # start 11:59 → 11:00 (event 2 at 11:59:59 is in), end 12:30 → 12:00 (events at 12:00 are out)
    assert (body["start"], body["end"]) == ("2026-04-10T11:00:00Z", "2026-04-10T12:00:00Z")
    assert body["totals"]["events"] == 1


def test_offsets_are_converted_to_utc_even_unencoded(acme_usage):
    # "+02:00" sent without URL-encoding arrives as a space
    response = acme_usage.get("/api/v1/usage?start=2026-04-10T14:00:00+02:00&end=2026-04-10T15:00:00%2B02:00")
    assert response.status_code == 200
    body = response.json()
    assert (body["start"], body["end"]) == ("2026-04-10T12:00:00Z", "2026-04-10T13:00:00Z")
    assert body["totals"]["events"] == 2


def test_default_window_is_the_last_seven_days(acme_api):
    with time_machine.travel(at("2026-04-20T15:42:00Z"), tick=False):
        acme_api.post_events([make_event("old", timestamp="2026-04-13T14:59:00Z")])
        acme_api.post_events([make_event("new", timestamp="2026-04-20T15:40:00Z")])
        call_command("rollup")
        body = acme_api.get("/api/v1/usage").json()
    assert (body["start"], body["end"]) == ("2026-04-13T16:00:00Z", "2026-04-20T16:00:00Z")
    assert body["totals"]["events"] == 1


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"start": "yesterday"}, "start"),
        ({"start": "2026-04-10T12:00:00"}, "start"),  # no offset: ambiguous
        ({"end": "2026-13-45T00:00:00Z"}, "end"),
        ({"end": "99999-01-01T00:00:00Z"}, "end"),
        ({"start": "2026-04-12T00:00:00Z", "end": "2026-04-10T00:00:00Z"}, "end"),
        ({"start": "2026-04-10T12:10:00Z", "end": "2026-04-10T12:50:00Z"}, "end"),  # empty after truncation
        ({"start": "2020-01-01T00:00:00Z", "end": "2026-01-01T00:00:00Z"}, "end"),
        ({"group_by": "customer,colour"}, "group_by"),
        ({"group_by": "hour", "start": "2026-01-01T00:00:00Z", "end": "2026-12-01T00:00:00Z"}, "group_by"),
        ({"custmer": "c1"}, "custmer"),
    ],
)
def test_invalid_queries_are_400_with_field_errors(acme_api, params, field):
    response = acme_api.get("/api/v1/usage", params)
    assert response.status_code == 400
    assert field in response.json()
    csv_response = acme_api.get("/api/v1/usage.csv", params)
    assert csv_response.status_code == 400


def test_a_key_is_required(client, acme):
    assert client.get("/api/v1/usage").status_code == 401
    assert client.get("/api/v1/usage.csv").status_code == 401


def test_other_orgs_see_none_of_acmes_usage(acme_usage, globex_api):
    body = globex_api.get("/api/v1/usage", {**WINDOW, "group_by": "customer"}).json()
    assert body["rows"] == []
    assert body["totals"]["events"] == 0
    assert globex_api.get("/api/v1/usage", {**WINDOW, "customer": "c1"}).json()["totals"]["events"] == 0


def test_csv_has_the_json_rows_with_the_same_column_names(acme_usage):
    params = {**WINDOW, "group_by": "customer,model"}
    body = acme_usage.get("/api/v1/usage", params).json()
    response = acme_usage.get("/api/v1/usage.csv", params)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == 'attachment; filename="usage_20260410T0000Z_20260412T0000Z.csv"'
    reader = csv.DictReader(io.StringIO(response.content.decode()))
    assert reader.fieldnames == list(body["rows"][0])
    rows = list(reader)
    assert len(rows) == len(body["rows"])
    for got, expected in zip(rows, body["rows"]):
        assert got == {k: "" if v is None else str(v) for k, v in expected.items()}


def test_csv_without_rows_still_has_the_header(acme_api):
    response = acme_api.get("/api/v1/usage.csv", {**WINDOW, "group_by": "feature"})
    lines = response.content.decode().splitlines()
    assert lines == [",".join(["feature", *METRIC_NAMES])]


def test_as_of_is_the_rollup_watermark(acme_api):
    acme_api.post_events([make_event(1, timestamp="2026-04-10T10:00:00Z")])
    before = acme_api.get("/api/v1/usage", WINDOW).json()
    # Ingested, not rolled up yet: no watermark, and the event is not counted yet.
    assert before["as_of"] is None
    assert before["totals"]["events"] == 0
    call_command("rollup")
    after = acme_api.get("/api/v1/usage", WINDOW).json()
    assert after["as_of"] is not None
    assert after["totals"]["events"] == 1
    acme_api.post_events([make_event(2, timestamp="2026-04-10T10:00:00Z")])
    pending = acme_api.get("/api/v1/usage", WINDOW).json()
    # A new dirty bucket: as_of stays at the last completed rollup, which is before this event.
    assert pending["as_of"] <= after["as_of"]
    assert pending["totals"]["events"] == 1


def test_usage_is_in_the_openapi_schema(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").content.decode()
    for needle in ("/api/v1/usage", "/api/v1/usage.csv", "group_by", "/api/v1/settings"):
        assert needle in schema

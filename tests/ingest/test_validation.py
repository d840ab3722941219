"""Every rejection rule of API.md §1: the bad event is answered with its index, its event_id and
the field at fault; the rest of the batch is stored."""

from datetime import UTC, datetime, timedelta

import pytest

from costlens.usage.models import Event
from tests.conftest import make_event

MISSING = object()


def ev(event_id: str, **overrides) -> dict:
    """A valid event with exactly this event_id."""
    return make_event(0, event_id=event_id, **overrides)


def _event_with(field: str, value) -> dict:
    event = ev("bad")
    if value is MISSING:
        del event[field]
    else:
        event[field] = value
    return event


def _post_between_valid_ones(client, bad: dict):
    return client.post_events([ev("ok-0"), bad, ev("ok-2")])


REJECTED = [
    # required
    ("event_id", MISSING),
    ("timestamp", MISSING),
    ("model", MISSING),
    ("input_tokens", MISSING),
    ("output_tokens", MISSING),
    ("event_id", None),
    ("model", None),
    # types
    ("event_id", 123),
    ("model", ["claude"]),
    ("provider", 5),
    ("input_tokens", "500"),
    ("output_tokens", 2.5),
    ("cache_read_tokens", "1"),
    ("cache_write_tokens", [1]),
    ("reasoning_tokens", {"n": 1}),
    ("customer_id", {}),
    ("feature", 1),
    ("route", True),
    ("request_id", 7),
    ("attempt", "2"),
    ("fallback_reason", 3),
    ("latency_ms", "fast"),
    ("router_confidence", "high"),
    ("quality_score", [1]),
    ("shadow", "yes"),
    ("cost_usd", "abc"),
    ("cost_usd", [1]),
    ("revenue_usd", {"usd": 1}),
    ("metadata", "x"),
    ("metadata", [1, 2]),
    # booleans are not numbers, numbers are not booleans
    ("input_tokens", True),
    ("output_tokens", False),
    ("attempt", True),
    ("latency_ms", True),
    ("quality_score", False),
    ("router_confidence", True),
    ("cost_usd", True),
    ("revenue_usd", False),
    ("shadow", 1),
    ("shadow", 0),
    # ranges
    ("input_tokens", -1),
    ("output_tokens", -5),
    ("cache_read_tokens", -1),
    ("reasoning_tokens", -1),
    ("attempt", 0),
    ("attempt", -3),
    ("latency_ms", -1),
    ("router_confidence", 1.5),
    ("router_confidence", -0.1),
    ("quality_score", 1.01),
    ("quality_score", -0.5),
    ("cost_usd", "-0.01"),
    ("revenue_usd", -1),
    # huge numbers
    ("input_tokens", 10**13),
    ("output_tokens", 2**63),
    ("input_tokens", 1e300),
    ("attempt", 10**6),
    ("latency_ms", 1e300),
    ("cost_usd", "1e30"),
    ("cost_usd", 1e300),
    ("revenue_usd", "9" * 60),
    ("cost_usd", "NaN"),
    ("cost_usd", "Infinity"),
    # lengths
    ("event_id", ""),
    ("event_id", "e" * 129),
    ("model", ""),
    ("model", "m" * 201),
    ("provider", "p" * 65),
    ("customer_id", "c" * 201),
    ("feature", "f" * 201),
    ("route", "r" * 201),
    ("request_id", "q" * 129),
    ("fallback_reason", "x" * 65),
    # timestamps
    ("timestamp", "2026-04-10T12:00:00"),  # no offset
    ("timestamp", "2026-04-10"),
    ("timestamp", "2026-04-10 12:00:00Z"),
    ("timestamp", "yesterday"),
    ("timestamp", "2026-13-40T99:00:00Z"),
    ("timestamp", 1775822400),
    ("timestamp", "2" * 100),
    ("timestamp", "0001-01-01T00:00:00+01:00"),  # out of range once in UTC
    # status
    ("status", "failed"),
    ("status", "SUCCESS"),
    ("status", 1),
    # metadata
    ("metadata", {"a": {"b": 1}}),
    ("metadata", {"a": [1]}),
    ("metadata", {"a": None}),
    ("metadata", {"k": "v" * 4100}),
    # NUL characters (PostgreSQL text cannot hold them)
    ("event_id", "a\x00b"),
    ("model", "claude\x00"),
    ("customer_id", "c\x00"),
    ("feature", "\x00"),
    ("metadata", {"k": "v\x00"}),
    ("metadata", {"k\x00": "v"}),
]


@pytest.mark.parametrize(("field", "value"), REJECTED, ids=[f"{f}={str(v)[:20]!r}" for f, v in REJECTED])
def test_a_bad_field_is_named_and_the_rest_of_the_batch_is_stored(acme_api, acme, field, value):
    bad = _event_with(field, value)
    response = _post_between_valid_ones(acme_api, bad)

    assert response.status_code == 207, response.content
    body = response.json()
    assert (body["accepted"], body["duplicates"], body["rejected"]) == (2, 0, 1)
    [error] = body["errors"]
    assert error["index"] == 1
    expected_id = bad.get("event_id") if isinstance(bad.get("event_id"), str) else None
    assert error["event_id"] == expected_id
    assert field in error["errors"], error
    assert all(isinstance(m, str) and m for m in error["errors"][field])
    assert set(Event.objects.filter(org=acme).values_list("event_id", flat=True)) == {"ok-0", "ok-2"}


def test_a_missing_field_says_it_is_required(acme_api):
    body = _post_between_valid_ones(acme_api, _event_with("model", MISSING)).json()
    assert body["errors"][0]["errors"] == {"model": ["is required"]}


def test_an_unknown_top_level_field_is_rejected_by_name(acme_api, acme):
    bad = ev("typo", costusd="0.10")
    body = _post_between_valid_ones(acme_api, bad).json()
    assert body["errors"] == [
        {
            "index": 1,
            "event_id": "typo",
            "errors": {"costusd": ["unknown field (put free-form keys in metadata)"]},
        }
    ]


def test_cache_tokens_beyond_input_and_reasoning_beyond_output_are_rejected(acme_api):
    body = acme_api.post_events(
        [
            make_event(1, input_tokens=100, cache_read_tokens=60, cache_write_tokens=41),
            make_event(2, output_tokens=100, reasoning_tokens=101),
            make_event(3, input_tokens=100, cache_read_tokens=60, cache_write_tokens=40),
            make_event(4, output_tokens=100, reasoning_tokens=100),
        ]
    ).json()
    assert body["accepted"] == 2
    assert [(e["index"], list(e["errors"])) for e in body["errors"]] == [
        (0, ["cache_read_tokens"]),
        (1, ["reasoning_tokens"]),
    ]


def test_a_timestamp_more_than_five_minutes_ahead_is_rejected(acme_api, acme):
    now = datetime.now(UTC)
    body = acme_api.post_events(
        [
            ev("soon", timestamp=(now + timedelta(minutes=4)).isoformat()),
            ev("later", timestamp=(now + timedelta(minutes=6)).isoformat()),
        ]
    ).json()
    assert body["accepted"] == 1
    assert body["errors"] == [
        {
            "index": 1,
            "event_id": "later",
            "errors": {"timestamp": ["must not be more than 5 minutes in the future"]},
        }
    ]


def test_non_object_events_are_rejected_at_their_index(acme_api):
    body = acme_api.post_events([5, make_event(1), "x", None, [], make_event(2)]).json()
    assert body["accepted"] == 2
    assert [(e["index"], e["event_id"], list(e["errors"])) for e in body["errors"]] == [
        (0, None, ["event"]),
        (2, None, ["event"]),
        (3, None, ["event"]),
        (4, None, ["event"]),
    ]


def test_several_problems_in_one_event_are_all_reported(acme_api):
    bad = {"event_id": "multi", "timestamp": "nope", "input_tokens": -1, "output_tokens": "2", "extra": 1}
    [error] = acme_api.post_events([bad]).json()["errors"]
    assert set(error["errors"]) == {"timestamp", "model", "input_tokens", "output_tokens", "extra"}


def test_a_mixed_batch_stores_only_the_valid_events_with_correct_counts(acme_api, acme):
    batch = [
        ev("a"),
        ev("b", input_tokens=-1),
        ev("c", customer_id="cust_9"),
        ev("d", timestamp="2026-04-10T12:00:00"),
        ev("a", model="claude-haiku-4-5"),  # a repeat of index 0: a duplicate, not an error
        ev("e", status="error", output_tokens=0),
    ]
    response = acme_api.post_events(batch)
    assert response.status_code == 207
    body = response.json()
    assert (body["accepted"], body["duplicates"], body["rejected"]) == (3, 1, 2)
    assert [(e["index"], e["event_id"]) for e in body["errors"]] == [(1, "b"), (3, "d")]
    assert set(Event.objects.filter(org=acme).values_list("event_id", flat=True)) == {"a", "c", "e"}
    assert Event.objects.get(org=acme, event_id="a").model == "claude-sonnet-4-6"


def test_a_batch_where_every_event_is_invalid_is_207_with_nothing_stored(acme_api, acme):
    response = acme_api.post_events([make_event(1, model=""), make_event(2, attempt=0)])
    assert response.status_code == 207
    assert response.json()["accepted"] == 0
    assert response.json()["rejected"] == 2
    assert not Event.objects.filter(org=acme).exists()


def test_values_at_the_limits_are_accepted_and_stored_as_sent(acme_api, acme):
    metadata = {"k": "v" * (4096 - len('{"k":""}'))}  # exactly 4 KB serialized
    event = ev(
        "e" * 128,
        timestamp="2026-04-10T17:30:00.123456+05:30",
        model="m" * 200,
        provider="p" * 64,
        input_tokens=10**12,
        output_tokens=0,
        cache_read_tokens=4 * 10**11,
        cache_write_tokens=6 * 10**11,
        customer_id="c" * 200,
        feature="f" * 200,
        route="r" * 200,
        request_id="q" * 128,
        attempt=1000,
        fallback_reason="x" * 64,
        status="error",
        latency_ms=0,
        router_confidence=1,
        quality_score=0.0,
        shadow=True,
        cost_usd="1000000000",
        revenue_usd=0.1,
        metadata=metadata,
    )
    response = acme_api.post_events([event])
    assert response.status_code == 200, response.content
    stored = Event.objects.get(org=acme)
    assert stored.event_id == "e" * 128
    assert stored.timestamp == datetime(2026, 4, 10, 12, 0, 0, 123456, tzinfo=UTC)
    assert stored.model_raw == "m" * 200
    assert (stored.input_tokens, stored.cache_read_tokens, stored.cache_write_tokens) == (
        10**12,
        4 * 10**11,
        6 * 10**11,
    )
    assert stored.is_error and stored.shadow
    assert stored.attempt == 1000
    assert stored.cost_nanos == 10**18
    assert stored.client_cost_nanos == 10**18
    assert stored.revenue_nanos == 100_000_000
    assert stored.metadata == metadata
    assert (stored.latency_ms, stored.router_confidence, stored.quality_score) == (0.0, 1.0, 0.0)


def test_null_optional_fields_take_their_defaults(acme_api, acme):
    event = ev(
        "n",
        provider=None,
        cache_read_tokens=None,
        customer_id=None,
        request_id=None,
        attempt=None,
        status=None,
        shadow=None,
        latency_ms=None,
        cost_usd=None,
        metadata=None,
    )
    assert acme_api.post_events([event]).status_code == 200
    stored = Event.objects.get(org=acme)
    assert (stored.customer, stored.request_id, stored.attempt, stored.is_error, stored.shadow) == (
        "(unattributed)",
        "n",
        1,
        False,
        False,
    )
    assert stored.client_cost_nanos is None and stored.cost_nanos == 4_500_000


def test_any_age_is_accepted_for_backfill(acme_api, acme):
    assert acme_api.post_events([ev("old", timestamp="2001-01-01T00:00:00Z")]).status_code == 200
    assert Event.objects.get(org=acme).unpriced  # no price in force in 2001: stored, cost 0, unpriced

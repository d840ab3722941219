"""Never a 500: whatever a client sends, the answer is one of the documented codes."""

import json
from datetime import UTC, datetime

import pytest
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.schema import FIELDS, FUTURE_TOLERANCE, decode_valid_batch, fast_validate, validate_event
from tests.conftest import make_event

DOCUMENTED = {200, 207, 400, 413, 415}
FUZZ = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**400), max_value=10**400)
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()  # NaN and ±Infinity are written as the non-standard tokens NaN / Infinity
    | st.text(max_size=300)
    | st.sampled_from(
        ["", "\x00", "2026-04-10T12:00:00Z", "2026-04-10T12:00:00", "success", "error", "1e999"]
    )
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=20), inner, max_size=5),
)
field_names = st.sampled_from(sorted(FIELDS)) | st.text(max_size=20)


@st.composite
def mutated_events(draw):
    """A valid event with a few fields replaced, removed or added: close to real mistakes."""
    event = make_event(draw(st.integers(0, 50)))
    for _ in range(draw(st.integers(0, 4))):
        name = draw(field_names)
        if draw(st.booleans()) and name in event:
            del event[name]
        else:
            event[name] = draw(json_values)
    return event


def _dumps(value) -> bytes:
    return json.dumps(value, allow_nan=True).encode("utf-8", "surrogatepass")


@pytest.fixture
def unlimited():
    with override_settings(INGEST_RATE_LIMIT_PER_MINUTE=0):
        yield


def _post(client, body: bytes, **extra):
    return client.generic("POST", "/api/v1/events", body, content_type="application/json", **extra)


@FUZZ
@given(body=json_values)
def test_any_json_value_as_the_body(acme_api, unlimited, body):
    assert _post(acme_api, _dumps(body)).status_code in DOCUMENTED


@FUZZ
@given(events=st.lists(mutated_events() | json_values, min_size=1, max_size=20))
def test_batches_of_mutated_events(acme_api, unlimited, events):
    response = _post(acme_api, _dumps({"events": events}))
    assert response.status_code in DOCUMENTED
    if response.status_code in (200, 207):
        body = response.json()
        assert body["accepted"] + body["duplicates"] + body["rejected"] == len(events)
        assert [e["index"] for e in body["errors"]] == sorted(e["index"] for e in body["errors"])


@FUZZ
@given(body=st.binary(max_size=2000))
def test_random_bytes(acme_api, unlimited, body):
    assert _post(acme_api, body).status_code in DOCUMENTED
    assert _post(acme_api, body, HTTP_CONTENT_ENCODING="gzip").status_code in DOCUMENTED


@FUZZ
@given(
    prefix=st.sampled_from(
        [b'{"events": [{"event_id": "', b'{"events": [{"model": "', b'{"', b'{"events": ["']
    ),
    junk=st.binary(min_size=1, max_size=40),
)
def test_invalid_utf8_and_escapes_inside_strings(acme_api, unlimited, prefix, junk):
    body = prefix + junk + b'"}]}'
    assert _post(acme_api, body).status_code in DOCUMENTED
    escaped = prefix + b"\\ud800" + junk.hex().encode() + b'"}]}'
    assert _post(acme_api, escaped).status_code in DOCUMENTED


@FUZZ
@given(depth=st.integers(1, 5000), kind=st.sampled_from(["list", "object"]))
def test_deep_nesting(acme_api, unlimited, depth, kind):
    nested = b"[" * depth + b"]" * depth if kind == "list" else b'{"a":' * depth + b"1" + b"}" * depth
    body = b'{"events": [' + make_event_json(metadata=nested) + b"]}"
    assert _post(acme_api, body).status_code in DOCUMENTED


def make_event_json(**raw_fields: bytes) -> bytes:
    text = json.dumps(make_event(1))[:-1]
    return (text + "".join(f', "{k}": {v.decode()}' for k, v in raw_fields.items()) + "}").encode()


@pytest.mark.parametrize(
    "token",
    [
        b"NaN",
        b"-NaN",
        b"Infinity",
        b"-Infinity",
        b"1e400",
        b"-1e400",
        b"1" + b"0" * 400,
        b"1e-400",
        b"0x10",
        b"01",
    ],
)
@pytest.mark.parametrize("field", ["input_tokens", "latency_ms", "cost_usd", "quality_score"])
def test_number_tokens_json_cannot_hold(acme_api, unlimited, token, field):
    response = _post(acme_api, b'{"events": [' + make_event_json(**{field: token}) + b"]}")
    assert response.status_code in DOCUMENTED


# The fast path must agree with the careful validator -----------------------------------------------

NOW = datetime(2026, 4, 10, 12, 0, tzinfo=UTC)


@settings(max_examples=800, deadline=None)
@given(raw=mutated_events() | json_values)
def test_the_fast_path_accepts_only_what_the_validator_accepts_with_the_same_values(raw):
    event, errors = validate_event(raw, NOW)  # never raises
    assert (event is None) != (errors is None)
    fast = fast_validate(raw, NOW + FUTURE_TOLERANCE)
    if fast is not None:
        assert fast == event


def test_the_fast_path_takes_the_common_event():
    assert fast_validate(make_event(1, customer_id="c", latency_ms=12.5, metadata={"a": 1}), NOW) is not None


@settings(max_examples=600, deadline=None)
@given(events=st.lists(mutated_events() | json_values, min_size=0, max_size=6), extra=st.booleans())
def test_the_whole_batch_fast_path_takes_only_all_valid_batches_with_the_same_values(events, extra):
    envelope = {"events": events, "more": 1} if extra else {"events": events}
    body = _dumps(envelope)
    fast = decode_valid_batch(body, NOW + FUTURE_TOLERANCE, max_events=1000)
    if fast is None:
        return
    # Taken: the body must be what parse_envelope accepts, and every event valid, equal values.
    parsed = json.loads(body)
    assert set(parsed) == {"events"} and 0 < len(parsed["events"]) <= 1000
    careful = [validate_event(raw, NOW) for raw in parsed["events"]]
    assert all(errors is None for _, errors in careful)
    assert fast == [event for event, _ in careful]


def test_the_whole_batch_fast_path_takes_the_common_batch_and_leaves_any_other_to_the_validators():
    good = [
        make_event(1, customer_id="c", latency_ms=12.5, metadata={"a": 1}, cost_usd="0.5"),
        make_event(2, attempt=2, request_id="r", status="error", shadow=False),
    ]
    fast = decode_valid_batch(_dumps({"events": good}), NOW, max_events=1000)
    assert fast == [validate_event(raw, NOW)[0] for raw in good]
    for bad in (
        [*good, make_event(3, input_tokens=-1)],
        [*good, make_event(3, metadata={"a": "\x00"})],
        [*good, make_event(3, unknown=1)],
        [*good, make_event(3, timestamp="2026-04-10T12:00:00")],
        good * 600,  # over max_events
    ):
        assert decode_valid_batch(_dumps({"events": bad}), NOW, max_events=1000) is None

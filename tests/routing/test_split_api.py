"""GET /api/v1/routes/{name}/split: shape, shares, PSI vs target and vs the previous window."""

import math

import orjson

from tests.conftest import make_event

WINDOW = "start=2026-04-10T10:00:00Z&end=2026-04-10T13:00:00Z&granularity=hour"


def independent_psi(actual_counts: dict, expected_shares: dict) -> float | None:
    total = sum(actual_counts.values())
    if not total:
        return None
    out = 0.0
    for m in set(actual_counts) | set(expected_shares):
        a = max(actual_counts.get(m, 0) / total, 0.0001)
        e = max(expected_shares.get(m, 0), 0.0001)
        out += (a - e) * math.log(a / e)
    return out


def ev(n, hour, model, **kw):
    return make_event(n, timestamp=f"2026-04-10T{hour}:15:00Z", route="support", model=model, **kw)


def traffic():
    events = []
    # 10:00 — 3 haiku, 1 sonnet requests; 11:00 — 1 haiku, 3 sonnet; 12:00 — nothing.
    for i in range(3):
        events.append(ev(f"a{i}", 10, "claude-haiku-4-5"))
    events.append(ev("a3", 10, "claude-sonnet-4-6"))
    events.append(ev("b0", 11, "claude-haiku-4-5"))
    for i in range(1, 4):
        events.append(ev(f"b{i}", 11, "claude-sonnet-4-6"))
    # Not requests: a fallback attempt (attempt 2) and a shadow call on another model.
    events.append(ev("b0-retry", 11, "claude-opus-4-6", request_id="evt-b0", attempt=2))
    events.append(ev("b0-shadow", 11, "gpt-4o", request_id="evt-b0", shadow=True))
    return events


def test_split_shape_and_psi_against_the_target(acme_api, ingest):
    acme_api.put(
        "/api/v1/routes/support",
        orjson.dumps({"target_split": {"claude-haiku-4-5": 7, "claude-sonnet-4-6": 3}}),
        content_type="application/json",
    )
    ingest(traffic())
    body = acme_api.get(f"/api/v1/routes/support/split?{WINDOW}").json()
    target = {"claude-haiku-4-5": 0.7, "claude-sonnet-4-6": 0.3}
    expected_psi = independent_psi({"claude-haiku-4-5": 4, "claude-sonnet-4-6": 4}, target)
    assert body["route"] == "support"
    assert body["start"] == "2026-04-10T10:00:00Z"
    assert body["end"] == "2026-04-10T13:00:00Z"
    assert body["compared_to"] == "target"
    assert body["psi"] == round(expected_psi, 6)
    assert body["drift"] is (expected_psi > 0.2)
    assert body["models"]["claude-haiku-4-5"] == {
        "requests": 4,
        "share": 0.5,
        "target_share": 0.7,
        "expected_share": 0.7,
    }
    assert body["models"]["claude-sonnet-4-6"]["share"] == 0.5
    assert set(body["models"]) == {"claude-haiku-4-5", "claude-sonnet-4-6"}  # no opus retry, no shadow gpt-4o
    assert [b["bucket"] for b in body["buckets"]] == [
        "2026-04-10T10:00:00Z",
        "2026-04-10T11:00:00Z",
        "2026-04-10T12:00:00Z",
    ]
    first, second, empty = body["buckets"]
    assert first["requests"] == 4
    assert first["models"]["claude-haiku-4-5"]["share"] == 0.75
    assert first["psi"] == round(independent_psi({"claude-haiku-4-5": 3, "claude-sonnet-4-6": 1}, target), 6)
    second_psi = independent_psi({"claude-haiku-4-5": 1, "claude-sonnet-4-6": 3}, target)
    assert second["psi"] == round(second_psi, 6)
    assert second_psi > 0.2  # the 11:00 bucket drifted
    assert empty == {
        "bucket": "2026-04-10T12:00:00Z",
        "requests": 0,
        "psi": None,
        "models": {
            "claude-haiku-4-5": {"requests": 0, "share": None, "target_share": 0.7, "expected_share": 0.7},
            "claude-sonnet-4-6": {"requests": 0, "share": None, "target_share": 0.3, "expected_share": 0.3},
        },
    }


def test_a_model_outside_the_target_is_floored_not_infinite(acme_api, ingest):
    acme_api.put(
        "/api/v1/routes/support",
        orjson.dumps({"target_split": {"claude-haiku-4-5": 1}}),
        content_type="application/json",
    )
    ingest([ev("x1", 10, "claude-haiku-4-5"), ev("x2", 10, "gpt-4o")])
    body = acme_api.get(f"/api/v1/routes/support/split?{WINDOW}").json()
    expected = independent_psi({"claude-haiku-4-5": 1, "gpt-4o": 1}, {"claude-haiku-4-5": 1.0})
    assert body["psi"] == round(expected, 6)
    assert body["drift"] is True
    assert body["models"]["gpt-4o"]["target_share"] is None


def test_without_a_target_drift_is_against_the_previous_window(acme_api, ingest):
    # Previous window [07:00, 10:00): all haiku. This window: half sonnet.
    previous = [
        make_event(f"p{i}", timestamp="2026-04-10T08:30:00Z", route="support", model="claude-haiku-4-5")
        for i in range(4)
    ]
    ingest(previous + traffic())
    body = acme_api.get(f"/api/v1/routes/support/split?{WINDOW}").json()
    assert body["compared_to"] == "previous_window"
    assert body["models"]["claude-haiku-4-5"]["target_share"] is None
    assert body["models"]["claude-haiku-4-5"]["expected_share"] == 1.0
    expected = independent_psi({"claude-haiku-4-5": 4, "claude-sonnet-4-6": 4}, {"claude-haiku-4-5": 1.0})
    assert body["psi"] == round(expected, 6)
    assert body["drift"] is True


def test_no_requests_means_null_psi_and_no_drift(acme_api, ingest):
    ingest([make_event(1, route="support", timestamp="2026-04-01T00:00:00Z")])
    body = acme_api.get(f"/api/v1/routes/support/split?{WINDOW}").json()
    assert body["psi"] is None
    assert body["drift"] is False
    assert body["models"] == {}
    assert all(b["psi"] is None for b in body["buckets"])


def test_daily_buckets_and_bad_parameters(acme_api, ingest):
    ingest(traffic())
    body = acme_api.get(
        "/api/v1/routes/support/split?start=2026-04-09T00:00:00Z&end=2026-04-11T00:00:00Z&granularity=day"
    ).json()
    assert [(b["bucket"], b["requests"]) for b in body["buckets"]] == [
        ("2026-04-09T00:00:00Z", 0),
        ("2026-04-10T00:00:00Z", 8),
    ]
    for query in (
        "granularity=week",
        "start=yesterday",
        "start=2026-04-10T00:00:00",
        "start=2026-04-11T00:00:00Z&end=2026-04-10T00:00:00Z",
    ):
        response = acme_api.get(f"/api/v1/routes/support/split?{query}")
        assert response.status_code == 400, query
        assert response.json() and "detail" not in response.json()

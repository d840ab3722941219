"""GET /api/v1/routes, GET|PUT|DELETE /api/v1/routes/{name} (API.md §4)."""

import orjson
import pytest

from tests.conftest import make_event


def put(client, name, body):
    return client.put(f"/api/v1/routes/{name}", orjson.dumps(body), content_type="application/json")


def test_weights_are_normalised_to_exact_shares(acme_api):
    response = put(
        acme_api,
        "support",
        {"target_split": {"claude-haiku-4-5": 5, "claude-sonnet-4-6": 3, "claude-opus-4-6": 1}},
    )
    assert response.status_code == 201
    assert response.json()["target_split"] == {
        "claude-haiku-4-5": 0.5556,
        "claude-sonnet-4-6": 0.3333,
        "claude-opus-4-6": 0.1111,
    }
    # 70/30 percent, decimal strings and fractional weights all land on the same exact shares.
    again = put(acme_api, "support", {"target_split": {"claude-haiku-4-5": "0.7", "claude-sonnet-4-6": 0.3}})
    assert again.status_code == 200
    assert again.json()["target_split"] == {"claude-haiku-4-5": 0.7, "claude-sonnet-4-6": 0.3}


def test_put_then_get_round_trips_every_field(acme_api):
    body = {
        "target_split": {"anthropic/Claude-Haiku-4.5": 7, "claude-sonnet-4-6": 3},
        "baseline_model": "claude-opus-4-6",
        "fallback_chain": ["claude-haiku-4-5", "claude-sonnet-4-6", "claude-opus-4-6"],
        "fallback_budget": 0.1,
    }
    assert put(acme_api, "team/support", body).status_code == 201
    got = acme_api.get("/api/v1/routes/team/support").json()
    assert got["name"] == "team/support"
    assert got["target_split"] == {
        "claude-haiku-4-5": 0.7,
        "claude-sonnet-4-6": 0.3,
    }  # model names normalised
    assert got["baseline_model"] == "claude-opus-4-6"
    assert got["fallback_chain"] == ["claude-haiku-4-5", "claude-sonnet-4-6", "claude-opus-4-6"]
    assert got["fallback_budget"] == 0.1
    assert got["auto_created"] is False
    # GET → edit → PUT works: read-only fields echoed back are accepted.
    got["fallback_budget"] = 0.05
    assert put(acme_api, "team/support", got).json()["fallback_budget"] == 0.05
    listing = acme_api.get("/api/v1/routes").json()["routes"]
    assert [r["name"] for r in listing] == ["team/support"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"target_split": {"claude-haiku-4-5": -1, "claude-sonnet-4-6": 2}}, "target_split"),
        ({"target_split": {"claude-haiku-4-5": 0, "claude-sonnet-4-6": 0}}, "target_split"),
        ({"target_split": {"claude-haiku-4-5": "lots"}}, "target_split"),
        ({"target_split": {"claude-haiku-4-5": True}}, "target_split"),
        ({"target_split": ["claude-haiku-4-5"]}, "target_split"),
        ({"target_split": {"claude-haiku-4-5": 1, "Claude-Haiku-4.5": 1}}, "target_split"),
        ({"target_spilt": {"claude-haiku-4-5": 1}}, "target_spilt"),
        ({"baseline_model": ""}, "baseline_model"),
        ({"fallback_chain": "claude-haiku-4-5"}, "fallback_chain"),
        ({"fallback_chain": ["claude-haiku-4-5", 3]}, "fallback_chain"),
        ({"fallback_budget": 1.5}, "fallback_budget"),
        ({"fallback_budget": -0.1}, "fallback_budget"),
        ({"fallback_budget": "0.12345"}, "fallback_budget"),
        ({"name": "other"}, "name"),
    ],
)
def test_bad_input_is_a_400_with_field_errors_and_nothing_saved(acme_api, body, field):
    response = put(acme_api, "support", body)
    assert response.status_code == 400
    assert field in response.json()
    assert acme_api.get("/api/v1/routes/support").status_code == 404


def test_malformed_json_is_a_400(acme_api):
    response = acme_api.put("/api/v1/routes/support", b"{not json", content_type="application/json")
    assert response.status_code == 400


def test_routes_are_auto_created_on_first_sight(acme_api):
    assert acme_api.post_events([make_event(1, route="checkout")]).status_code == 200
    routes = acme_api.get("/api/v1/routes").json()["routes"]
    assert routes == [
        {
            "name": "checkout",
            "target_split": {},
            "baseline_model": None,
            "fallback_chain": [],
            "fallback_budget": None,
            "auto_created": True,
            "created_at": routes[0]["created_at"],
            "updated_at": routes[0]["updated_at"],
        }
    ]
    # Configuring it keeps it (auto_created stays as a record of where it came from).
    assert put(acme_api, "checkout", {"target_split": {"claude-haiku-4-5": 1}}).status_code == 200


def test_another_orgs_route_is_a_404(acme_api, globex_api):
    put(acme_api, "support", {"target_split": {"claude-haiku-4-5": 1}, "fallback_budget": 0.1})
    assert globex_api.get("/api/v1/routes/support").status_code == 404
    assert globex_api.get("/api/v1/routes/support/split").status_code == 404
    assert globex_api.delete("/api/v1/routes/support").status_code == 404
    assert globex_api.get("/api/v1/routes").json() == {"routes": []}
    # A PUT by globex creates globex's own route of that name; acme's is untouched.
    assert put(globex_api, "support", {"target_split": {"gpt-4o": 1}}).status_code == 201
    assert acme_api.get("/api/v1/routes/support").json()["target_split"] == {"claude-haiku-4-5": 1.0}


def test_delete_forgets_the_configuration(acme_api):
    put(acme_api, "support", {"target_split": {"claude-haiku-4-5": 1}})
    assert acme_api.delete("/api/v1/routes/support").status_code == 204
    assert acme_api.get("/api/v1/routes/support").status_code == 404
    assert acme_api.delete("/api/v1/routes/support").status_code == 404


def test_routes_need_an_api_key(client):
    assert client.get("/api/v1/routes").status_code == 401


def test_changing_the_baseline_model_recomputes_savings(acme_api, ingest, acme):
    from costlens.usage.selectors import usage_report
    from tests.conftest import at

    put(acme_api, "support", {"target_split": {"claude-haiku-4-5": 1}})
    ingest([make_event(i, route="support", model="claude-haiku-4-5") for i in range(10)])
    window = {"start": at("2026-04-10T00:00:00Z"), "end": at("2026-04-11T00:00:00Z")}
    # Against the org default (Sonnet 4.6, $3/$15): 10 × (0.0045 − 0.0015)
    assert usage_report(acme, **window).totals["savings_usd"] == "0.030000000"
    put(acme_api, "support", {"target_split": {"claude-haiku-4-5": 1}, "baseline_model": "claude-opus-4-6"})
    from django.core.management import call_command

    call_command("rollup")
    # Against Opus 4.6 ($5/$25): 10 × (0.0075 − 0.0015)
    assert usage_report(acme, **window).totals["savings_usd"] == "0.060000000"
    # Deleting the route's configuration falls back to the org's baseline.
    acme_api.delete("/api/v1/routes/support")
    call_command("rollup")
    assert usage_report(acme, **window).totals["savings_usd"] == "0.030000000"

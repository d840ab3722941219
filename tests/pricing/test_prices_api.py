"""GET/POST /api/v1/prices and GET /api/v1/prices/unpriced (API.md §4)."""

import pytest
from rest_framework.test import APIClient

from costlens.pricing.models import ModelPrice, OrgPriceOverride
from tests.conftest import at


def test_prices_need_an_api_key(db):
    assert APIClient().get("/api/v1/prices").status_code == 401
    assert APIClient().post("/api/v1/prices", {}, format="json").status_code == 401
    assert APIClient().get("/api/v1/prices/unpriced").status_code == 401


def test_the_catalog_is_listed_with_exact_decimal_strings(acme_api):
    body = acme_api.get("/api/v1/prices").json()
    assert body["overrides"] == []
    sonnet = [p for p in body["catalog"] if p["model"] == "claude-sonnet-4-6"]
    assert sonnet == [
        {
            "model": "claude-sonnet-4-6",
            "provider": "anthropic",
            "effective_from": "2026-04-01T00:00:00Z",
            "input_per_mtok": "3.00",
            "output_per_mtok": "15.00",
            "cache_read_per_mtok": None,
            "cache_write_per_mtok": None,
            "reasoning_per_mtok": None,
            "source": "seed 000/001 pricing table (April 2026): Claude Sonnet 4.6",
            "current": True,
        }
    ]
    nano = next(p for p in body["catalog"] if p["model"] == "gpt-5-nano")
    assert (nano["input_per_mtok"], nano["output_per_mtok"]) == ("0.05", "0.40")


def test_the_model_filter_takes_any_spelling_and_marks_the_row_in_force(acme_api):
    ModelPrice.objects.create(
        model="gpt-4o",
        effective_from=at("2099-01-01T00:00:00Z"),
        input_per_mtok="0.000125",
        output_per_mtok=1,
    )
    rows = acme_api.get("/api/v1/prices", {"model": "openai/GPT-4o-2024-08-06"}).json()["catalog"]
    assert [(r["effective_from"], r["current"]) for r in rows] == [
        ("2025-11-01T00:00:00Z", False),
        ("2026-04-01T00:00:00Z", True),
        ("2099-01-01T00:00:00Z", False),
    ]
    assert rows[-1]["input_per_mtok"] == "0.000125"
    assert acme_api.get("/api/v1/prices", {"model": "no-such-model"}).json() == {
        "catalog": [],
        "overrides": [],
    }


def test_an_explicit_override_is_created_and_listed_for_its_org_only(acme_api, globex_api, acme):
    response = acme_api.post(
        "/api/v1/prices",
        {
            "model": "Claude Sonnet 4.6",
            "effective_from": "2026-05-01T02:00:00+02:00",
            "input_per_mtok": "2.4",
            "output_per_mtok": 12,
            "cache_read_per_mtok": "0.24",
            "note": "enterprise agreement",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    created = response.json()
    assert created == {
        "id": created["id"],
        "model": "claude-sonnet-4-6",
        "effective_from": "2026-05-01T00:00:00Z",
        "input_per_mtok": "2.40",
        "output_per_mtok": "12.00",
        "cache_read_per_mtok": "0.24",
        "cache_write_per_mtok": None,
        "reasoning_per_mtok": None,
        "discount_pct": None,
        "note": "enterprise agreement",
        "current": True,
        "created_at": created["created_at"],
    }
    assert acme_api.get("/api/v1/prices", {"model": "claude-sonnet-4-6"}).json()["overrides"] == [created]
    assert globex_api.get("/api/v1/prices").json()["overrides"] == []
    assert OrgPriceOverride.objects.get().org == acme


def test_a_discount_override_defaults_to_now(acme_api):
    response = acme_api.post("/api/v1/prices", {"model": "gpt-4o", "discount_pct": 12.5}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["discount_pct"], body["input_per_mtok"], body["current"]) == ("12.50", None, True)


@pytest.mark.parametrize(
    ("payload", "errors"),
    [
        ({"model": "gpt-4o"}, {"input_per_mtok", "output_per_mtok"}),
        ({"model": "gpt-4o", "input_per_mtok": "1"}, {"output_per_mtok"}),
        (
            {"model": "gpt-4o", "input_per_mtok": "1", "output_per_mtok": "2", "discount_pct": "5"},
            {"discount_pct"},
        ),
        ({"model": "gpt-4o", "discount_pct": "101"}, {"discount_pct"}),
        ({"model": "gpt-4o", "discount_pct": "-1"}, {"discount_pct"}),
        ({"model": "unknown-model-x", "discount_pct": "10"}, {"model"}),
        ({"model": "gpt-4o", "input_per_mtok": "-1", "output_per_mtok": "2"}, {"input_per_mtok"}),
        ({"model": "gpt-4o", "input_per_mtok": "abc", "output_per_mtok": "2"}, {"input_per_mtok"}),
        (
            {"model": "gpt-4o", "input_per_mtok": "0.0000000000001", "output_per_mtok": "2"},
            {"input_per_mtok"},
        ),
        (
            {"model": "gpt-4o", "input_per_mtok": "1", "output_per_mtok": "2", "effective_from": "soon"},
            {"effective_from"},
        ),
        ({"model": "gpt-4o", "input_per_mtok": "1", "output_per_mtok": "2", "price": "3"}, {"price"}),
        ({"input_per_mtok": "1", "output_per_mtok": "2"}, {"model"}),
        ({"model": "", "input_per_mtok": "1", "output_per_mtok": "2"}, {"model"}),
    ],
)
def test_bad_overrides_are_400_with_field_errors(acme_api, payload, errors):
    response = acme_api.post("/api/v1/prices", payload, format="json")
    assert response.status_code == 400, response.content
    assert set(response.json()) == errors
    assert not OrgPriceOverride.objects.exists()


def test_a_second_override_at_the_same_instant_is_refused(acme_api):
    payload = {"model": "gpt-4o", "effective_from": "2026-05-01", "discount_pct": "10"}
    assert acme_api.post("/api/v1/prices", payload, format="json").status_code == 201
    response = acme_api.post("/api/v1/prices", payload, format="json")
    assert response.status_code == 400
    assert "effective_from" in response.json()


def test_a_non_object_body_is_400(acme_api):
    assert acme_api.post("/api/v1/prices", [1, 2], format="json").status_code == 400
    response = acme_api.post("/api/v1/prices", "{not json", content_type="application/json")
    assert response.status_code == 400


def test_unpriced_models_are_scoped_to_the_key_org(acme_api, globex_api):
    assert (
        acme_api.post_events(
            [
                {
                    "event_id": "u1",
                    "timestamp": "2026-04-10T12:00:00Z",
                    "model": "secret-model",
                    "input_tokens": 10,
                    "output_tokens": 5,
                }
            ]
        ).status_code
        == 200
    )
    assert [m["model"] for m in acme_api.get("/api/v1/prices/unpriced").json()["models"]] == ["secret-model"]
    assert globex_api.get("/api/v1/prices/unpriced").json() == {"models": []}


def test_the_endpoints_are_in_the_openapi_schema(client, db):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    assert {"get", "post"} <= set(schema["paths"]["/api/v1/prices"])
    assert "get" in schema["paths"]["/api/v1/prices/unpriced"]
    operation = schema["paths"]["/api/v1/prices"]["post"]
    assert operation["operationId"] == "prices_override_create"
    assert "201" in operation["responses"]

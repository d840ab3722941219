"""The HTTP API as a whole: every endpoint is documented and none answers without a key."""

import re

import pytest
import yaml
from django.test import Client

from costlens import api_urls

SAMPLE_ARGS = {"rule_id": "1", "incident_id": "1", "name": "support", "customer_id": "cust_1"}


def _documented_path(route: str) -> str:
    # "routes/<path:name>/split" -> "/api/v1/routes/{name}/split"
    return "/api/v1/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)


def _concrete_path(route: str) -> str:
    return "/api/v1/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: SAMPLE_ARGS[m.group(1)], route)


ROUTES = [str(p.pattern) for p in api_urls.urlpatterns]


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    with django_db_blocker.unblock():
        response = Client().get("/api/schema/")
    assert response.status_code == 200
    return yaml.safe_load(response.content)


@pytest.mark.parametrize("route", ROUTES)
def test_every_endpoint_is_in_the_openapi_schema(schema, route):
    assert _documented_path(route) in schema["paths"]


def test_the_schema_documents_bearer_key_auth(schema):
    schemes = schema["components"]["securitySchemes"]
    assert any(s.get("type") == "http" and s.get("scheme") == "bearer" for s in schemes.values())


@pytest.mark.django_db
def test_browsable_docs_render(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert b"/api/schema/" in response.content


@pytest.mark.django_db
@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("auth", [None, "Bearer cl_nope_not-a-key", "Basic Zm9vOmJhcg=="])
def test_no_endpoint_answers_without_a_valid_key(client, route, auth):
    headers = {"HTTP_AUTHORIZATION": auth} if auth else {}
    for method in ("get", "post"):
        response = getattr(client, method)(_concrete_path(route), **headers)
        assert response.status_code in (401, 405), (method, route, response.status_code)
        if response.status_code == 401:
            assert "WWW-Authenticate" in response.headers

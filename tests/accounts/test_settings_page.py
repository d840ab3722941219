"""Settings page: API keys are listed by prefix, shown once on creation, revocable by admins only."""

import re

import orjson
import pytest
from django.contrib.sessions.models import Session
from django.test import Client

from costlens.accounts.models import ApiKey
from costlens.accounts.services import api_key_create
from tests.conftest import make_event
from tests.ingest.test_isolation import _tables_containing


@pytest.fixture
def fran_client(fran) -> Client:
    client = Client()
    client.force_login(fran)
    return client


@pytest.fixture
def eli_client(eli) -> Client:
    client = Client()
    client.force_login(eli)
    return client


def _post_event(raw_key: str):
    return Client().post(
        "/api/v1/events",
        orjson.dumps({"events": [make_event(1)]}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw_key}",
    )


def test_the_key_list_shows_the_prefix_never_the_secret(fran_client, acme):
    created = api_key_create(org=acme, name="production")
    page = fran_client.get("/settings/").content.decode()
    assert "production" in page
    assert created.api_key.prefix in page
    assert created.raw_key not in page
    assert created.raw_key[len(created.api_key.prefix) :] not in page


def test_creating_a_key_shows_it_once_and_it_works(fran_client, acme):
    response = fran_client.post("/settings/keys/", {"name": "ci"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    raw = re.search(r'data-testid="new-key">([^<]+)<', response.content.decode()).group(1)
    key = ApiKey.objects.get(org=acme, name="ci")
    assert raw.startswith(key.prefix)

    # Never stored anywhere, not even for a moment in the session (which lives in the database).
    assert _tables_containing(raw) == []
    assert all(raw not in str(s.get_decoded()) for s in Session.objects.all())
    assert _post_event(raw).status_code == 200
    # Shown once: not on the next visit.
    assert raw not in fran_client.get("/settings/").content.decode()


def test_an_invalid_key_name_is_a_400_with_the_form(fran_client, acme):
    response = fran_client.post("/settings/keys/", {"name": ""})
    assert response.status_code == 400
    assert not ApiKey.objects.filter(org=acme).exists()


def test_revoking_a_key_makes_it_401(fran_client, acme):
    created = api_key_create(org=acme, name="old")
    assert _post_event(created.raw_key).status_code == 200
    response = fran_client.post(f"/settings/keys/{created.api_key.pk}/revoke/")
    assert response.status_code == 302
    created.api_key.refresh_from_db()
    assert created.api_key.revoked_at is not None
    assert _post_event(created.raw_key).status_code == 401
    assert "revoked" in fran_client.get("/settings/").content.decode()


def test_a_viewer_sees_keys_but_cannot_create_or_revoke(eli_client, acme):
    created = api_key_create(org=acme, name="production")
    page = eli_client.get("/settings/")
    assert page.status_code == 200
    assert created.api_key.prefix in page.content.decode()
    assert "Create API key" not in page.content.decode()

    assert eli_client.post("/settings/keys/", {"name": "sneaky"}).status_code == 403
    assert not ApiKey.objects.filter(name="sneaky").exists()
    assert eli_client.post(f"/settings/keys/{created.api_key.pk}/revoke/").status_code == 403
    created.api_key.refresh_from_db()
    assert created.api_key.revoked_at is None


def test_another_orgs_key_is_a_404_and_stays_active(fran_client, globex):
    theirs = api_key_create(org=globex).api_key
    assert fran_client.post(f"/settings/keys/{theirs.pk}/revoke/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None
    assert theirs.prefix not in fran_client.get("/settings/").content.decode()


def test_anonymous_users_are_sent_to_log_in(db):
    response = Client().get("/settings/")
    assert response.status_code == 302
    assert "/login/" in response["Location"]
    assert Client().post("/settings/keys/", {"name": "x"}).status_code == 302
    assert not ApiKey.objects.exists()


def test_creating_a_key_needs_post(fran_client):
    assert fran_client.get("/settings/keys/").status_code == 405

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


# The Organization form: the settings of PATCH /api/v1/settings, with the same rules.


def test_an_admin_changes_the_baseline_model_and_the_savings_follow(
    fran_client, acme, acme_api, django_capture_on_commit_callbacks
):
    from django.core.management import call_command

    from costlens.usage.selectors import usage_report
    from tests.conftest import at

    acme_api.post_events([make_event(1, model="claude-haiku-4-5", timestamp="2026-04-10T10:00:00Z")])
    call_command("rollup", verbosity=0)
    window = {"start": at("2026-04-10T00:00:00Z"), "end": at("2026-04-11T00:00:00Z")}
    # 500 input + 200 output tokens: Sonnet 4.6 ($3/$15) $0.0045, Haiku 4.5 ($1/$5) $0.0015.
    assert usage_report(acme, **window).totals["savings_usd"] == "0.003000000"

    page = fran_client.get("/settings/").content.decode()
    assert 'value="claude-sonnet-4-6"' in page and '<option value="claude-opus-4-6">' in page
    with django_capture_on_commit_callbacks(execute=True):
        response = fran_client.post(
            "/settings/organization/",
            {"name": "Acme AI", "baseline_model": "anthropic/Claude-Opus-4.6", "quality_floor": "0.8"},
            follow=True,
        )
    assert response.status_code == 200
    assert "Savings are now measured against claude-opus-4-6" in response.content.decode()
    acme.refresh_from_db()
    assert (acme.baseline_model, str(acme.quality_floor)) == ("claude-opus-4-6", "0.800")
    # Opus 4.6 ($5/$25): 500 × 5 + 200 × 25 = $0.0075 baseline, minus the $0.0015 spent.
    assert usage_report(acme, **window).totals["savings_usd"] == "0.006000000"


def test_bad_settings_are_shown_on_the_form_and_nothing_changes(fran_client, acme):
    response = fran_client.post(
        "/settings/organization/",
        {"name": "", "baseline_model": "no-such-model-9000", "quality_floor": "1.5"},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "No price for &#x27;no-such-model-9000&#x27;" in html
    assert "A number from 0 to 1 with at most 3 decimals." in html
    assert "A string of 1 to 200 characters." in html
    assert 'value="no-such-model-9000"' in html  # what was typed stays in the form
    acme.refresh_from_db()
    assert (acme.name, acme.baseline_model) == ("Acme AI", "claude-sonnet-4-6")


def test_a_viewer_sees_the_settings_but_cannot_change_them(eli_client, acme):
    page = eli_client.get("/settings/").content.decode()
    assert 'data-testid="org-values"' in page and "claude-sonnet-4-6" in page
    assert "Save settings" not in page
    response = eli_client.post("/settings/organization/", {"baseline_model": "claude-opus-4-6"})
    assert response.status_code == 403
    acme.refresh_from_db()
    assert acme.baseline_model == "claude-sonnet-4-6"


def test_the_form_changes_only_the_users_own_org(fran_client, acme, globex):
    fran_client.post("/settings/organization/", {"name": "Acme Renamed", "baseline_model": "claude-opus-4-6"})
    acme.refresh_from_db()
    globex.refresh_from_db()
    assert (acme.name, acme.baseline_model) == ("Acme Renamed", "claude-opus-4-6")
    assert (globex.name, globex.baseline_model) == ("Globex", "claude-sonnet-4-6")
    assert fran_client.get("/settings/organization/").status_code == 405

"""Operator commands (API.md §5), through call_command as a script would run them."""

from io import StringIO

import orjson
import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client

from costlens.accounts.models import ApiKey, Membership, Organization
from costlens.usage.models import Event
from tests.conftest import make_event


def run(*args, **options) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


@pytest.mark.django_db
def test_create_org_prints_the_slug():
    out, _ = run("create_org", "Initech Labs")
    assert out.strip() == "initech-labs"
    assert Organization.objects.get(slug="initech-labs").name == "Initech Labs"
    again, _ = run("create_org", "Initech Labs")
    assert again.strip() == "initech-labs-2"


@pytest.mark.django_db
def test_create_org_with_an_explicit_slug():
    out, _ = run("create_org", "Initech", "--slug", "ini")
    assert out.strip() == "ini"


@pytest.mark.django_db
def test_create_api_key_prints_the_key_last_and_it_works_against_the_endpoint():
    slug = run("create_org", "Initech")[0].strip()
    out, err = run("create_api_key", slug, "--name", "ci")
    key = out.strip().splitlines()[-1]
    assert key.startswith("cl_")
    assert key not in err  # the human message goes to stderr, without the secret
    stored = ApiKey.objects.get(org__slug=slug)
    assert stored.name == "ci"
    assert key not in {stored.prefix, stored.key_hash}

    response = Client().post(
        "/api/v1/events",
        orjson.dumps({"events": [make_event(1)]}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    assert response.status_code == 200
    assert Event.objects.filter(org__slug=slug).count() == 1


@pytest.mark.django_db
def test_create_api_key_for_an_unknown_org_fails():
    with pytest.raises(CommandError, match="nope"):
        run("create_api_key", "nope")


@pytest.mark.django_db
def test_create_user_admin_with_password_can_log_in():
    slug = run("create_org", "Initech")[0].strip()
    out, _ = run("create_user", "peter@initech.test", "--org", slug, "--admin", "--password", "tps-report-1")
    assert "admin" in out
    membership = Membership.objects.get(user__email="peter@initech.test", org__slug=slug)
    assert membership.is_admin
    assert Client().login(username="peter@initech.test", password="tps-report-1")


@pytest.mark.django_db
def test_create_user_without_admin_is_a_viewer_and_rerunning_updates_the_role(monkeypatch):
    slug = run("create_org", "Initech")[0].strip()
    monkeypatch.setattr("getpass.getpass", lambda prompt="": "prompted-pass-1")
    run("create_user", "milton@initech.test", "--org", slug)
    assert not Membership.objects.get(user__email="milton@initech.test").is_admin
    assert Client().login(username="milton@initech.test", password="prompted-pass-1")

    run("create_user", "milton@initech.test", "--org", slug, "--admin", "--password", "new-pass-22")
    assert Membership.objects.get(user__email="milton@initech.test").is_admin
    assert get_user_model().objects.filter(email="milton@initech.test").count() == 1
    assert Client().login(username="milton@initech.test", password="new-pass-22")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["not-an-email", "--org", "initech", "--password", "x1234567"], "email"),
        (["a@b.test", "--org", "missing", "--password", "x1234567"], "missing"),
        (["a@b.test", "--org", "initech", "--password", ""], "password"),
    ],
)
def test_create_user_refuses_bad_input(args, message):
    run("create_org", "Initech")
    with pytest.raises(CommandError, match=message):
        run("create_user", *args)

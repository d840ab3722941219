"""A key belongs to one organization: it can neither see nor change another org's events."""

import hashlib

from django.db import connection, transaction
from django.db.models import Count

from costlens.accounts.models import ApiKey
from costlens.accounts.services import api_key_revoke
from costlens.customers.models import Customer
from costlens.usage.models import Event
from ingest.services import events_ingest
from routing.models import Route
from tests.conftest import make_event


def test_the_same_event_id_in_two_orgs_is_two_events(acme_api, acme, globex_api, globex):
    assert acme_api.post_events([make_event(1, customer_id="a")]).json()["accepted"] == 1
    response = globex_api.post_events([make_event(1, customer_id="g"), make_event(2)])
    assert response.json() == {"accepted": 2, "duplicates": 0, "rejected": 0, "errors": []}
    counts = dict(Event.objects.values("org__slug").annotate(n=Count("id")).values_list("org__slug", "n"))
    assert counts == {"acme": 1, "globex": 2}
    assert Event.objects.get(org=acme, event_id="evt-1").customer == "a"
    assert Event.objects.get(org=globex, event_id="evt-1").customer == "g"


def test_customers_and_routes_are_created_in_the_posting_org_only(acme_api, acme, globex):
    acme_api.post_events([make_event(1, customer_id="cust_1", route="support")])
    assert list(Customer.objects.values_list("org__slug", "external_id")) == [("acme", "cust_1")]
    assert list(Route.objects.values_list("org__slug", "name", "auto_created")) == [("acme", "support", True)]
    assert not Customer.objects.filter(org=globex).exists()


def test_a_revoked_acme_key_does_not_affect_globex(acme_api, acme, globex_api):
    api_key_revoke(org=acme, key_id=acme.api_keys.get().pk)
    assert acme_api.post_events([make_event(1)]).status_code == 401
    assert globex_api.post_events([make_event(1)]).status_code == 200


def test_batches_of_two_orgs_in_one_outer_transaction_stay_apart(acme, globex):
    """events_ingest called inside a caller's transaction (a command, a test) must not carry one
    batch's staged rows into the next."""
    with transaction.atomic():
        events_ingest(org=globex, raw_events=[make_event("g1"), make_event("g2")])
        result = events_ingest(org=acme, raw_events=[make_event("a1")])
    assert result.accepted == 1
    assert list(Event.objects.filter(org=acme).values_list("event_id", flat=True)) == ["evt-a1"]
    assert Event.objects.filter(org=globex).count() == 2


def test_keys_are_stored_only_as_sha256_and_the_secret_is_nowhere_in_the_database(acme_api, acme):
    assert acme_api.post_events([make_event(1, metadata={"note": "hello"})]).status_code == 200
    raw = acme_api.raw_key
    key = ApiKey.objects.get(org=acme)
    assert key.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw.startswith(key.prefix) and len(key.prefix) == 11
    secret = raw[len(key.prefix) + 1 :]
    assert len(secret) >= 40
    for value in ApiKey.objects.filter(pk=key.pk).values().get().values():
        assert secret not in str(value)
    assert _tables_containing(secret) == []
    assert _tables_containing(raw) == []


def _tables_containing(text: str) -> list[str]:
    found = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(
                f'SELECT count(*) FROM "{table}" t WHERE strpos(row_to_json(t)::text, %s) > 0', [text]
            )
            if cursor.fetchone()[0]:
                found.append(table)
    return found


def test_deleting_an_org_deletes_its_events_and_no_other_orgs(acme_api, acme, globex_api, globex):
    # usage_event has no database foreign key to the org (ingest speed); Django's cascade must
    # still remove an org's events with it, and only them.
    acme_api.post_events([make_event(1), make_event(2)])
    globex_api.post_events([make_event(1)])
    acme.delete()
    assert list(Event.objects.values_list("org__slug", "event_id")) == [("globex", "evt-1")]

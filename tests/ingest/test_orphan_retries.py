"""Retries stored before their first attempt (ingest_orphanretry).

A first attempt whose request_id is its own event_id (the API's default) does not probe the index of
stored retries: it looks for its request among the orphans, the retries stored while no event had
that event_id. These tests pin that the first attempt is still superseded whatever order, batch or
concurrency the attempts arrive in, and that the side table only holds what it must.
"""

import importlib

import pytest
from django.db import connection

from costlens.usage.models import DirtyBucket, Event
from ingest.models import OrphanRetry
from tests.conftest import at, make_event


def _first(name: str, **overrides) -> dict:
    """A first attempt with the default request_id (its own event_id, "evt-<name>")."""
    return make_event(name, **overrides)


def _retry(name: str, attempt: int = 2, **overrides) -> dict:
    return make_event(f"{name}-a{attempt}", request_id=f"evt-{name}", attempt=attempt, **overrides)


def _superseded(org) -> dict[str, bool]:
    return dict(Event.objects.filter(org=org).values_list("event_id", "superseded"))


def _orphans(org) -> set[str]:
    return set(OrphanRetry.objects.filter(org=org).values_list("request_id", flat=True))


def test_a_retry_stored_before_its_first_attempt_supersedes_it_when_it_arrives(acme_api, acme):
    acme_api.post_events([_retry("r", timestamp="2026-04-10T11:00:01Z")])
    assert _orphans(acme) == {"evt-r"}
    DirtyBucket.objects.all().delete()

    acme_api.post_events([_first("other"), _first("r", timestamp="2026-04-10T10:59:58Z")])

    assert _superseded(acme) == {"evt-r": True, "evt-r-a2": False, "evt-other": False}
    assert set(DirtyBucket.objects.filter(org=acme).values_list("hour", flat=True)) == {
        at("2026-04-10T10:00:00Z"),
        at("2026-04-10T12:00:00Z"),  # evt-other's hour
    }
    assert _orphans(acme) == set()  # adopted: no other event can have event_id evt-r


def test_a_retry_after_or_with_its_first_attempt_is_no_orphan(acme_api, acme):
    acme_api.post_events([_first("a")])
    acme_api.post_events([_retry("a"), _retry("b"), _first("b")])
    assert _superseded(acme) == {"evt-a": True, "evt-a-a2": False, "evt-b": True, "evt-b-a2": False}
    assert _orphans(acme) == set()


def test_several_retries_before_the_first_attempt_each_in_its_own_batch(acme_api, acme):
    acme_api.post_events([_retry("r", attempt=3)])
    acme_api.post_events([_retry("r", attempt=2)])
    assert _superseded(acme) == {"evt-r-a2": True, "evt-r-a3": False}
    assert _orphans(acme) == {"evt-r"}

    acme_api.post_events([_first("r")])
    assert _superseded(acme) == {"evt-r": True, "evt-r-a2": True, "evt-r-a3": False}
    assert _orphans(acme) == set()


def test_a_re_sent_retry_or_first_attempt_changes_nothing(acme_api, acme):
    acme_api.post_events([_retry("r")])
    assert acme_api.post_events([_retry("r")]).json()["duplicates"] == 1
    assert _orphans(acme) == {"evt-r"}
    acme_api.post_events([_first("r")])
    assert acme_api.post_events([_first("r"), _retry("r")]).json()["duplicates"] == 2
    assert _superseded(acme) == {"evt-r": True, "evt-r-a2": False}
    assert _orphans(acme) == set()


def test_no_orphan_when_the_event_id_is_taken_by_another_kind_of_event(acme_api, acme):
    """A shadow call, or an event of another request, holds event_id evt-x: no first attempt with
    that event_id can ever be stored, so the retry needs no orphan row."""
    acme_api.post_events([make_event("x", shadow=True), make_event("y", request_id="other")])
    acme_api.post_events([_retry("x"), _retry("y")])
    assert _orphans(acme) == set()
    assert _superseded(acme) == {"evt-x": False, "evt-y": False, "evt-x-a2": False, "evt-y-a2": False}


def test_a_first_attempt_with_its_own_request_id_still_finds_a_retry_stored_before_it(acme_api, acme):
    """request_id != event_id: no orphan can announce the retry, the retry index does."""
    acme_api.post_events([make_event("call-2", request_id="req-9", attempt=2)])
    acme_api.post_events([make_event("call-1", request_id="req-9")])
    assert _superseded(acme) == {"evt-call-1": True, "evt-call-2": False}


def test_an_orphan_of_another_org_supersedes_nothing(acme_api, acme, globex_api, globex):
    globex_api.post_events([_retry("r")])
    assert _orphans(globex) == {"evt-r"}
    acme_api.post_events([_first("r")])
    assert _superseded(acme) == {"evt-r": False}
    assert _orphans(globex) == {"evt-r"}
    globex_api.post_events([_first("r")])
    assert _superseded(globex) == {"evt-r": True, "evt-r-a2": False}
    assert _orphans(globex) == set()


def test_a_shadow_retry_is_no_orphan_and_supersedes_nothing(acme_api, acme):
    acme_api.post_events([_retry("r", shadow=True)])
    acme_api.post_events([_first("r")])
    assert _orphans(acme) == set()
    assert _superseded(acme) == {"evt-r": False, "evt-r-a2": False}


def test_the_migration_records_retries_stored_before_it_whose_first_attempt_is_missing(acme_api, acme):
    acme_api.post_events([_first("done"), _retry("done"), _retry("waiting"), _retry("shadow", shadow=True)])
    OrphanRetry.objects.all().delete()  # as stored before ingest kept the table
    migration = importlib.import_module("ingest.migrations.0001_orphan_retries")
    with connection.cursor() as cursor:
        cursor.execute(migration.BACKFILL)
    assert _orphans(acme) == {"evt-waiting"}

    acme_api.post_events([_first("waiting")])
    assert _superseded(acme)["evt-waiting"] is True


@pytest.mark.django_db(transaction=True)
def test_first_attempts_and_their_retries_in_concurrent_batches_still_supersede(acme_api, acme):
    """Each request's first attempt and its retry posted at the same moment by two clients, with
    default request_ids: whichever batch commits first, every first attempt ends superseded and no
    orphan is left behind."""
    for round_ in range(3):
        names = [f"race-{round_}-{i}" for i in range(300)]
        batches = [[_first(n, customer_id="c1") for n in names], [_retry(n, customer_id="c2") for n in names]]
        answers = [r.status_code for r in acme_api.post_batches_at_once(batches)]
        assert answers == [200, 200]

    flags = Event.objects.filter(org=acme).values_list("attempt", "superseded")
    assert sorted(set(flags)) == [(1, True), (2, False)]
    assert Event.objects.filter(org=acme).count() == 1800
    assert _orphans(acme) == set()

"""Duplicates (same event_id in the org) are counted, never stored twice; the first write wins."""

import threading

import pytest
from django.db import connection

from costlens.usage.models import Event
from tests.conftest import make_event


def test_within_a_batch_the_first_occurrence_wins(acme_api, acme):
    response = acme_api.post_events(
        [
            make_event(1, model="claude-haiku-4-5", customer_id="first"),
            make_event(1, model="claude-sonnet-4-6", customer_id="second", input_tokens=9),
            make_event(1, customer_id="third"),
        ]
    )
    assert response.json() == {"accepted": 1, "duplicates": 2, "rejected": 0, "errors": []}
    event = Event.objects.get(org=acme)
    assert (event.model, event.customer, event.input_tokens, event.cost_nanos) == (
        "claude-haiku-4-5",
        "first",
        500,
        1_500_000,
    )


def test_an_invalid_first_occurrence_does_not_block_a_valid_repeat(acme_api, acme):
    body = acme_api.post_events([make_event(1, input_tokens=-1), make_event(1)]).json()
    assert (body["accepted"], body["duplicates"], body["rejected"]) == (1, 0, 1)
    assert Event.objects.filter(org=acme).count() == 1


def test_across_batches_the_stored_event_is_kept(acme_api, acme):
    acme_api.post_events([make_event(1, customer_id="first"), make_event(2)])
    response = acme_api.post_events([make_event(1, customer_id="second"), make_event(3)])
    assert response.json() == {"accepted": 1, "duplicates": 1, "rejected": 0, "errors": []}
    assert Event.objects.get(org=acme, event_id="evt-1").customer == "first"
    assert Event.objects.filter(org=acme).count() == 3


def test_resending_a_whole_batch_is_200_with_every_event_a_duplicate(acme_api, acme):
    batch = [make_event(i) for i in range(100)]
    assert acme_api.post_events(batch).json()["accepted"] == 100
    response = acme_api.post_events(batch)
    assert response.status_code == 200
    assert response.json() == {"accepted": 0, "duplicates": 100, "rejected": 0, "errors": []}
    assert Event.objects.filter(org=acme).count() == 100


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_requests_with_the_same_1000_events_store_each_once(acme_api, acme):
    batch = [make_event(i, customer_id=f"cust_{i % 40}", route=f"route-{i % 3}") for i in range(1000)]
    start = threading.Barrier(2)
    answers: list = [None, None]
    failures: list = []

    def post(slot: int) -> None:
        try:
            start.wait()
            answers[slot] = acme_api.post_events(batch)
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)
        finally:
            connection.close()  # each thread has its own connection

    threads = [threading.Thread(target=post, args=(slot,)) for slot in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert not failures, failures
    assert [a.status_code for a in answers] == [200, 200], [a.content for a in answers]
    bodies = [a.json() for a in answers]
    assert sum(b["accepted"] for b in bodies) == 1000
    assert sum(b["accepted"] + b["duplicates"] for b in bodies) == 2000
    assert Event.objects.filter(org=acme).count() == 1000
    assert Event.objects.filter(org=acme).values("event_id").distinct().count() == 1000


def test_an_event_stored_between_the_probe_and_the_copy_is_a_duplicate_not_a_500(acme_api, acme, monkeypatch):
    """The race the staging fallback exists for: the probe for stored event_ids misses one (another
    request committed it in between), the COPY meets the unique index, and the batch goes through
    INSERT ... ON CONFLICT instead: the stored event is kept, the new one stored once."""
    import ingest.services

    acme_api.post_events([make_event(1, customer_id="first")])
    # A probe that sees nothing stored: exactly what a request racing the first one would see.
    monkeypatch.setattr(ingest.services, "_PROBE_SQL", "SELECT NULL::text WHERE %s::json IS NULL AND %s < 0")
    response = acme_api.post_events([make_event(2, customer_id="new"), make_event(1, customer_id="second")])
    assert response.status_code == 200, response.content
    assert response.json() == {"accepted": 1, "duplicates": 1, "rejected": 0, "errors": []}
    assert dict(Event.objects.filter(org=acme).values_list("event_id", "customer")) == {
        "evt-1": "first",
        "evt-2": "new",
    }
    from costlens.usage.models import DirtyBucket

    assert DirtyBucket.objects.filter(org=acme).count() == 1

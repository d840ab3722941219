"""Superseded attempts (API.md §3): an attempt is superseded when a higher attempt exists for the
same (org, request_id), whatever order they arrive in; shadow calls are never part of the chain.
The hours whose numbers change are marked dirty for the rollup."""

import itertools

import pytest

from costlens.usage.models import DirtyBucket, Event
from tests.conftest import at, make_event


def _attempt(n: int, request: str = "req-1", **overrides) -> dict:
    return make_event(f"{request}-a{n}", request_id=request, attempt=n, **overrides)


def _superseded(org) -> dict[str, bool]:
    return dict(Event.objects.filter(org=org).values_list("event_id", "superseded"))


def _dirty_hours(org) -> set:
    return set(DirtyBucket.objects.filter(org=org).values_list("hour", flat=True))


def test_attempt_2_after_attempt_1_supersedes_it_and_dirties_both_hours(acme_api, acme):
    acme_api.post_events([_attempt(1, timestamp="2026-04-10T10:59:58Z")])
    DirtyBucket.objects.all().delete()  # as if the rollup had run

    acme_api.post_events([_attempt(2, timestamp="2026-04-10T11:00:01Z", fallback_reason="low_confidence")])

    assert _superseded(acme) == {"evt-req-1-a1": True, "evt-req-1-a2": False}
    # 10:00 changed too: its attempt is now superseded (wasted cost moves there).
    assert _dirty_hours(acme) == {at("2026-04-10T10:00:00Z"), at("2026-04-10T11:00:00Z")}


def test_attempt_1_arriving_after_attempt_2_is_superseded_on_arrival(acme_api, acme):
    acme_api.post_events([_attempt(2, timestamp="2026-04-10T11:00:01Z")])
    DirtyBucket.objects.all().delete()

    acme_api.post_events([_attempt(1, timestamp="2026-04-10T10:59:58Z")])

    assert _superseded(acme) == {"evt-req-1-a1": True, "evt-req-1-a2": False}
    assert _dirty_hours(acme) == {at("2026-04-10T10:00:00Z")}


def test_a_chain_of_three_in_one_batch_leaves_only_the_last_live(acme_api, acme):
    acme_api.post_events([_attempt(3), _attempt(1), _attempt(2)])
    assert _superseded(acme) == {"evt-req-1-a1": True, "evt-req-1-a2": True, "evt-req-1-a3": False}


def test_shadow_events_are_never_superseded_and_never_supersede(acme_api, acme):
    acme_api.post_events(
        [
            _attempt(1, request="r"),
            make_event("r-shadow-1", request_id="r", attempt=1, shadow=True, model="claude-haiku-4-5"),
            make_event("r-shadow-2", request_id="r", attempt=2, shadow=True),
        ]
    )
    assert _superseded(acme) == {"evt-r-a1": False, "evt-r-shadow-1": False, "evt-r-shadow-2": False}

    acme_api.post_events([_attempt(2, request="r")])
    assert _superseded(acme) == {
        "evt-r-a1": True,
        "evt-r-a2": False,
        "evt-r-shadow-1": False,
        "evt-r-shadow-2": False,
    }


def test_request_id_defaults_to_event_id_so_a_retry_can_point_at_the_first_call(acme_api, acme):
    acme_api.post_events([make_event("call")])
    acme_api.post_events([make_event("retry", request_id="evt-call", attempt=2)])
    assert _superseded(acme) == {"evt-call": True, "evt-retry": False}


def test_a_duplicate_attempt_does_not_change_anything(acme_api, acme):
    acme_api.post_events([_attempt(1), _attempt(2)])
    DirtyBucket.objects.all().delete()
    response = acme_api.post_events([_attempt(1), _attempt(2)])
    assert response.json()["duplicates"] == 2
    assert _superseded(acme) == {"evt-req-1-a1": True, "evt-req-1-a2": False}
    assert _dirty_hours(acme) == set()


def test_another_orgs_attempts_are_not_part_of_the_chain(acme_api, acme, globex_api, globex):
    globex_api.post_events([_attempt(1)])
    globex_marks = list(DirtyBucket.objects.filter(org=globex).values_list("hour", "generation"))
    acme_api.post_events([_attempt(2)])
    assert _superseded(globex) == {"evt-req-1-a1": False}
    assert list(DirtyBucket.objects.filter(org=globex).values_list("hour", "generation")) == globex_marks


def test_every_hour_a_batch_touches_is_marked_dirty(acme_api, acme):
    acme_api.post_events(
        [
            make_event(1, timestamp="2026-04-10T12:00:00Z"),
            make_event(2, timestamp="2026-04-10T12:59:59.999Z"),
            make_event(3, timestamp="2026-04-10T13:00:00Z"),
            make_event(4, timestamp="2026-04-11T02:30:00+05:00"),  # 2026-04-10T21:30Z
        ]
    )
    assert _dirty_hours(acme) == {
        at("2026-04-10T12:00:00Z"),
        at("2026-04-10T13:00:00Z"),
        at("2026-04-10T21:00:00Z"),
    }
    generation = DirtyBucket.objects.get(org=acme, hour=at("2026-04-10T12:00:00Z")).generation
    acme_api.post_events([make_event(5, timestamp="2026-04-10T12:30:00Z")])
    assert DirtyBucket.objects.get(org=acme, hour=at("2026-04-10T12:00:00Z")).generation == generation + 1


def test_a_batch_of_only_duplicates_or_rejects_marks_nothing(acme_api, acme):
    acme_api.post_events([make_event(1)])
    DirtyBucket.objects.all().delete()
    acme_api.post_events([make_event(1), make_event(2, model="")])
    assert _dirty_hours(acme) == set()


@pytest.mark.django_db(transaction=True)
def test_attempts_of_one_request_in_two_concurrent_batches_still_supersede(acme_api, acme):
    """Attempt 1 and attempt 2 of the same requests posted at the same moment by two clients."""
    requests = [f"race-{i}" for i in range(300)]
    first = [_attempt(1, request=r, customer_id="c1") for r in requests]
    second = [_attempt(2, request=r, customer_id="c2") for r in requests]
    for round_ in range(3):
        suffix = f"-{round_}"
        batches = [
            [dict(e, event_id=e["event_id"] + suffix, request_id=e["request_id"] + suffix) for e in batch]
            for batch in (first, second)
        ]
        answers = [r.status_code for r in acme_api.post_batches_at_once(batches)]
        assert answers == [200, 200]

    flags = Event.objects.filter(org=acme).values_list("attempt", "superseded")
    assert sorted(set(flags)) == [(1, True), (2, False)]
    assert Event.objects.filter(org=acme).count() == 1800


def test_a_retry_in_the_batch_that_is_a_duplicate_supersedes_nothing(acme_api, acme):
    """The first write wins: evt-b is stored as a first attempt of another request, so its re-send
    as attempt 2 of req-1 is a duplicate and must not mark req-1's first attempt (which the batch
    would, if attempts were matched within the batch before the duplicates are known)."""
    acme_api.post_events([make_event("b", request_id="other")])
    response = acme_api.post_events([_attempt(1), make_event("b", request_id="req-1", attempt=2)])
    assert response.json()["duplicates"] == 1
    assert _superseded(acme) == {"evt-b": False, "evt-req-1-a1": False}


def test_attempts_in_one_batch_are_marked_whatever_their_order(acme_api, acme):
    acme_api.post_events([_attempt(2, request="x"), _attempt(1, request="x"), _attempt(1, request="y")])
    assert _superseded(acme) == {"evt-x-a1": True, "evt-x-a2": False, "evt-y-a1": False}
    assert Event.objects.filter(org=acme, superseded=True).count() == 1


@pytest.mark.parametrize("batching", ["one batch", "a batch each"])
@pytest.mark.parametrize("order", list(itertools.permutations((1, 2, 3, "shadow"))), ids=str)
@pytest.mark.parametrize("first_request_id", ["default", "own"])
def test_every_arrival_order_leaves_only_the_highest_attempt_live(
    acme_api, acme, first_request_id, order, batching
):
    """The first attempt either has the default request_id (its own event_id: found through the unique
    (org_id, event_id) index, it has no entry in the partial (org_id, request_id) index) or one of
    its own; retries and a shadow call of the request arrive before, with or after it."""
    request = "evt-call" if first_request_id == "default" else "req-9"
    first = make_event("call") if first_request_id == "default" else make_event("call", request_id=request)
    events = {
        1: first,
        2: make_event("call-a2", request_id=request, attempt=2),
        3: make_event("call-a3", request_id=request, attempt=3),
        "shadow": make_event("call-shadow", request_id=request, shadow=True),
    }
    sent = [events[k] for k in order]
    for batch in [sent] if batching == "one batch" else [[e] for e in sent]:
        assert acme_api.post_events(batch).json()["accepted"] == len(batch)
    assert _superseded(acme) == {
        "evt-call": True,
        "evt-call-a2": True,
        "evt-call-a3": False,
        "evt-call-shadow": False,
    }


def test_an_event_whose_event_id_is_another_requests_id_is_not_part_of_it(acme_api, acme):
    """evt-x belongs to request "mine" (request_id sent); a retry of request "evt-x" must not
    supersede it, and a retry of "mine" must."""
    acme_api.post_events([make_event("x", request_id="mine", attempt=1)])
    acme_api.post_events([make_event("other-a2", request_id="evt-x", attempt=2)])
    assert _superseded(acme) == {"evt-x": False, "evt-other-a2": False}
    acme_api.post_events([make_event("mine-a2", request_id="mine", attempt=2)])
    assert _superseded(acme) == {"evt-x": True, "evt-other-a2": False, "evt-mine-a2": False}


@pytest.mark.parametrize("vendor", ["postgresql", "portable"])
def test_attempts_mark_superseded_reads_both_kinds_of_chain(acme, globex, vendor, monkeypatch):
    """The service on its own (ingest on PostgreSQL marks in its own statement; the SQLite demo
    calls this): a chain whose first attempt has the default request_id and one whose first attempt
    has a request_id of its own; shadow calls and other orgs' events stay as they are. "portable" is
    the ORM path the SQLite demo runs, here against PostgreSQL."""
    from django.db import connection

    from costlens.usage.services import attempts_mark_superseded

    if vendor == "portable":
        monkeypatch.setattr(connection, "vendor", "sqlite")

    def stored(org, event_id, request_id, attempt=1, shadow=False, minute=0):
        Event.objects.create(
            org=org,
            event_id=event_id,
            request_id=request_id,
            attempt=attempt,
            shadow=shadow,
            timestamp=at(f"2026-04-10T12:{minute:02d}:00Z"),
            received_at=at("2026-04-10T12:00:00Z"),
            model_raw="gpt-4o",
            model="gpt-4o",
            input_tokens=1,
            output_tokens=1,
        )

    stored(acme, "a", "a", minute=1)
    stored(acme, "a-2", "a", attempt=2, minute=2)
    stored(acme, "a-s", "a", attempt=3, shadow=True)
    stored(acme, "b-1", "b", minute=3)
    stored(acme, "b-2", "b", attempt=2, minute=4)
    stored(acme, "b-3", "b", attempt=3)
    stored(acme, "lonely", "lonely")
    stored(globex, "a", "a")
    stored(globex, "a-2", "a", attempt=2)

    touched = attempts_mark_superseded(org_id=acme.id, request_ids=["a", "b", "lonely", "missing"])

    assert sorted(touched) == [at(f"2026-04-10T12:0{m}:00Z") for m in (1, 3, 4)]
    assert {k for k, v in _superseded(acme).items() if v} == {"a", "b-1", "b-2"}
    assert not any(_superseded(globex).values())
    assert attempts_mark_superseded(org_id=acme.id, request_ids=["a", "b"]) == []

from costlens.usage.models import Event
from tests.conftest import make_event


def test_a_valid_event_is_stored_priced_and_answered_200(acme_api, acme):
    response = acme_api.post_events([make_event(1)])
    assert response.status_code == 200, response.content
    assert response.json() == {"accepted": 1, "duplicates": 0, "rejected": 0, "errors": []}
    event = Event.objects.get(org=acme, event_id="evt-1")
    # 500 × $3/1M + 200 × $15/1M = $0.0015 + $0.003 = $0.0045
    assert event.cost_nanos == 4_500_000


def test_metadata_is_stored_as_the_json_that_was_sent(acme_api, acme):
    metadata = {"note": 'héllo ✓ "quoted"', "tokens": 12, "ratio": 2.5, "cached": True}
    assert acme_api.post_events([make_event(1, metadata=metadata), make_event(2)]).status_code == 200
    stored = dict(Event.objects.filter(org=acme).values_list("event_id", "metadata"))
    assert stored == {"evt-1": metadata, "evt-2": None}

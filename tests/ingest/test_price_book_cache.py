"""The per-process price book cache must never price an event with a stale book."""

from decimal import Decimal

from costlens.pricing.models import ModelAlias, ModelPrice, OrgPriceOverride
from costlens.usage.models import Event
from tests.conftest import at, make_event


def _cost(org, event_id: str) -> int:
    return Event.objects.get(org=org, event_id=event_id).cost_nanos


def test_a_catalog_price_edited_in_place_prices_the_next_batch(acme_api, acme):
    assert acme_api.post_events([make_event(1)]).status_code == 200
    assert _cost(acme, "evt-1") == 4_500_000  # 500 × $3/1M + 200 × $15/1M
    # Same row count and ids: only the content changes.
    ModelPrice.objects.filter(model="claude-sonnet-4-6").update(input_per_mtok=Decimal("6"))
    assert acme_api.post_events([make_event(2)]).status_code == 200
    assert _cost(acme, "evt-2") == 6_000_000  # 500 × $6/1M + 200 × $15/1M


def test_an_org_override_and_an_alias_are_seen_by_the_next_batch(acme_api, globex_api, acme, globex):
    assert acme_api.post_events([make_event(1)]).status_code == 200
    OrgPriceOverride.objects.create(
        org=acme,
        model="claude-sonnet-4-6",
        effective_from=at("2026-01-01T00:00:00Z"),
        input_per_mtok=Decimal("1"),
        output_per_mtok=Decimal("1"),
    )
    ModelAlias.objects.create(alias="my-deploy", model="claude-sonnet-4-6")
    assert acme_api.post_events([make_event(2), make_event(3, model="my-deploy")]).status_code == 200
    assert _cost(acme, "evt-2") == 700_000  # 700 tokens × $1/1M
    assert Event.objects.get(org=acme, event_id="evt-3").model == "claude-sonnet-4-6"
    assert _cost(acme, "evt-3") == 700_000
    # Another org's book does not take the override.
    assert globex_api.post_events([make_event(1)]).status_code == 200
    assert _cost(globex, "evt-1") == 4_500_000


def test_deleting_the_price_leaves_the_next_batch_unpriced(acme_api, acme):
    assert acme_api.post_events([make_event(1)]).status_code == 200
    ModelPrice.objects.filter(model="claude-sonnet-4-6").delete()
    assert acme_api.post_events([make_event(2)]).status_code == 200
    event = Event.objects.get(org=acme, event_id="evt-2")
    assert event.unpriced and event.cost_nanos == 0

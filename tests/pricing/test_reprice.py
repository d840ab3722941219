"""`manage.py reprice [--model M] [--since DATE] [--org SLUG]`: explicit re-pricing of history."""

import io

import pytest
from django.core.management import CommandError, call_command

from costlens.pricing.models import ModelAlias, ModelPrice
from costlens.pricing.services import events_reprice
from costlens.usage.models import DirtyBucket, Event, HourlyRollup
from routing.models import Route
from tests.conftest import at, make_event


def reprice(*args) -> str:
    out = io.StringIO()
    call_command("reprice", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def cost_of(org, event_id: str) -> int:
    return Event.objects.get(org=org, event_id=f"evt-{event_id}").cost_nanos


def test_an_unpriced_model_is_listed_then_priced_by_import_and_reprice(acme_api, acme, tmp_path):
    events = [
        make_event("m1", model="mystery-9b", timestamp="2026-04-10T12:00:00Z"),
        make_event("m2", model="Vendor/Mystery-9B", timestamp="2026-04-10T13:30:00Z", input_tokens=1000),
        make_event("known", timestamp="2026-04-10T12:00:00Z"),
    ]
    assert acme_api.post_events(events).status_code == 200
    stored = Event.objects.get(org=acme, event_id="evt-m1")
    assert (stored.model, stored.cost_nanos, stored.unpriced) == ("mystery-9b", 0, True)

    unpriced = acme_api.get("/api/v1/prices/unpriced").json()["models"]
    assert unpriced == [
        {
            "model": "mystery-9b",
            "events": 2,
            "input_tokens": 1500,
            "output_tokens": 400,
            "first_seen": "2026-04-10T12:00:00Z",
            "last_seen": "2026-04-10T13:30:00Z",
        }
    ]

    csv_path = tmp_path / "mystery.csv"
    csv_path.write_text(
        "model,provider,effective_from,input_per_mtok,output_per_mtok,"
        "cache_read_per_mtok,cache_write_per_mtok,reasoning_per_mtok\n"
        "mystery-9b,mystery,2026-01-01,0.50,1.50,,,\n"
    )
    call_command("import_prices", str(csv_path), stdout=io.StringIO())
    # A price change never rewrites history by itself.
    assert cost_of(acme, "m1") == 0
    HourlyRollup.objects.filter(org=acme).delete()
    DirtyBucket.objects.filter(org=acme).delete()

    out = reprice()
    assert "Repriced 2 of 3 event(s)" in out
    m1 = Event.objects.get(org=acme, event_id="evt-m1")
    # 500 × $0.50/1M + 200 × $1.50/1M = $0.00055; 1000 × 0.50 + 200 × 1.50 → $0.0008
    assert (m1.cost_nanos, m1.computed_cost_nanos, m1.unpriced, m1.provider) == (
        550_000,
        550_000,
        False,
        "mystery",
    )
    assert cost_of(acme, "m2") == 800_000
    assert acme_api.get("/api/v1/prices/unpriced").json()["models"] == []
    # The touched hours were rolled up again (the command runs the rollup for them).
    hourly = HourlyRollup.objects.filter(org=acme, model="mystery-9b")
    assert sum(r.cost_nanos for r in hourly) == 1_350_000
    assert sum(r.unpriced_events for r in hourly) == 0

    assert "Repriced 0 of 3 event(s)" in reprice()  # idempotent


def test_reprice_marks_the_touched_hours_dirty_for_the_rollup(acme_api, acme):
    events = [
        make_event("a", model="later-model", timestamp="2026-04-10T12:05:00Z"),
        make_event("b", model="later-model", timestamp="2026-04-10T15:59:00Z"),
        make_event("c", timestamp="2026-04-10T18:00:00Z"),
    ]
    assert acme_api.post_events(events).status_code == 200
    DirtyBucket.objects.all().delete()
    ModelPrice.objects.create(
        model="later-model", effective_from=at("2026-01-01T00:00:00Z"), input_per_mtok=1, output_per_mtok=1
    )
    assert events_reprice(org=acme) == 2
    assert sorted(DirtyBucket.objects.filter(org=acme).values_list("hour", flat=True)) == [
        at("2026-04-10T12:00:00Z"),
        at("2026-04-10T15:00:00Z"),
    ]


def test_model_and_since_filters_limit_what_is_repriced(acme_api, acme):
    events = [
        make_event("old", model="claude-sonnet-4-6", timestamp="2026-04-02T00:00:00Z"),
        make_event("new", model="anthropic/claude-sonnet-4.6", timestamp="2026-04-20T00:00:00Z"),
        make_event("other", model="gpt-4o", timestamp="2026-04-20T00:00:00Z"),
    ]
    assert acme_api.post_events(events).status_code == 200
    # A correction of the April catalog row, then a reprice of one model since a date.
    ModelPrice.objects.filter(
        model__in=["claude-sonnet-4-6", "gpt-4o"], effective_from=at("2026-04-01T00:00:00Z")
    ).update(input_per_mtok=2, output_per_mtok=10)
    out = reprice("--model", "Claude-Sonnet-4.6", "--since", "2026-04-10")
    assert "Repriced 1 of 1 event(s)" in out
    assert cost_of(acme, "old") == 4_500_000
    assert cost_of(acme, "new") == 3_000_000  # 500 × 2 + 200 × 10
    assert cost_of(acme, "other") == 3_250_000  # gpt-4o at $2.50/$10, untouched
    assert events_reprice(org=acme) == 2


def test_the_client_cost_still_wins_and_the_baseline_is_recomputed(acme_api, acme):
    Route.objects.create(org=acme, name="support", baseline_model="claude-opus-4-6")
    events = [
        make_event("client", model="cheap-x", cost_usd="0.001", route="support"),
        make_event("computed", model="cheap-x", route="support"),
    ]
    assert acme_api.post_events(events).status_code == 200
    client = Event.objects.get(org=acme, event_id="evt-client")
    computed = Event.objects.get(org=acme, event_id="evt-computed")
    # Unpriced model: a client cost is billed and not "unpriced"; the baseline is Opus 4.6 ($5/$25).
    assert (client.cost_nanos, client.computed_cost_nanos, client.unpriced) == (1_000_000, 0, False)
    assert (computed.cost_nanos, computed.unpriced, computed.baseline_cost_nanos) == (0, True, 7_500_000)

    ModelPrice.objects.create(
        model="cheap-x", effective_from=at("2026-01-01T00:00:00Z"), input_per_mtok=1, output_per_mtok=2
    )
    Route.objects.filter(org=acme, name="support").update(baseline_model="claude-sonnet-4-6")
    assert events_reprice(org=acme) == 2
    client.refresh_from_db()
    computed.refresh_from_db()
    assert (client.cost_nanos, client.computed_cost_nanos, client.baseline_cost_nanos) == (
        1_000_000,
        900_000,
        4_500_000,
    )
    assert (computed.cost_nanos, computed.unpriced, computed.baseline_cost_nanos) == (
        900_000,
        False,
        4_500_000,
    )


def test_an_alias_added_later_reprices_under_the_catalog_name(acme_api, acme):
    assert acme_api.post_events([make_event("dep", model="azure/prod-chat-deployment")]).status_code == 200
    assert Event.objects.get(org=acme).unpriced
    ModelAlias.objects.create(alias="prod-chat-deployment", model="gpt-4o")
    assert "Repriced 1 of 1 event(s)" in reprice("--model", "azure/prod-chat-deployment")
    event = Event.objects.get(org=acme)
    assert (event.model, event.model_raw, event.cost_nanos, event.unpriced) == (
        "gpt-4o",
        "azure/prod-chat-deployment",
        3_250_000,  # 500 × 2.50 + 200 × 10
        False,
    )


def test_chunks_cover_every_event_and_report_progress(acme_api, acme):
    assert acme_api.post_events([make_event(i, model="chunky") for i in range(23)]).status_code == 200
    ModelPrice.objects.create(
        model="chunky", effective_from=at("2026-01-01T00:00:00Z"), input_per_mtok=1, output_per_mtok=1
    )
    seen: list[int] = []
    assert events_reprice(org=acme, progress=seen.append, chunk_size=5) == 23
    assert seen == [5, 5, 5, 5, 3]
    assert set(Event.objects.filter(org=acme).values_list("cost_nanos", flat=True)) == {700_000}


def test_org_option_limits_the_run_and_rejects_unknown_slugs(acme_api, acme, globex):
    assert acme_api.post_events([make_event("x", model="org-model")]).status_code == 200
    ModelPrice.objects.create(
        model="org-model", effective_from=at("2026-01-01T00:00:00Z"), input_per_mtok=1, output_per_mtok=1
    )
    assert "Repriced 0 of 0 event(s) in 1 organization(s)" in reprice("--org", "globex")
    assert "Repriced 1 of 1 event(s) in 1 organization(s)" in reprice("--org", "acme", "--no-rollup")
    with pytest.raises(CommandError, match="no organization with slug 'nope'"):
        reprice("--org", "nope")
    with pytest.raises(CommandError, match="--since 'yesterday'"):
        reprice("--since", "yesterday")

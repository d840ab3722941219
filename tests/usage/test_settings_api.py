"""GET|PATCH /api/v1/settings and the baseline recompute a new baseline model triggers."""

import pytest
from django.core.management import call_command

from costlens.usage.models import DirtyBucket, Event
from costlens.usage.selectors import usage_report
from costlens.usage.services import baselines_recompute
from routing.models import Route
from tests.conftest import at, make_event

WINDOW = {"start": at("2026-04-10T00:00:00Z"), "end": at("2026-04-11T00:00:00Z")}


def test_get_settings(acme_api):
    response = acme_api.get("/api/v1/settings")
    assert response.status_code == 200
    assert response.json() == {
        "name": "Acme AI",
        "slug": "acme",
        "baseline_model": "claude-sonnet-4-6",
        "quality_floor": 0.7,
    }


def test_patch_changes_only_what_is_sent_and_normalises_the_model(acme_api, acme):
    response = acme_api.patch(
        "/api/v1/settings",
        {"baseline_model": "anthropic/Claude-Opus-4.6", "quality_floor": "0.85"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["baseline_model"] == "claude-opus-4-6"
    assert response.json()["quality_floor"] == 0.85
    acme.refresh_from_db()
    assert acme.baseline_model == "claude-opus-4-6"
    assert acme.name == "Acme AI"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"baseline_model": "no-such-model-9000"}, "baseline_model"),
        ({"baseline_model": ""}, "baseline_model"),
        ({"baseline_model": 42}, "baseline_model"),
        ({"quality_floor": 1.5}, "quality_floor"),
        ({"quality_floor": "0.12345"}, "quality_floor"),
        ({"quality_floor": True}, "quality_floor"),
        ({"name": ""}, "name"),
        ({"slug": "evil"}, "slug"),
        ({"baseline_modle": "claude-opus-4-6"}, "baseline_modle"),
    ],
)
def test_patch_rejects_bad_input_with_field_errors_and_changes_nothing(acme_api, acme, body, field):
    response = acme_api.patch(
        "/api/v1/settings", {**body, "name": "Renamed"} if field != "name" else body, format="json"
    )
    assert response.status_code == 400
    assert field in response.json()
    acme.refresh_from_db()
    assert acme.name == "Acme AI"


def test_patch_with_a_non_object_body_is_a_400(acme_api):
    assert acme_api.patch("/api/v1/settings", [1, 2], format="json").status_code == 400
    bad = acme_api.patch("/api/v1/settings", "{not json", content_type="application/json")
    assert bad.status_code == 400


def test_settings_are_per_org(acme_api, globex_api, globex):
    acme_api.patch("/api/v1/settings", {"baseline_model": "claude-opus-4-6"}, format="json")
    assert globex_api.get("/api/v1/settings").json()["baseline_model"] == "claude-sonnet-4-6"
    assert globex_api.get("/api/v1/settings").json()["slug"] == "globex"


def test_a_new_baseline_model_recomputes_savings(acme_api, acme, django_capture_on_commit_callbacks):
    Route.objects.create(org=acme, name="own", baseline_model="claude-haiku-4-5")
    acme_api.post_events(
        [
            make_event(1, model="claude-haiku-4-5", timestamp="2026-04-10T10:00:00Z"),
            make_event(2, model="claude-haiku-4-5", route="own", timestamp="2026-04-10T11:00:00Z"),
        ]
    )
    call_command("rollup", verbosity=0)
    before = usage_report(acme, **WINDOW).totals
    # Sonnet baseline for event 1 ($0.0045), the route's own Haiku baseline for event 2 ($0.0015)
    assert before["baseline_cost_usd"] == "0.006000000"
    assert before["savings_usd"] == "0.003000000"

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = acme_api.patch("/api/v1/settings", {"baseline_model": "claude-opus-4-6"}, format="json")
    assert response.status_code == 200
    assert len(callbacks) == 1  # the recompute is enqueued once the settings are committed
    # Eager Celery in tests: the task ran inline, recomputed and rolled up. Opus 4.6 at $5/$25:
    # 500 × 5 + 200 × 25 = $0.0075 for event 1; event 2 keeps its route's baseline.
    after = usage_report(acme, **WINDOW).totals
    assert after["baseline_cost_usd"] == "0.009000000"
    assert after["savings_usd"] == "0.006000000"
    assert not DirtyBucket.objects.filter(org=acme).exists()


def test_patch_without_a_baseline_change_enqueues_nothing(acme_api, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        acme_api.patch(
            "/api/v1/settings", {"quality_floor": 0.5, "baseline_model": "claude-sonnet-4-6"}, format="json"
        )
    assert callbacks == []


def test_baselines_recompute_for_one_route_marks_its_hours_dirty(acme_api, acme):
    acme_api.post_events(
        [
            make_event(1, route="r1", timestamp="2026-04-10T10:00:00Z"),
            make_event(2, route="r2", timestamp="2026-04-10T12:00:00Z"),
        ]
    )
    call_command("rollup", verbosity=0)
    Route.objects.filter(org=acme, name="r1").update(baseline_model="claude-haiku-4-5")
    assert baselines_recompute(org=acme, route="r1") == 1
    assert list(DirtyBucket.objects.filter(org=acme).values_list("hour", flat=True)) == [
        at("2026-04-10T10:00:00Z")
    ]
    assert Event.objects.get(org=acme, event_id="evt-1").baseline_cost_nanos == 1_500_000
    assert Event.objects.get(org=acme, event_id="evt-2").baseline_cost_nanos == 4_500_000
    assert baselines_recompute(org=acme, route="r1") == 0  # idempotent
    call_command("rollup", verbosity=0)
    assert usage_report(acme, **WINDOW).totals["baseline_cost_usd"] == "0.006000000"

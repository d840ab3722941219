"""Each rule kind fires above its threshold and not at it (the value exactly at the threshold)."""

from costlens.alerts.evaluation import evaluate
from costlens.alerts.rules import spec_from_values, validate_rule
from routing.models import Route
from tests.alerts.helpers import NOW, ingest, revenue, sonnet_events
from tests.conftest import make_event


def findings(org, **fields):
    return {f.key: f for f in evaluate(org, spec_from_values(validate_rule(fields)), NOW)}


def firing(org, **fields) -> set[str]:
    return {k for k, f in findings(org, **fields).items() if f.firing}


def test_negative_margin_boundary_and_min_cost(acme, acme_api):
    ingest(acme_api, sonnet_events("a", 10, customer_id="a") + sonnet_events("b", 10, customer_id="b"))
    revenue(acme, "a", "0.045")  # margin exactly 0
    revenue(acme, "b", "0.044999999")  # margin −1 nano
    assert firing(acme, kind="negative_margin", window="7d") == {"customer=b"}
    # threshold is in USD: "margin below 0.10" catches both
    assert firing(acme, kind="negative_margin", window="7d", threshold="0.1") == {"customer=a", "customer=b"}
    # min cost is inclusive: a cost of exactly $0.045 is evaluated, a cent more is not
    assert firing(acme, kind="negative_margin", window="7d", min_cost_usd="0.045") == {"customer=b"}
    assert firing(acme, kind="negative_margin", window="7d", min_cost_usd="0.045000001") == set()


def test_negative_margin_window_excludes_old_activity(acme, acme_api):
    ingest(acme_api, sonnet_events("old", 3, customer_id="a", ts="2026-04-01T12:00:00Z"))
    assert firing(acme, kind="negative_margin", window="7d") == set()
    assert firing(acme, kind="negative_margin", window="10d") == {"customer=a"}


def test_fallback_rate_boundary_and_route_budget(acme, acme_api):
    events = []
    for i in range(4):
        events.append(
            make_event(f"r{i}", route="support", request_id=f"q{i}", timestamp="2026-04-10T12:00:00Z")
        )
    events.append(
        make_event("f0", route="support", request_id="q0", attempt=2, timestamp="2026-04-10T12:00:01Z")
    )
    ingest(acme_api, events)  # 1 fallback / 4 requests = 0.25
    assert firing(acme, kind="fallback_rate", threshold="0.25") == set()
    assert firing(acme, kind="fallback_rate", threshold="0.2499") == {"route=support"}
    # no threshold: each route's own fallback budget
    assert firing(acme, kind="fallback_rate") == set()  # no budget set: not evaluated
    Route.objects.filter(org=acme, name="support").update(fallback_budget="0.25")
    assert firing(acme, kind="fallback_rate") == set()
    Route.objects.filter(org=acme, name="support").update(fallback_budget="0.2")
    assert firing(acme, kind="fallback_rate") == {"route=support"}


def test_split_drift_boundary_against_target(acme, acme_api):
    events = [make_event(f"h{i}", route="r", model="claude-haiku-4-5") for i in range(3)]
    events.append(make_event("s0", route="r", model="claude-sonnet-4-6"))
    ingest(acme_api, events)
    Route.objects.filter(org=acme, name="r").update(
        target_split={"claude-haiku-4-5": "0.5", "claude-sonnet-4-6": "0.5"}
    )
    # (0.75−0.5)·ln(1.5) + (0.25−0.5)·ln(0.5) = 0.274653…
    found = findings(acme, kind="split_drift")["route=r"]
    assert str(found.value) == "0.274653"
    assert found.firing  # default threshold 0.2
    assert firing(acme, kind="split_drift", threshold="0.274653") == set()
    assert firing(acme, kind="split_drift", threshold="0.274652") == {"route=r"}


def test_spend_spike_boundary(acme, acme_api):
    # history: 7 events in the 7 days before the 24h window = $0.0045 per day on average
    ingest(acme_api, sonnet_events("past", 7, customer_id="a", ts="2026-04-05T12:00:00Z"))
    ingest(acme_api, sonnet_events("now", 3, customer_id="a"))  # $0.0135 today = exactly 3×
    found = findings(acme, kind="spend_spike", window="24h", threshold="3")["customer=a"]
    assert str(found.value) == "3.0000" and not found.firing
    assert firing(acme, kind="spend_spike", window="24h", threshold="2.999") == {"customer=a"}
    # a group with no history has no ratio and does not fire
    ingest(acme_api, sonnet_events("new", 5, customer_id="b"))
    assert "customer=b" not in firing(acme, kind="spend_spike", window="24h", threshold="1")
    # the min cost applies
    assert firing(acme, kind="spend_spike", window="24h", threshold="2.999", min_cost_usd="0.0136") == set()


def test_quality_drop_boundary(acme, acme_api):
    ingest(
        acme_api,
        [make_event(f"q{i}", route="r", model="claude-haiku-4-5", quality_score=0.7) for i in range(2)]
        + [make_event("noq", route="r", model="claude-sonnet-4-6")],
    )
    assert firing(acme, kind="quality_drop", threshold="0.7") == set()
    assert firing(acme, kind="quality_drop", threshold="0.71") == {"route=r|model=claude-haiku-4-5"}
    # default: the org's quality floor (0.7)
    assert firing(acme, kind="quality_drop") == set()
    acme.quality_floor = "0.75"
    acme.save()
    assert firing(acme, kind="quality_drop") == {"route=r|model=claude-haiku-4-5"}


def test_cost_per_request_boundary(acme, acme_api):
    ingest(acme_api, sonnet_events("c", 2, feature="chat"))
    assert firing(acme, kind="cost_per_request", threshold="0.0045", group_by="feature") == set()
    assert firing(acme, kind="cost_per_request", threshold="0.004499999", group_by="feature") == {
        "feature=chat"
    }
    assert firing(acme, kind="cost_per_request", threshold="0.004499999", group_by="") == {"all"}


def test_unpriced_model_boundary(acme, acme_api):
    ingest(acme_api, [make_event(f"u{i}", model="mystery-model-x") for i in range(2)] + sonnet_events("p", 1))
    assert firing(acme, kind="unpriced_model") == {"model=mystery-model-x"}
    assert firing(acme, kind="unpriced_model", threshold="2") == set()
    assert firing(acme, kind="unpriced_model", threshold="1") == {"model=mystery-model-x"}


def test_filters_narrow_the_evaluation(acme, acme_api):
    ingest(acme_api, sonnet_events("a", 2, customer_id="a") + sonnet_events("b", 2, customer_id="b"))
    assert firing(acme, kind="negative_margin", filters={"customer": ["b"]}) == {"customer=b"}


def test_rules_grouped_by_route_evaluate_events_without_a_route(acme, acme_api):
    # Events with no route (and recurring revenue) form the route=null group; evaluating must not crash.
    ingest(acme_api, sonnet_events("past", 7, route="r1", ts="2026-04-05T12:00:00Z"))
    ingest(acme_api, sonnet_events("routed", 3, route="r1") + sonnet_events("bare", 3))
    for kind, threshold in (("spend_spike", "1"), ("cost_per_request", "0.001"), ("quality_drop", "0.5")):
        found = findings(acme, kind=kind, window="24h", threshold=threshold, group_by="route")
        assert "route=" in found or kind == "quality_drop"
        assert all(f.path.startswith("/") for f in found.values())

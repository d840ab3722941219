"""API.md §3 worked example, through the real endpoint.

1,000,000 requests of 500 input / 200 output tokens: all on Claude Sonnet 4.6 ($3/$15) cost
$4,500.000000000; with 70% on Claude Haiku 4.5 ($1/$5) $2,400.000000000; savings against the
Sonnet baseline $2,100.000000000. Posting a million events is a benchmark, not a test, so we post
a 10,000-event sample (10 batches of 1,000: 700 Haiku / 300 Sonnet each) and check the exact
per-event nanos, that a million requests add up to the contract's figures, and the stored sums.
"""

from django.db.models import Count, Sum

from costlens.money import nanos_to_str
from costlens.usage.models import Event
from tests.conftest import make_event

SONNET_NANOS = 4_500_000  # 500 × $3/1M + 200 × $15/1M = $0.0045
HAIKU_NANOS = 1_500_000  # 500 × $1/1M + 200 × $5/1M = $0.0015


def _batch(prefix: str, n: int, *, haiku: int, start: int = 0) -> list[dict]:
    return [
        make_event(
            f"{prefix}-{start + i}",
            model="claude-haiku-4-5" if i < haiku else "claude-sonnet-4-6",
            timestamp=f"2026-04-{10 + (start + i) % 5:02d}T{(start + i) % 24:02d}:15:00Z",
            customer_id=f"cust_{i % 7}",
            route="support",
        )
        for i in range(n)
    ]


def _sums(org) -> dict:
    return Event.objects.filter(org=org).aggregate(
        events=Count("id"), cost=Sum("cost_nanos"), baseline=Sum("baseline_cost_nanos")
    )


def test_one_million_requests_cost_exactly_what_the_contract_says(acme_api, acme, globex_api, globex):
    # The all-Sonnet world: one batch of 1,000 in globex.
    response = globex_api.post_events(_batch("s", 1000, haiku=0))
    assert response.status_code == 200, response.content
    assert response.json()["accepted"] == 1000

    # The routed world: 10 batches of 1,000, 70% Haiku each, in acme.
    for b in range(10):
        response = acme_api.post_events(_batch("r", 1000, haiku=700, start=b * 1000))
        assert response.status_code == 200, response.content
        assert response.json() == {"accepted": 1000, "duplicates": 0, "rejected": 0, "errors": []}

    # Exact per-event nanos, and every Sonnet-priced baseline equals the Sonnet cost.
    per_model = {
        row["model"]: row["cost"]
        for row in Event.objects.filter(org=acme).values("model").annotate(cost=Sum("cost_nanos"))
    }
    assert set(
        Event.objects.filter(org=acme, model="claude-haiku-4-5").values_list("cost_nanos", flat=True)
    ) == {HAIKU_NANOS}
    assert set(
        Event.objects.filter(org=acme, model="claude-sonnet-4-6").values_list("cost_nanos", flat=True)
    ) == {SONNET_NANOS}
    assert set(Event.objects.filter(org=acme).values_list("baseline_cost_nanos", flat=True)) == {SONNET_NANOS}
    assert per_model == {"claude-haiku-4-5": 7000 * HAIKU_NANOS, "claude-sonnet-4-6": 3000 * SONNET_NANOS}

    # A million requests: the contract's figures, exactly.
    all_sonnet = 1_000_000 * SONNET_NANOS
    routed = 700_000 * HAIKU_NANOS + 300_000 * SONNET_NANOS
    assert nanos_to_str(all_sonnet) == "4500.000000000"
    assert nanos_to_str(routed) == "2400.000000000"
    assert nanos_to_str(all_sonnet - routed) == "2100.000000000"

    # The stored samples: 1,000 all-Sonnet requests and 10,000 routed ones.
    sonnet_world = _sums(globex)
    assert sonnet_world["events"] == 1000
    assert nanos_to_str(sonnet_world["cost"]) == "4.500000000"
    assert nanos_to_str(sonnet_world["baseline"] - sonnet_world["cost"]) == "0.000000000"

    routed_world = _sums(acme)
    assert routed_world["events"] == 10_000
    assert nanos_to_str(routed_world["cost"]) == "24.000000000"
    assert nanos_to_str(routed_world["baseline"]) == "45.000000000"
    assert nanos_to_str(routed_world["baseline"] - routed_world["cost"]) == "21.000000000"
    # Scaled to a million requests, the stored sample gives the same answer.
    assert nanos_to_str(routed_world["cost"] * 100) == "2400.000000000"
    assert nanos_to_str((routed_world["baseline"] - routed_world["cost"]) * 100) == "2100.000000000"


def test_the_first_1000_routed_requests_cost_2_40_and_save_2_10(acme_api, acme):
    response = acme_api.post_events(_batch("x", 1000, haiku=700))
    assert response.status_code == 200
    sums = _sums(acme)
    assert nanos_to_str(sums["cost"]) == "2.400000000"
    assert nanos_to_str(sums["baseline"]) == "4.500000000"
    assert nanos_to_str(sums["baseline"] - sums["cost"]) == "2.100000000"

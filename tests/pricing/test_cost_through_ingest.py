"""Costs stored by POST /api/v1/events: exact (API.md §2), event-time prices, org overrides."""

import itertools
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from costlens.pricing.models import ModelPrice
from costlens.usage.models import Event
from tests.conftest import at, make_event

NANO = Decimal("0.000000001")


def expected_cost_nanos(tokens: dict, prices: dict) -> int:
    """API.md §2, written out independently: Decimal arithmetic, half-even to whole nano-USD."""
    p_in, p_out = prices["input"], prices["output"]
    p_cr = p_in if prices["cache_read"] is None else prices["cache_read"]
    p_cw = p_in if prices["cache_write"] is None else prices["cache_write"]
    p_r = p_out if prices["reasoning"] is None else prices["reasoning"]
    with localcontext() as ctx:
        ctx.prec = 100
        uncached_in = tokens["input_tokens"] - tokens["cache_read_tokens"] - tokens["cache_write_tokens"]
        usd = (
            uncached_in * p_in
            + tokens["cache_read_tokens"] * p_cr
            + tokens["cache_write_tokens"] * p_cw
            + (tokens["output_tokens"] - tokens["reasoning_tokens"]) * p_out
            + tokens["reasoning_tokens"] * p_r
        ) / Decimal(1_000_000)
        return int(usd.quantize(NANO, rounding=ROUND_HALF_EVEN) / NANO), usd


@st.composite
def token_counts(draw):
    input_tokens = draw(st.integers(0, 10**10))
    cache_read = draw(st.integers(0, input_tokens))
    cache_write = draw(st.integers(0, input_tokens - cache_read))
    output_tokens = draw(st.integers(0, 10**10))
    reasoning = draw(st.integers(0, output_tokens))
    return {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "cache_read_tokens": cache_read,
        "cache_write_tokens": cache_write,
        "reasoning_tokens": reasoning,
    }


price = st.decimals(min_value=0, max_value=1000, places=12, allow_nan=False, allow_infinity=False)
prices = st.fixed_dictionaries(
    {
        "input": price,
        "output": price,
        "cache_read": st.none() | price,
        "cache_write": st.none() | price,
        "reasoning": st.none() | price,
    }
)
_serial = itertools.count()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(prices=prices, batch=st.lists(token_counts(), min_size=1, max_size=8))
def test_stored_cost_equals_the_exact_decimal_formula_and_sums_do_not_drift(acme_api, acme, prices, batch):
    n = next(_serial)
    model = f"prop-model-{n}"
    ModelPrice.objects.create(
        model=model,
        effective_from=at("2020-01-01T00:00:00Z"),
        input_per_mtok=prices["input"],
        output_per_mtok=prices["output"],
        cache_read_per_mtok=prices["cache_read"],
        cache_write_per_mtok=prices["cache_write"],
        reasoning_per_mtok=prices["reasoning"],
    )
    events = [make_event(f"prop-{n}-{i}", model=model, **tokens) for i, tokens in enumerate(batch)]
    response = acme_api.post_events(events)
    assert response.status_code == 200, response.content
    assert response.json()["accepted"] == len(batch)

    stored = dict(Event.objects.filter(org=acme, model=model).values_list("event_id", "cost_nanos"))
    expected = {e["event_id"]: expected_cost_nanos(t, prices) for e, t in zip(events, batch)}
    assert stored == {k: v[0] for k, v in expected.items()}
    assert not Event.objects.filter(org=acme, model=model, unpriced=True).exists()
    # Aggregates are exact sums of per-event nanos; they stay within half a nano per event of
    # the unrounded total.
    total = Event.objects.filter(org=acme, model=model).aggregate(s=Sum("cost_nanos"))["s"]
    assert total == sum(v[0] for v in expected.values())
    exact_total = sum(v[1] for v in expected.values()) / NANO
    assert abs(total - exact_total) <= Decimal(len(batch)) / 2


def test_the_worked_example_of_the_contract(acme_api, acme):
    # 500 in / 200 out per request: all Sonnet $3/$15 = $0.0045 per request; 70% Haiku 4.5 ($1/$5)
    # costs $0.0015. Per 1,000,000 requests: $4,500, $2,400 and savings $2,100 (API.md §3).
    events = [
        make_event(
            i, model="claude-haiku-4-5" if i < 7 else "claude-sonnet-4-6", timestamp="2026-04-10T12:00:00Z"
        )
        for i in range(10)
    ]
    assert acme_api.post_events(events).status_code == 200
    totals = Event.objects.filter(org=acme).aggregate(
        cost=Sum("cost_nanos"), baseline=Sum("baseline_cost_nanos")
    )
    per_million = 1_000_000 // 10
    assert totals["cost"] * per_million == 2_400 * 10**9
    assert totals["baseline"] * per_million == 4_500 * 10**9
    assert (totals["baseline"] - totals["cost"]) * per_million == 2_100 * 10**9


def test_the_price_in_force_at_the_event_time_applies(acme_api, acme):
    for start, p_in, p_out in (("2026-01-01", "1.00", "2.00"), ("2026-03-01", "3.00", "4.00")):
        ModelPrice.objects.create(
            model="dated-model",
            effective_from=at(f"{start}T00:00:00Z"),
            input_per_mtok=p_in,
            output_per_mtok=p_out,
        )
    events = [
        make_event("before", model="dated-model", timestamp="2025-12-31T23:59:59Z"),
        make_event("old-price", model="dated-model", timestamp="2026-02-28T23:59:59.999Z"),
        make_event("boundary", model="dated-model", timestamp="2026-03-01T00:00:00Z"),
        make_event("new-price", model="Dated-Model", timestamp="2026-03-01T01:00:00+01:00"),  # = boundary
        make_event("later", model="dated-model", timestamp="2026-04-10T12:00:00Z"),
    ]
    assert acme_api.post_events(events).status_code == 200
    cost = dict(Event.objects.filter(org=acme).values_list("event_id", "cost_nanos"))
    unpriced = dict(Event.objects.filter(org=acme).values_list("event_id", "unpriced"))
    # 500 × $1/1M + 200 × $2/1M = $0.0009; 500 × $3/1M + 200 × $4/1M = $0.0023
    assert cost == {
        "evt-before": 0,
        "evt-old-price": 900_000,
        "evt-boundary": 2_300_000,
        "evt-new-price": 2_300_000,
        "evt-later": 2_300_000,
    }
    assert unpriced == {k: k == "evt-before" for k in cost}


def test_an_org_override_beats_the_catalog_for_that_org_only(acme_api, globex_api, acme, globex):
    response = acme_api.post(
        "/api/v1/prices",
        {
            "model": "claude-sonnet-4.6",
            "effective_from": "2026-04-05T00:00:00Z",
            "input_per_mtok": "2.40",
            "output_per_mtok": "12.00",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    events = [
        make_event("catalog-time", timestamp="2026-04-04T12:00:00Z"),
        make_event("override-time", timestamp="2026-04-10T12:00:00Z"),
    ]
    assert acme_api.post_events(events).status_code == 200
    acme_cost = dict(Event.objects.filter(org=acme).values_list("event_id", "cost_nanos"))
    # 500 × 2.40 + 200 × 12.00 = 3,600 µUSD·1e-6 → $0.0036; the catalog's is $0.0045.
    assert acme_cost == {"evt-catalog-time": 4_500_000, "evt-override-time": 3_600_000}
    # Another org keeps the catalog price.
    later = make_event("override-time", timestamp="2026-04-10T12:00:00Z")
    assert globex_api.post_events([later]).status_code == 200
    assert Event.objects.get(org=globex).cost_nanos == 4_500_000
    assert globex_api.get("/api/v1/prices?model=claude-sonnet-4-6").json()["overrides"] == []


def test_a_discount_override_applies_to_every_price_component(acme_api, acme):
    response = acme_api.post(
        "/api/v1/prices",
        {"model": "gpt-4o", "effective_from": "2026-04-01", "discount_pct": "20"},
        format="json",
    )
    assert response.status_code == 201, response.content
    event = make_event(
        "disc", model="openai/gpt-4o-2024-08-06", input_tokens=1000, cache_read_tokens=400, output_tokens=300
    )
    assert acme_api.post_events([event]).status_code == 200
    # Catalog gpt-4o $2.50/$10, cache read falls back to input: (1000 × 2.5 + 300 × 10) / 1M = $0.0055; −20%.
    stored = Event.objects.get(org=acme, event_id="evt-disc")
    assert (stored.model, stored.cost_nanos) == ("gpt-4o", 4_400_000)


def test_the_client_cost_is_billed_and_the_computed_cost_kept(acme_api, acme):
    assert acme_api.post_events([make_event("client", cost_usd="0.0040000005")]).status_code == 200
    stored = Event.objects.get(org=acme, event_id="evt-client")
    assert (stored.cost_nanos, stored.computed_cost_nanos) == (4_000_000, 4_500_000)  # 0.5 nano → even

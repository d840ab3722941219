"""What-if: re-pricing token volumes under another split or catalog date (seed example, exactly)."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from costlens.pricing.models import ModelPrice
from costlens.pricing.selectors import price_book_for
from routing.selectors import ModelVolume, TokenVolume
from routing.whatif import WhatIfError, shares_from_weights, whatif_price
from tests.conftest import make_event

APRIL = datetime(2026, 4, 15, tzinfo=UTC)


def sonnet_volume(requests: int) -> ModelVolume:
    return ModelVolume(
        model="claude-sonnet-4-6",
        calls=requests,
        cost_nanos=0,
        tokens=TokenVolume(input_uncached=500 * requests, output_non_reasoning=200 * requests),
    )


def test_seed_example_one_million_requests(acme):
    result = whatif_price(
        volumes=[sonnet_volume(1_000_000)],
        shares=shares_from_weights({"claude-haiku-4-5": Decimal(70), "claude-sonnet-4-6": Decimal(30)}),
        baseline_model="claude-sonnet-4-6",
        book=price_book_for(acme),
        at=APRIL,
    )
    assert result.current_nanos == 4_500 * 10**9
    assert result.scenario_nanos == 2_400 * 10**9
    assert result.difference_nanos == -2_100 * 10**9
    assert result.baseline_nanos == 4_500 * 10**9
    assert result.scenario_savings_nanos == 2_100 * 10**9
    assert {c.model: c.cost_nanos for c in result.scenario} == {
        "claude-haiku-4-5": 1_050 * 10**9,
        "claude-sonnet-4-6": 1_350 * 10**9,
    }


def test_every_token_kind_is_priced_with_its_own_price(acme):
    ModelPrice.objects.create(
        model="cachey",
        effective_from=datetime(2026, 1, 1, tzinfo=UTC),
        input_per_mtok=Decimal("2"),
        output_per_mtok=Decimal("10"),
        cache_read_per_mtok=Decimal("0.2"),
        cache_write_per_mtok=Decimal("2.5"),
        reasoning_per_mtok=Decimal("12"),
    )
    volume = ModelVolume(
        "cachey",
        1,
        0,
        TokenVolume(
            input_uncached=1_000_000,
            cache_read=1_000_000,
            cache_write=1_000_000,
            output_non_reasoning=1_000_000,
            reasoning=1_000_000,
        ),
    )
    result = whatif_price(
        volumes=[volume],
        shares={"cachey": shares_from_weights({"cachey": Decimal(1)})["cachey"]},
        baseline_model="cachey",
        book=price_book_for(acme),
        at=APRIL,
    )
    assert result.current_nanos == (2 + Decimal("0.2") + Decimal("2.5") + 10 + 12) * 10**9


def test_thirds_are_exact_and_rounded_once_per_model(acme):
    result = whatif_price(
        volumes=[sonnet_volume(1)],
        shares=shares_from_weights({"claude-haiku-4-5": Decimal(1), "claude-sonnet-4-6": Decimal(2)}),
        baseline_model="claude-sonnet-4-6",
        book=price_book_for(acme),
        at=APRIL,
    )
    # 1/3 × $0.0015 = $0.0005 exactly; 2/3 × $0.0045 = $0.003 exactly
    assert {c.model: c.cost_nanos for c in result.scenario} == {
        "claude-haiku-4-5": 500_000,
        "claude-sonnet-4-6": 3_000_000,
    }


def test_unpriced_model_and_empty_shares_are_errors(acme):
    with pytest.raises(WhatIfError):
        shares_from_weights({"claude-haiku-4-5": Decimal(0)})
    with pytest.raises(WhatIfError, match="no price"):
        whatif_price(
            volumes=[sonnet_volume(1)],
            shares={"mystery-model": shares_from_weights({"x": Decimal(1)})["x"]},
            baseline_model="claude-sonnet-4-6",
            book=price_book_for(acme),
            at=APRIL,
        )


def sample(n=1000):
    return [make_event(i, route="support", timestamp="2026-04-10T12:30:00Z") for i in range(n)]


def test_whatif_page_scaled_sample_and_the_1m_volume(ingest, fran_client, acme):
    from routing.selectors import served_volumes

    ingest(sample())
    base = "/routes/what-if/?route=support&start=2026-04-10&end=2026-04-10"
    response = fran_client.get(f"{base}&share:claude-sonnet-4-6=30&add_model=claude-haiku-4-5&add_share=70")
    assert response.status_code == 200
    result = response.context["result"]
    assert result.current_nanos == 4_500_000_000  # $4.5 for 1,000 requests
    assert result.scenario_nanos == 2_400_000_000
    assert "$2.400000000" in response.content.decode()
    # The real 1M volume: the window's token sums from the rollups, scaled ×1000.
    (volume,) = served_volumes(
        acme, "support", start=datetime(2026, 4, 10, tzinfo=UTC), end=datetime(2026, 4, 11, tzinfo=UTC)
    )
    t = volume.tokens
    scaled = ModelVolume(
        volume.model,
        volume.calls * 1000,
        0,
        TokenVolume(
            *(
                x * 1000
                for x in (t.input_uncached, t.cache_read, t.cache_write, t.output_non_reasoning, t.reasoning)
            )
        ),
    )
    full = whatif_price(
        volumes=[scaled],
        shares=shares_from_weights({"claude-haiku-4-5": Decimal(70), "claude-sonnet-4-6": Decimal(30)}),
        baseline_model="claude-sonnet-4-6",
        book=price_book_for(acme),
        at=APRIL,
    )
    assert (full.current_nanos, full.scenario_nanos) == (4_500 * 10**9, 2_400 * 10**9)


def test_whatif_first_visit_starts_from_the_actual_split(ingest, fran_client):
    events = sample(10)
    for e in events[:7]:
        e["model"] = "claude-haiku-4-5"
    ingest(events)
    response = fran_client.get("/routes/what-if/?route=support&start=2026-04-10&end=2026-04-10")
    rows = {r["model"]: r["value"] for r in response.context["share_rows"]}
    assert rows == {"claude-haiku-4-5": "70", "claude-sonnet-4-6": "30"}
    result = response.context["result"]
    assert result.scenario_nanos == result.current_nanos == 7 * 1_500_000 + 3 * 4_500_000


def test_whatif_on_another_catalog_date(ingest, fran_client):
    ingest(sample(10))
    ModelPrice.objects.create(
        model="claude-sonnet-4-6",
        effective_from=datetime(2026, 6, 1, tzinfo=UTC),
        input_per_mtok=Decimal("1.5"),
        output_per_mtok=Decimal("7.5"),
    )
    base = "/routes/what-if/?route=support&start=2026-04-10&end=2026-04-10&share:claude-sonnet-4-6=100"
    before = fran_client.get(base).context["result"]
    after = fran_client.get(base + "&catalog_date=2026-06-02").context["result"]
    assert before.scenario_nanos == 45_000_000
    assert after.scenario_nanos == 22_500_000


def test_whatif_bad_input_is_explained_not_a_500(ingest, fran_client):
    ingest(sample(2))
    base = "/routes/what-if/?route=support&start=2026-04-10&end=2026-04-10"
    response = fran_client.get(base + "&share:claude-sonnet-4-6=abc")
    assert response.status_code == 200
    assert response.context["whatif_errors"]
    response = fran_client.get(base + "&share:claude-sonnet-4-6=0&add_model=no-such-model&add_share=10")
    assert any("no price" in e for e in response.context["whatif_errors"])
    assert fran_client.get("/routes/what-if/?route=nope&start=2026-04-10&end=2026-04-10").status_code == 400

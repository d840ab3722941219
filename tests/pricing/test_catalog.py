"""The shipped catalog holds every model and price the seed articles name, dated by their article."""

from decimal import Decimal

import pytest

from costlens.pricing.models import ModelPrice
from tests.conftest import at

APRIL_2026 = "2026-04-01"  # seeds 000/001: "Current pricing as of April 2026"
NOVEMBER_2025 = "2025-11-01"  # seed 003: "current API pricing (November 2025)"

SEED_PRICES = [
    # seed 000/001 table
    ("gpt-5-nano", APRIL_2026, "0.05", "0.40"),
    ("gemini-2-5-flash-lite", APRIL_2026, "0.10", "0.40"),
    ("deepseek-v3-2", APRIL_2026, "0.28", "0.42"),
    ("gpt-4o", APRIL_2026, "2.50", "10.00"),
    ("gemini-2-5-pro", APRIL_2026, "1.00", "10.00"),
    ("claude-sonnet-4-6", APRIL_2026, "3.00", "15.00"),
    ("claude-opus-4-6", APRIL_2026, "5.00", "25.00"),
    # seed 000/001: "70% Haiku / 30% Sonnet: $2,400" (API.md's worked example: Haiku 4.5 at $1/$5)
    ("claude-haiku-4-5", APRIL_2026, "1.00", "5.00"),
    # seed 003 table
    ("gemini-2-0-flash", NOVEMBER_2025, "0.10", "0.40"),
    ("gpt-4o-mini", NOVEMBER_2025, "0.15", "0.60"),
    ("claude-haiku-3-5", NOVEMBER_2025, "1.00", "5.00"),
    ("gpt-4o", NOVEMBER_2025, "2.50", "10.00"),
    ("claude-sonnet-3-5", NOVEMBER_2025, "3.00", "15.00"),
    ("claude-opus-4", NOVEMBER_2025, "15.00", "75.00"),
    # seed 004 routing tree (undated; agrees with the November 2025 table)
    ("claude-sonnet-4", NOVEMBER_2025, "3.00", "15.00"),
    ("claude-haiku-4-5", NOVEMBER_2025, "1.00", "5.00"),
]


@pytest.mark.parametrize(("model", "day", "p_in", "p_out"), SEED_PRICES)
def test_seed_price_is_in_the_catalog_from_its_article_date(db, model, day, p_in, p_out):
    row = ModelPrice.objects.get(model=model, effective_from=at(f"{day}T00:00:00Z"))
    assert (row.input_per_mtok, row.output_per_mtok) == (Decimal(p_in), Decimal(p_out))
    assert row.cache_read_per_mtok is row.cache_write_per_mtok is row.reasoning_per_mtok is None
    assert "seed 00" in row.source


def test_the_catalog_has_no_row_the_seeds_do_not_name(db):
    shipped = set(ModelPrice.objects.values_list("model", "effective_from"))
    named = {(m, at(f"{d}T00:00:00Z")) for m, d, _, _ in SEED_PRICES}
    assert shipped == named

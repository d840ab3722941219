"""Small pure pieces: money display, exact derived money, chart builders, safe embedding."""

import json
from datetime import UTC, datetime

import pytest

from costlens.dashboard import charts
from costlens.dashboard.tables import Column, Table, per, share_pct, sort_rows
from costlens.dashboard.templatetags.costlens_format import format_usd, price, tokens


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("4500.000000000", "$4,500.00"),
        ("0.004500000", "$0.0045"),
        ("0.123456789", "$0.1235"),
        ("0.000000001", "$0.000000001"),
        ("-12.345000000", "−$12.34"),  # half-even, typographic minus
        ("0", "$0.00"),
        (None, "—"),
    ],
)
def test_money_display(value, shown):
    assert format_usd(value) == shown


@pytest.mark.parametrize(
    "count, shown",
    [
        (0, "0"),
        (9_999, "9,999"),
        (10_000, "10.0K"),
        (887_404, "887.4K"),
        (35_603_934, "35.6M"),
        (2 * 10**9, "2.0B"),
    ],
)
def test_token_counts_are_compact_with_the_exact_count_kept(count, shown):
    html = str(tokens(count))
    assert shown in html
    if count >= 10_000:
        assert f'data-exact="{count}"' in html and f'title="{count:,}"' in html
    assert tokens(None) == "—"


def test_prices_display_trims_zeros_but_stays_exact():
    assert price("3.000000000000") == "$3.00"
    assert price("0.075000000000") == "$0.075"
    assert price(None) == "—"


def test_derived_money_is_exact_and_null_on_zero_denominators():
    assert per("4500.000000000", 1_000_000) == "0.004500000"
    assert per("0.000000001", 2) == "0.000000000"  # half-even: 0.5 nano rounds to even 0
    assert per("0.000000003", 2) == "0.000000002"  # 1.5 → 2
    assert per("0.009000000", 400, scale=1000) == "0.022500000"
    assert per("1.000000000", 0) is None
    assert share_pct("1.000000000", "0.000000000") is None
    assert share_pct("1.000000000", "3.000000000") == 33.33


def test_sort_rows_compares_money_exactly_and_puts_nulls_last():
    rows = [{"v": "10.000000000"}, {"v": None}, {"v": "9.000000000"}, {"v": "100.000000000"}]
    assert [r["v"] for r in sort_rows(rows, "v", True)] == [
        "100.000000000",
        "10.000000000",
        "9.000000000",
        None,
    ]
    assert [r["v"] for r in sort_rows(rows, "v", False)] == [
        "9.000000000",
        "10.000000000",
        "100.000000000",
        None,
    ]


def test_table_csv_uses_api_names_and_exact_strings():
    table = Table(
        "t", [Column("model", "Model"), Column("cost_usd", "Spend", "usd"), Column("rate", "R", "rate")]
    )
    table.rows = [{"model": "m", "cost_usd": "0.000000001", "rate": None}]
    assert table.csv() == "model,cost_usd,rate\nm,0.000000001,\n"


def test_spend_over_time_stacks_models_and_fills_empty_buckets():
    rows = [
        {"day": "2026-04-10", "model": "a", "cost_usd": "1.000000000"},
        {"day": "2026-04-12", "model": "b", "cost_usd": "2.500000000"},
    ]
    fig = charts.spend_over_time_figure(
        rows,
        granularity="day",
        start=datetime(2026, 4, 10, tzinfo=UTC),
        end=datetime(2026, 4, 13, tzinfo=UTC),
    )
    assert fig["layout"]["barmode"] == "stack"
    traces = {t["name"]: t for t in fig["data"]}
    assert list(traces) == ["b", "a"]  # biggest spender first
    assert list(traces["a"]["x"]) == ["2026-04-10", "2026-04-11", "2026-04-12"]
    assert list(traces["a"]["y"]) == [1.0, 0.0, 0.0]
    assert list(traces["b"]["y"]) == [0.0, 0.0, 2.5]


def test_spend_over_time_groups_the_long_tail_as_other():
    rows = [{"day": "2026-04-10", "model": f"m{i}", "cost_usd": f"{i + 1}.000000000"} for i in range(12)]
    fig = charts.spend_over_time_figure(
        rows,
        granularity="day",
        start=datetime(2026, 4, 10, tzinfo=UTC),
        end=datetime(2026, 4, 11, tzinfo=UTC),
    )
    names = [t["name"] for t in fig["data"]]
    assert len(names) == charts.MAX_SERIES + 1 and names[-1] == "other"
    assert sum(t["y"][0] for t in fig["data"]) == sum(range(1, 13))


def test_cost_per_request_bars_say_unpriced_instead_of_a_zero_price():
    rows = [
        {"model": "priced", "cost_per_request_usd": "0.010000000", "events": 4, "unpriced_events": 0},
        {"model": "new-model", "cost_per_request_usd": "0E-9", "events": 3, "unpriced_events": 3},
        {"model": "half", "cost_per_request_usd": "0.002000000", "events": 4, "unpriced_events": 1},
    ]
    bars = charts.cost_per_request_figure(rows)["data"][0]
    labels = dict(zip(bars["y"], bars["text"], strict=True))
    assert labels == {"priced": "$0.01", "new-model": "unpriced", "half": "$0.002 + unpriced"}


def test_embedded_figure_json_cannot_close_the_script_tag():
    fig = charts.spend_by_model_figure([{"model": "</script><script>alert(1)</script>", "cost_usd": "1.0"}])
    embedded = str(charts.embed(fig))
    assert "</script>" not in embedded and "<" not in embedded
    assert json.loads(embedded)["data"][0]["x"][0] == "</script><script>alert(1)</script>"


def test_sparkline_is_an_inline_svg():
    svg = str(charts.sparkline_svg([0.0, 1.0, 0.5]))
    assert svg.startswith('<svg class="sparkline"') and "<polyline" in svg
    assert str(charts.sparkline_svg([])) == ""

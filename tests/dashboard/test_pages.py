"""Overview, Models, Features and Prices: exact figures, the URL contract, CSV, isolation, query counts."""

import csv
import io
import json
import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from costlens.pricing.models import OrgPriceOverride
from costlens.usage.selectors import usage_report
from tests.conftest import at
from tests.dashboard.conftest import DAY

PAGES = ["/", "/models/", "/features/", "/prices/"]


def exact(html: str, testid: str) -> str:
    """The exact money string behind a tile (data-exact) or, for counts/rates, the tile's text."""
    match = re.search(rf'data-testid="{testid}">(.*?)</div>', html, re.S)
    assert match, f"no {testid} in page"
    inner = match.group(1)
    money = re.search(r'data-exact="([^"]+)"', inner)
    return money.group(1) if money else re.sub(r"<[^>]+>", "", inner).strip()


def text(html: str, testid: str) -> str:
    match = re.search(rf'data-testid="{testid}">(.*?)</div>', html, re.S)
    assert match, f"no {testid} in page"
    return " ".join(re.sub(r"<[^>]+>", "", match.group(1)).split())


def day_report(org, **kwargs):
    return usage_report(org, start=at("2026-04-10T00:00:00Z"), end=at("2026-04-11T00:00:00Z"), **kwargs)


def csv_rows(response) -> list[dict]:
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode())))


# --- Overview ---------------------------------------------------------------------------------------


def test_overview_tiles_show_the_exact_figures(fran_client, acme, acme_data):
    html = fran_client.get(f"/?{DAY}").content.decode()
    totals = day_report(acme).totals
    # Hand-computed from the five events (see tests/dashboard/conftest.py), and equal to usage_report.
    assert exact(html, "tile-spend") == "0.013750000" == totals["cost_usd"]
    assert exact(html, "tile-requests") == "4"
    assert exact(html, "tile-cost-per-request") == "0.003437500"  # 0.01375 / 4
    assert exact(html, "tile-fallback-rate") == "25.0%"
    assert exact(html, "tile-error-rate") == "20.0%"  # 1 error / 5 events
    assert exact(html, "tile-unpriced") == "1"
    assert exact(html, "tile-savings") == totals["savings_usd"]
    savings_pct = 100 * Decimal(totals["savings_usd"]) / Decimal(totals["baseline_cost_usd"])
    assert text(html, "tile-savings-pct") == f"{savings_pct:.1f}% of $0.018"
    assert text(html, "tile-margin-pct") == "−37.5% of $0.01 revenue"  # -0.00375 / 0.01
    assert exact(html, "tile-margin") == totals["margin_usd"] == "-0.003750000"
    assert ">$0.01375<" in html  # the spend tile shows 4 significant digits


def test_overview_top_tables_rank_by_spend_and_link_to_the_filtered_overview(fran_client, acme_data):
    html = fran_client.get(f"/?{DAY}").content.decode()
    customers = re.search(r'data-testid="table-customers".*?</table>', html, re.S).group(0)
    assert customers.index(">c1<") < customers.index(">c2<") < customers.index(">c3<")  # 7.75m > 6m > 0
    assert 'href="/?range=custom&amp;start=2026-04-10&amp;end=2026-04-10&amp;customer=c1"' in customers
    features = re.search(r'data-testid="table-features".*?</table>', html, re.S).group(0)
    assert 'href="/?range=custom&amp;start=2026-04-10&amp;end=2026-04-10&amp;feature=chat"' in features
    assert (
        'href="/features/?range=custom&amp;start=2026-04-10&amp;end=2026-04-10&amp;feature=chat"' in features
    )


def test_overview_filtered_by_customer_shows_only_that_customer(fran_client, acme_data):
    html = fran_client.get(f"/?{DAY}&customer=c1").content.decode()
    assert exact(html, "tile-spend") == "0.007750000"  # e1 + e4
    assert exact(html, "tile-requests") == "2"
    assert 'value="c1"' in html  # the filter bar shows the filter from the URL


def test_overview_charts_are_plotly_json_built_in_python(fran_client, acme_data):
    html = fran_client.get(f"/?{DAY}&granularity=hour").content.decode()
    for fig in ("fig-spend-over-time", "fig-cost-per-request"):
        assert f'data-figure="{fig}"' in html
        assert f'<script type="application/json" id="{fig}">' in html
    spend = re.search(r'id="fig-spend-over-time">(.*?)</script>', html, re.S).group(1)
    assert '"barmode": "stack"' in spend
    assert '"name": "claude-sonnet-4-6"' in spend
    per_request = json.loads(re.search(r'id="fig-cost-per-request">(.*?)</script>', html, re.S).group(1))
    bars = per_request["data"][0]
    labels = dict(zip(bars["y"], bars["text"], strict=True))
    assert labels["mystery-model"] == "unpriced"  # no price known, not a $0 model
    assert labels["claude-sonnet-4-6"].startswith("$")


def test_overview_freshness_says_how_old_the_rollups_are(fran_client, acme_data):
    html = fran_client.get(f"/?{DAY}").content.decode()
    assert re.search(r"data as of \d+ s ago", html)


def test_empty_org_gets_instructions_with_a_curl_example(fran_client):
    html = fran_client.get("/").content.decode()
    assert 'data-testid="empty-state"' in html
    assert "curl -X POST http://testserver/api/v1/events" in html
    assert "Authorization: Bearer" in html and 'href="/settings/"' in html


def test_a_window_without_events_says_so_without_the_onboarding(fran_client, acme_data):
    html = fran_client.get("/?range=custom&start=2026-01-01&end=2026-01-02").content.decode()
    assert 'data-testid="no-data"' in html
    assert 'data-testid="empty-state"' not in html


@pytest.mark.parametrize("path", ["/models/", "/features/", "/margin/"])
def test_pages_of_an_org_without_events_say_how_to_send_one(fran_client, path):
    html = fran_client.get(path).content.decode()
    assert 'data-testid="empty-state"' in html
    assert "curl -X POST http://testserver/api/v1/events" in html
    assert 'data-figure="' not in html  # no empty charts with made-up axes
    assert "{#" not in html and "{%" not in html  # no template syntax leaks into the page


@pytest.mark.parametrize(
    ("path", "chart"),
    [
        ("/models/", "fig-spend-by-model"),
        ("/features/", "fig-feature-spend"),
        ("/margin/", "fig-margin-series"),
    ],
)
def test_a_window_without_events_drops_the_empty_charts(fran_client, acme_data, path, chart):
    html = fran_client.get(f"{path}?range=custom&start=2026-01-01&end=2026-01-02").content.decode()
    assert 'data-testid="no-data"' in html and 'data-testid="empty-state"' not in html
    assert f'data-figure="{chart}"' not in html
    assert f'data-figure="{chart}"' in fran_client.get(f"{path}?{DAY}").content.decode()


# --- The URL contract, errors, login ----------------------------------------------------------------


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize(
    "query",
    ["range=custom", "range=custom&start=2026-04-10&end=2026-04-01", "range=forever", "start=not-a-date"],
)
def test_invalid_filters_answer_400_with_the_reason(fran_client, path, query):
    response = fran_client.get(f"{path}?{query}")
    assert response.status_code == 400
    assert 'data-testid="filter-errors"' in response.content.decode()


@pytest.mark.parametrize("path", PAGES)
def test_invalid_filters_on_a_csv_export_answer_400(fran_client, path):
    response = fran_client.get(f"{path}?range=custom&format=csv")
    assert response.status_code == 400


@pytest.mark.parametrize("path", PAGES)
def test_htmx_requests_get_the_page_with_content_and_the_filter_bar(fran_client, acme_data, path):
    response = fran_client.get(f"{path}?{DAY}", headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.content.decode()
    assert '<div id="content">' in html
    assert 'hx-select="#content"' in html and 'hx-push-url="true"' in html


@pytest.mark.parametrize("path", PAGES)
def test_pages_require_login(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


@pytest.mark.parametrize("path", PAGES)
def test_viewer_sees_the_pages_too(client, eli, acme_data, path):
    client.force_login(eli)
    assert client.get(f"{path}?{DAY}").status_code == 200


@pytest.mark.parametrize("path", PAGES)
def test_pages_read_rollups_with_a_bounded_number_of_queries(
    fran_client, acme_data, path, django_assert_max_num_queries
):
    with django_assert_max_num_queries(30):
        assert fran_client.get(f"{path}?{DAY}").status_code == 200
    # A long range reads daily rows; still bounded.
    with django_assert_max_num_queries(30):
        assert fran_client.get(f"{path}?range=custom&start=2026-03-01&end=2026-04-20").status_code == 200


@pytest.mark.parametrize("path", PAGES)
def test_pages_never_read_raw_events(fran_client, acme_data, path, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        fran_client.get(f"{path}?{DAY}")
    assert not [q["sql"] for q in queries if '"usage_event"' in q["sql"]]


# --- Org isolation ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PAGES)
def test_acme_never_sees_globex_data(fran_client, acme_data, globex_data, path):
    html = fran_client.get(f"{path}?{DAY}").content.decode()
    assert "globex-secret-customer" not in html
    assert "globex-feature" not in html
    if path == "/":
        assert exact(html, "tile-spend") == "0.013750000"


def test_globex_sees_only_its_own_data(client, globex, acme_data, globex_data):
    from costlens.accounts.services import user_create

    client.force_login(user_create(email="gus@globex.test", org=globex, password="gus-pass-123"))
    html = client.get(f"/?{DAY}").content.decode()
    assert exact(html, "tile-spend") == "0.007500000"  # Opus 4.6, 500·$5 + 200·$25 per 1M
    assert "globex-secret-customer" in html
    assert ">c1<" not in html


# --- Models -----------------------------------------------------------------------------------------


def test_models_page_shows_per_model_figures(fran_client, acme_data):
    response = fran_client.get(f"/models/?{DAY}&format=csv")
    rows = {r["model"]: r for r in csv_rows(response)}
    assert set(rows) == {"claude-sonnet-4-6", "claude-haiku-4-5", "gpt-4o", "mystery-model"}
    sonnet = rows["claude-sonnet-4-6"]
    assert sonnet["cost_usd"] == "0.009000000"
    assert sonnet["requests"] == "1" and sonnet["events"] == "2"
    assert sonnet["cost_per_request_usd"] == "0.009000000"
    assert sonnet["cost_per_1k_output_usd"] == "0.022500000"  # 0.009 / 400 tokens · 1000
    assert sonnet["p50_latency_ms"] != ""
    assert rows["gpt-4o"]["error_rate"] == "1.0"
    assert rows["mystery-model"]["cost_usd"] == "0.000000000"
    assert rows["mystery-model"]["cost_per_1k_output_usd"] == "0.000000000"
    assert rows["claude-haiku-4-5"]["avg_quality"] == ""


def test_models_page_sorts_from_the_query_string(fran_client, acme_data):
    html = fran_client.get(f"/models/?{DAY}&sort=output_tokens&dir=asc").content.decode()
    table = re.search(r'data-testid="table-models".*?</table>', html, re.S).group(0)
    assert table.index("mystery-model") < table.index("claude-haiku-4-5") < table.index("claude-sonnet-4-6")
    assert 'class="num sorted"' in table
    # The sort survives a filter change: the filter bar carries it as hidden inputs.
    assert '<input type="hidden" name="sort" value="output_tokens">' in html
    asc = fran_client.get(f"/models/?{DAY}&sort=cost_usd&dir=asc&format=csv")
    assert csv_rows(asc)[0]["model"] == "mystery-model"
    desc = fran_client.get(f"/models/?{DAY}&sort=cost_usd&format=csv")
    assert csv_rows(desc)[0]["model"] == "claude-sonnet-4-6"


def test_models_page_marks_unpriced_models_and_shows_the_chart(fran_client, acme_data):
    html = fran_client.get(f"/models/?{DAY}").content.decode()
    assert 'data-figure="fig-spend-by-model"' in html
    assert re.search(r'mystery-model</a> <span class="badge warn">unpriced</span>', html)


def test_unknown_sort_falls_back_to_spend(fran_client, acme_data):
    assert fran_client.get(f"/models/?{DAY}&sort=DROP").status_code == 200


# --- Features ---------------------------------------------------------------------------------------


def test_features_page_share_sparkline_and_drill_down(fran_client, acme_data):
    rows = {r["feature"]: r for r in csv_rows(fran_client.get(f"/features/?{DAY}&format=csv"))}
    assert rows["chat"]["cost_usd"] == "0.007750000"
    assert rows["summarize"]["cost_usd"] == "0.006000000"
    assert rows["chat"]["share_pct"] == "56.36"  # 7.75 / 13.75
    assert rows["summarize"]["fallback_rate"] == "1.0"
    assert rows[""]["cost_usd"] == "0.000000000"  # e5 has no feature
    html = fran_client.get(f"/features/?{DAY}").content.decode()
    assert html.count('<svg class="sparkline"') == 3
    assert 'href="/?range=custom&amp;start=2026-04-10&amp;end=2026-04-10&amp;feature=summarize"' in html


# --- Prices -----------------------------------------------------------------------------------------


def test_prices_page_lists_catalog_overrides_and_unpriced_models(fran_client, acme, acme_data):
    OrgPriceOverride.objects.create(
        org=acme, model="claude-sonnet-4-6", effective_from=datetime(2026, 5, 1, tzinfo=UTC), discount_pct=20
    )
    html = fran_client.get(f"/prices/?{DAY}").content.decode()
    assert 'data-model="claude-sonnet-4-6" data-testid="current-price"' in html
    assert "Committed" not in html
    unpriced = {r["model"]: r for r in csv_rows(fran_client.get(f"/prices/?{DAY}&format=csv&table=unpriced"))}
    assert unpriced == {
        "mystery-model": {
            "model": "mystery-model",
            "unpriced_events": "1",
            "input_tokens": "1000",
            "output_tokens": "100",
            "cached_tokens": "0",
            "reasoning_tokens": "0",
        }
    }
    overrides = csv_rows(fran_client.get(f"/prices/?{DAY}&format=csv&table=overrides"))
    assert overrides[0]["model"] == "claude-sonnet-4-6" and overrides[0]["discount_pct"] == "20.0000"
    catalog = csv_rows(fran_client.get(f"/prices/?{DAY}&format=csv&table=catalog"))
    current = [r for r in catalog if r["model"] == "claude-sonnet-4-6" and r["status"] == "current"]
    assert len(current) == 1


def test_prices_reprices_the_window_at_todays_prices(fran_client, acme, acme_data):
    # A 20% discount on Sonnet from May: today the two Sonnet calls (1,000 in / 400 out) cost 80%.
    OrgPriceOverride.objects.create(
        org=acme, model="claude-sonnet-4-6", effective_from=datetime(2026, 5, 1, tzinfo=UTC), discount_pct=20
    )
    rows = {r["model"]: r for r in csv_rows(fran_client.get(f"/prices/?{DAY}&format=csv&table=reprice"))}
    sonnet = rows["claude-sonnet-4-6"]
    assert sonnet["actual_cost_usd"] == "0.009000000"
    assert sonnet["todays_cost_usd"] == "0.007200000"
    assert sonnet["difference_usd"] == "-0.001800000"
    assert sonnet["change_pct"] == "-20.0"
    assert rows["claude-haiku-4-5"]["difference_usd"] == "0.000000000"
    assert rows["mystery-model"]["todays_cost_usd"] == ""  # no price today
    html = fran_client.get(f"/prices/?{DAY}").content.decode()
    assert exact(html, "reprice-actual") == "0.013750000"
    assert exact(html, "reprice-today") == "0.011950000"
    assert exact(html, "reprice-difference") == "-0.001800000"
    assert "≈" in html


# --- CSV --------------------------------------------------------------------------------------------


def test_overview_csv_exports_each_table_with_the_same_filters(fran_client, acme_data):
    response = fran_client.get(f"/?{DAY}&format=csv&table=customers")
    assert "attachment;" in response["Content-Disposition"]
    assert (
        'filename="costlens-overview-customers-2026041000-2026041100.csv"' in response["Content-Disposition"]
    )
    rows = csv_rows(response)
    assert list(rows[0]) == [
        "customer",
        "cost_usd",
        "share_pct",
        "requests",
        "cost_per_request_usd",
        "revenue_usd",
        "margin_usd",
    ]
    assert [(r["customer"], r["cost_usd"], r["revenue_usd"]) for r in rows] == [
        ("c1", "0.007750000", "0.010000000"),
        ("c2", "0.006000000", "0.000000000"),
        ("c3", "0.000000000", "0.000000000"),
    ]
    filtered = csv_rows(fran_client.get(f"/?{DAY}&feature=summarize&format=csv&table=features"))
    assert [(r["feature"], r["cost_usd"]) for r in filtered] == [("summarize", "0.006000000")]


def test_csv_of_an_unknown_table_is_404(fran_client, acme_data):
    assert fran_client.get(f"/?{DAY}&format=csv&table=nope").status_code == 404


def test_csv_links_on_the_page_carry_the_filters(fran_client, acme_data):
    html = fran_client.get(f"/?{DAY}&feature=chat").content.decode()
    assert (
        'href="?range=custom&amp;start=2026-04-10&amp;end=2026-04-10&amp;feature=chat&amp;format=csv&amp;table=customers"'
        in html
    )


def test_filter_bar_suggests_the_values_seen(fran_client, acme_data, globex_data):
    html = fran_client.get(f"/?{DAY}").content.decode()
    features = re.search(r'<datalist id="opts-feature">(.*?)</datalist>', html, re.S).group(1)
    assert re.findall(r'<option value="([^"]+)">', features) == ["chat", "summarize"]
    models = re.search(r'<datalist id="opts-model">(.*?)</datalist>', html, re.S).group(1)
    assert "mystery-model" in models and "claude-opus-4-6" not in models  # globex's model
    customers = re.search(r'<datalist id="opts-customer">(.*?)</datalist>', html, re.S).group(1)
    assert "c1" in customers and "globex-secret-customer" not in customers

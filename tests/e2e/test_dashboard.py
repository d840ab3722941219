"""The dashboard in a real browser: filters swap #content and the URL, drill-down, CSV, back button."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from costlens.customers.services import customer_upsert
from costlens.customers.validation import CustomerInput
from tests.e2e.conftest import recent_event, wait_for_charts

pytestmark = pytest.mark.e2e


@pytest.fixture
def acme_usage(seed_usage):
    """Two customers inside the last 7 days and one older call only a 30-day range includes."""
    seed_usage(
        [
            recent_event("s1", hours_ago=2, customer_id="c1", feature="chat"),  # Sonnet $0.0045
            recent_event("h1", hours_ago=3, customer_id="c2", feature="summarize", model="claude-haiku-4-5"),
            recent_event("old", hours_ago=24 * 10, customer_id="c1", feature="chat"),
        ]
    )


def spend(page) -> str:
    return page.get_by_test_id("tile-spend").locator("[data-exact]").get_attribute("data-exact")


def test_changing_a_filter_swaps_the_content_redraws_charts_and_updates_the_url(
    fran_page, live_server, acme_usage
):
    page = fran_page
    page.goto(live_server.url + "/")
    wait_for_charts(page)
    assert spend(page) == "0.006000000"
    page.evaluate("window.__sameDocument = true")  # survives an htmx swap, not a page load

    page.get_by_test_id("filter-range").select_option("30d")
    expect(page).to_have_url(re.compile(r"/\?range=30d$"))
    expect(page.get_by_test_id("tile-spend").locator("[data-exact]")).to_have_attribute(
        "data-exact", "0.010500000"
    )
    wait_for_charts(page)
    assert page.evaluate("window.__sameDocument") is True
    assert page.locator("#fig-spend-over-time").count() == 1
    assert page.locator("[data-figure] .main-svg").count() >= 2  # Plotly drew both charts

    # A pasted URL restores the same view.
    other = page.context.new_page()
    other.goto(live_server.url + "/?range=30d")
    assert spend(other) == "0.010500000"
    expect(other.get_by_test_id("filter-range")).to_have_value("30d")


def test_back_button_restores_the_previous_filters(fran_page, live_server, acme_usage):
    page = fran_page
    page.goto(live_server.url + "/?range=7d")
    page.get_by_test_id("filter-range").select_option("30d")
    expect(page).to_have_url(re.compile(r"range=30d"))
    expect(page.get_by_test_id("tile-spend").locator("[data-exact]")).to_have_attribute(
        "data-exact", "0.010500000"
    )
    page.go_back()
    expect(page).to_have_url(re.compile(r"/\?range=7d$"))
    expect(page.get_by_test_id("filter-range")).to_have_value("7d")
    expect(page.get_by_test_id("tile-spend").locator("[data-exact]")).to_have_attribute(
        "data-exact", "0.006000000"
    )
    wait_for_charts(page)
    page.go_forward()
    expect(page.get_by_test_id("filter-range")).to_have_value("30d")
    expect(page.get_by_test_id("tile-spend").locator("[data-exact]")).to_have_attribute(
        "data-exact", "0.010500000"
    )


def test_typing_a_filter_value_filters_and_keeps_the_url_short(fran_page, live_server, acme_usage):
    page = fran_page
    page.goto(live_server.url + "/")
    page.get_by_test_id("filter-customer").fill("c2")
    page.get_by_test_id("filter-customer").press("Enter")
    expect(page).to_have_url(re.compile(r"/\?range=7d&customer=c2$"))
    expect(page.get_by_test_id("tile-spend").locator("[data-exact]")).to_have_attribute(
        "data-exact", "0.001500000"
    )


def test_drill_down_from_a_top_customer_row(fran_page, live_server, acme_usage):
    page = fran_page
    page.goto(live_server.url + "/")
    page.get_by_test_id("table-customers").get_by_role("link", name="c1").click()
    expect(page).to_have_url(re.compile(r"customer=c1"))
    expect(page.get_by_test_id("filter-customer")).to_have_value("c1")
    assert spend(page) == "0.004500000"
    wait_for_charts(page)


def test_drill_down_from_the_features_page(fran_page, live_server, acme_usage):
    page = fran_page
    page.goto(live_server.url + "/features/")
    page.get_by_test_id("table-features").get_by_role("link", name="summarize").click()
    expect(page).to_have_url(re.compile(r"/\?feature=summarize$"))
    assert spend(page) == "0.001500000"


def test_download_a_csv_with_the_same_filters(fran_page, live_server, acme_usage):
    page = fran_page
    page.goto(live_server.url + "/models/?range=30d")
    with page.expect_download() as info:
        page.get_by_test_id("csv-models").click()
    download = info.value
    assert download.suggested_filename.startswith("costlens-models-models-")
    text = Path(download.path()).read_text()
    header, *rows = text.strip().splitlines()
    assert header.split(",")[:3] == ["model", "requests", "events"]
    by_model = {r.split(",")[0]: r.split(",") for r in rows}
    cost = header.split(",").index("cost_usd")
    assert by_model["claude-sonnet-4-6"][cost] == "0.009000000"  # both Sonnet calls in 30 days
    assert by_model["claude-haiku-4-5"][cost] == "0.001500000"


def test_sorting_the_models_table_keeps_the_filters(fran_page, live_server, acme_usage):
    page = fran_page
    page.goto(live_server.url + "/models/?range=30d")
    page.get_by_test_id("table-models").locator("a[data-sort=requests]").click()
    expect(page).to_have_url(re.compile(r"range=30d.*sort=requests&dir=desc"))
    first = page.get_by_test_id("table-models").locator("tbody tr").first
    expect(first).to_contain_text("claude-sonnet-4-6")  # 2 requests vs 1
    # Changing a filter keeps the sort.
    page.get_by_test_id("filter-range").select_option("7d")
    expect(page).to_have_url(re.compile(r"sort=requests"))


def test_an_invalid_custom_range_shows_the_reason(fran_page, live_server, acme_usage):
    page = fran_page
    page.goto(live_server.url + "/")
    page.get_by_test_id("filter-range").select_option("custom")
    expect(page.get_by_test_id("filter-errors")).to_contain_text("needs a start and an end date")
    expect(page.locator("#content")).to_contain_text("Fix the filters")


@pytest.mark.parametrize("path", ["/", "/models/", "/features/", "/prices/"])
def test_every_page_renders_without_console_errors(fran_page, live_server, acme_usage, path):
    errors = []
    fran_page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    fran_page.on("pageerror", lambda e: errors.append(str(e)))
    response = fran_page.goto(live_server.url + path)
    assert response.status == 200
    if fran_page.locator("[data-figure]").count():
        wait_for_charts(fran_page)
    assert errors == []


def test_overview_and_models_tables_fit_their_cards_on_a_laptop_screen(
    fran_page, live_server, seed_usage, acme
):
    """The top-customers table showed seven columns in half the page: the last one, the margin (what
    finance opens the page for), scrolled out of sight behind the card's edge; on the Models page the
    error rate and quality did."""
    customer_upsert(org=acme, external_id="c1", data=CustomerInput({"name": "Summit Commerce Holdings"}))
    seed_usage(
        [
            recent_event(
                "big", hours_ago=2, customer_id="c1", input_tokens=90_000_000, revenue_usd="12345.67"
            ),
            recent_event("small", hours_ago=3, customer_id="c2", model="claude-haiku-4-5"),
        ]
    )
    page = fran_page
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(live_server.url + "/")
    wait_for_charts(page)
    customers = page.get_by_test_id("table-customers")
    expect(customers).to_contain_text("Summit Commerce Holdings")
    expect(customers.locator("th").last).to_have_text("Margin")
    overflowing = (
        "() => Array.from(document.querySelectorAll('.table-wrap'))"
        ".filter(w => w.scrollWidth > w.clientWidth + 1).map(w => w.querySelector('table').dataset.testid)"
    )
    assert page.evaluate(overflowing) == []
    # The Models table's 14 columns, down to error rate and quality.
    page.goto(live_server.url + "/models/")
    expect(page.get_by_test_id("table-models").locator("th").last).to_have_text("Quality")
    assert page.evaluate(overflowing) == []

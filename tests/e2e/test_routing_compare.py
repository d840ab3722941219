"""Browser: compare two routes side by side."""

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import recent_event

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def _patient_expect():
    # The CI box may be busy (2 cores, other suites); page loads with eight Plotly charts can take > 5 s.
    expect.set_options(timeout=15_000)
    yield
    expect.set_options(timeout=5_000)


def test_compare_two_routes(fran_page, live_server, seed_usage):
    events = [recent_event(f"c{i}", route="cheap", model="claude-haiku-4-5") for i in range(4)]
    events += [recent_event(f"p{i}", route="pricey", model="claude-sonnet-4-6") for i in range(2)]
    seed_usage(events)
    page = fran_page
    page.goto(live_server.url + "/routes/")
    page.get_by_test_id("tab-compare").click()
    page.locator("select[name=route_a]").select_option("cheap")
    page.locator("select[name=route_b]").select_option("pricey")
    page.get_by_test_id("compare-submit").click()
    table = page.get_by_test_id("compare-table")
    expect(table).to_contain_text("A: cheap")
    expect(table).to_contain_text("B: pricey")
    row = table.locator("tr[data-metric='Cost per request']")
    expect(row).to_contain_text("$0.001500")
    expect(row).to_contain_text("$0.004500")
    expect(row.locator("td.delta")).to_have_class("num delta worse")
    # Same route, B's route left as "same as A": one route in two periods.
    page.locator("select[name=route_b]").select_option("")
    page.get_by_test_id("compare-submit").click()
    expect(page.get_by_test_id("compare-table")).to_contain_text("B: cheap")

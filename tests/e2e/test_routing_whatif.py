"""Browser: the what-if flow — pick a route, change the split, see the new cost."""

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import recent_event, wait_for_charts

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def _patient_expect():
    # The CI box may be busy (2 cores, other suites); page loads with eight Plotly charts can take > 5 s.
    expect.set_options(timeout=15_000)
    yield
    expect.set_options(timeout=5_000)


def test_whatif_change_the_split_and_see_the_new_cost(fran_page, live_server, seed_usage):
    # 10 requests of 500/200 tokens on Sonnet 4.6: 1/100,000 of the seed example.
    seed_usage([recent_event(i, route="support") for i in range(10)])
    page = fran_page
    page.goto(live_server.url + "/routes/")
    page.get_by_test_id("tab-whatif").click()
    expect(page.get_by_test_id("current-cost")).to_have_text("$0.045000000")
    expect(page.get_by_test_id("scenario-cost")).to_have_text("$0.045000000")
    page.get_by_test_id("share-claude-sonnet-4-6").fill("30")
    page.get_by_test_id("add-model").fill("claude-haiku-4-5")
    page.get_by_test_id("add-share").fill("70")
    page.get_by_test_id("whatif-submit").click()
    expect(page.get_by_test_id("scenario-cost")).to_have_text("$0.024000000")
    expect(page.get_by_test_id("difference")).to_have_text("−$0.021000000")
    expect(page.get_by_test_id("scenario-savings")).to_have_text("$0.021000000")
    expect(page.get_by_test_id("share-claude-haiku-4-5")).to_have_value("70")
    wait_for_charts(page)

import pytest
from playwright.sync_api import expect

from costlens.customers.models import Customer
from tests.e2e.conftest import recent_event, wait_for_charts

pytestmark = pytest.mark.e2e


@pytest.fixture
def customers(seed_usage, acme):
    seed_usage(
        [recent_event(f"l{i}", customer_id="loser", feature="chat") for i in range(4)]
        + [
            recent_event(f"w{i}", customer_id="winner", revenue_usd="2.50", model="claude-haiku-4-5")
            for i in range(2)
        ]
    )
    Customer.objects.filter(org=acme, external_id="loser").update(name="Loser Inc", plan="pro")
    Customer.objects.filter(org=acme, external_id="winner").update(name="Winner LLC", plan="team")


def test_list_worst_first_filter_by_plan_and_drill_down(fran_page, live_server, customers):
    page = fran_page
    page.goto(live_server.url + "/customers/")
    rows = page.get_by_test_id("customer-row")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("Loser Inc")
    expect(rows.first).to_have_class("negative clickable")
    expect(rows.first.get_by_test_id("margin")).to_have_text("−$0.018")
    page.get_by_test_id("filter-plan").select_option("team")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Winner LLC")
    assert "plan=team" in page.url
    rows.first.locator("td").nth(3).click()  # anywhere on the row opens the customer
    expect(page.get_by_test_id("customer-name")).to_have_text("Winner LLC")
    expect(page.get_by_test_id("tile-revenue")).to_have_text("$5.00")
    wait_for_charts(page)


def test_csv_download(fran_page, live_server, customers):
    page = fran_page
    page.goto(live_server.url + "/customers/")
    with page.expect_download() as info:
        page.get_by_test_id("csv-link").click()
    with open(info.value.path()) as f:
        text = f.read()
    assert text.splitlines()[0].startswith("customer_id,name,plan,segment,revenue_usd,cost_usd,margin_usd")
    assert "loser,Loser Inc,pro,,0.000000000,0.018000000,-0.018000000" in text


def test_margin_page_draws_its_charts(fran_page, live_server, customers):
    page = fran_page
    page.goto(live_server.url + "/margin/")
    expect(page.get_by_test_id("tile-margin")).to_have_text("$4.98")
    wait_for_charts(page)

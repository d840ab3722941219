import pytest
from playwright.sync_api import expect

from costlens.customers.models import Customer
from tests.e2e.conftest import recent_event, wait_for_charts

pytestmark = pytest.mark.e2e


def test_create_a_rule_with_preview_see_the_incident_and_open_the_customer(
    fran_page, live_server, seed_usage, acme
):
    seed_usage(
        [recent_event(f"n{i}", customer_id="cust_neg") for i in range(5)]
        + [recent_event("ok", customer_id="cust_ok", revenue_usd="3.00")]
    )
    Customer.objects.filter(org=acme, external_id="cust_neg").update(name="Initech Corp")
    page = fran_page
    page.goto(live_server.url + "/alerts/")
    page.get_by_test_id("new-rule").click()
    page.get_by_test_id("rule-name").fill("Customers losing money")
    # The preview evaluates the form as it is: one of the two customers would fire.
    expect(page.get_by_test_id("preview-count")).to_have_text("1 of 2")
    expect(page.get_by_test_id("preview-row").first).to_contain_text("Initech Corp")
    # Raising the threshold to $5 makes both fire (margin below $5).
    page.get_by_test_id("rule-threshold").fill("5")
    page.get_by_test_id("rule-threshold").dispatch_event("change")
    expect(page.get_by_test_id("preview-count")).to_have_text("2 of 2")
    page.get_by_test_id("rule-threshold").fill("0")
    page.get_by_test_id("rule-threshold").dispatch_event("change")
    expect(page.get_by_test_id("preview-count")).to_have_text("1 of 2")
    page.get_by_test_id("rule-recipients").fill("fran@acme.test")
    page.get_by_test_id("rule-save").click()

    # Saved and evaluated: the incident is listed, naming the customer.
    expect(page).to_have_url(live_server.url + "/alerts/incidents/")
    row = page.get_by_test_id("incident-row")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Customers losing money")
    expect(row).to_contain_text("−$0.0225")
    row.get_by_test_id("incident-customer").click()

    expect(page.get_by_test_id("customer-name")).to_have_text("Initech Corp")
    expect(page.get_by_test_id("customer-incidents")).to_contain_text("Customers losing money")
    expect(page.get_by_test_id("tile-margin")).to_have_text("−$0.0225")
    wait_for_charts(page)


def test_viewers_see_rules_but_cannot_create(login_as, eli, live_server):
    page = login_as(eli)
    page.goto(live_server.url + "/alerts/")
    expect(page.get_by_test_id("rules-table")).to_be_visible()
    expect(page.get_by_test_id("new-rule")).to_have_count(0)

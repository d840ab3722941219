"""Browser: a route's detail page draws every chart; the admin edits its target split."""

import pytest
from playwright.sync_api import expect

from routing.services import parse_route_config, route_upsert
from tests.e2e.conftest import recent_event, wait_for_charts

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def _patient_expect():
    # The CI box may be busy (2 cores, other suites); page loads with eight Plotly charts can take > 5 s.
    expect.set_options(timeout=15_000)
    yield
    expect.set_options(timeout=5_000)


CHARTS = ["split", "psi", "fallback", "savings", "wasted", "bands", "reasons", "cost-quality"]


def configure(org, name, body):
    route_upsert(org=org, name=name, config=parse_route_config(org, body, name=name))


def support_traffic():
    events = []
    for i in range(12):
        model = "claude-haiku-4-5" if i % 3 else "claude-sonnet-4-6"
        events.append(
            recent_event(
                f"s{i}",
                hours_ago=1 + i % 3,
                route="support",
                model=model,
                request_id=f"r{i}",
                router_confidence=0.3 if i % 4 == 0 else 0.95,
                quality_score=0.6 + (i % 4) / 10,
            )
        )
        if i % 4 == 0:
            events.append(
                recent_event(
                    f"s{i}-2",
                    hours_ago=1 + i % 3,
                    route="support",
                    model="claude-opus-4-6",
                    request_id=f"r{i}",
                    attempt=2,
                    fallback_reason="low_confidence",
                )
            )
    events.append(recent_event("shadow", route="support", request_id="r1", shadow=True, model="gpt-4o"))
    return events


def test_route_detail_renders_its_charts(fran_page, live_server, seed_usage, acme):
    configure(
        acme,
        "support",
        {"target_split": {"claude-haiku-4-5": 7, "claude-sonnet-4-6": 3}, "fallback_budget": 0.1},
    )
    seed_usage(support_traffic())
    page = fran_page
    page.goto(live_server.url + "/routes/")
    page.get_by_role("link", name="support").click()
    expect(page.get_by_test_id("route-name")).to_have_text("support")
    wait_for_charts(page)
    for chart in CHARTS:
        expect(page.get_by_test_id(f"chart-{chart}").locator("svg.main-svg").first).to_be_visible()
    expect(page.get_by_test_id("tile-requests")).to_have_text("12")
    expect(page.get_by_test_id("tile-fallback-rate")).to_have_text("25.0%")
    expect(page.get_by_test_id("chain-steps")).to_contain_text("claude-haiku-4-5 → claude-opus-4-6")
    expect(page.get_by_test_id("shadow-table")).to_contain_text("gpt-4o")
    expect(page.get_by_test_id("psi-compared")).to_contain_text("Against the target split")
    # Changing the range through the filter bar redraws the charts (htmx swap).
    page.get_by_test_id("filter-range").select_option("24h")
    page.wait_for_url("**range=24h**")
    wait_for_charts(page)
    expect(page.get_by_test_id("tile-requests")).to_have_text("12")


def test_admin_edits_the_target_split(fran_page, live_server, seed_usage, acme):
    configure(acme, "support", {})
    seed_usage(support_traffic())
    page = fran_page
    page.goto(live_server.url + "/routes/support/")
    expect(page.get_by_test_id("psi-compared")).to_contain_text("Against the previous window")
    page.get_by_test_id("edit-route").click()
    page.get_by_test_id("split-model-0").fill("claude-haiku-4-5")
    page.get_by_test_id("split-weight-0").fill("-5")
    page.get_by_test_id("save-route").click()
    expect(page.get_by_test_id("form-errors")).to_be_visible()
    page.get_by_test_id("split-weight-0").fill("5")
    page.get_by_test_id("split-model-1").fill("claude-sonnet-4-6")
    page.get_by_test_id("split-weight-1").fill("3")
    page.get_by_test_id("split-model-2").fill("claude-opus-4-6")
    page.get_by_test_id("split-weight-2").fill("1")
    page.get_by_test_id("save-route").click()
    expect(page.get_by_test_id("route-name")).to_have_text("support")
    expect(page.locator(".config")).to_contain_text("55.56%")
    expect(page.locator(".config")).to_contain_text("11.11%")
    expect(page.get_by_test_id("psi-compared")).to_contain_text("Against the target split")

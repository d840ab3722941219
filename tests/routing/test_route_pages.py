"""Route pages: who may change what, the settings form, compare, sorting, org isolation."""

import orjson
import pytest
from django.test import Client

from costlens.accounts.services import user_create
from routing.models import Route
from tests.conftest import make_event

DAY = "range=custom&start=2026-04-10&end=2026-04-10"


@pytest.fixture
def two_routes(acme_api, ingest):
    acme_api.put(
        "/api/v1/routes/cheap",
        orjson.dumps({"target_split": {"claude-haiku-4-5": 1}, "fallback_budget": 0.05}),
        content_type="application/json",
    )
    events = [make_event(f"c{i}", route="cheap", model="claude-haiku-4-5") for i in range(4)]
    events.append(
        make_event("c0-2", request_id="evt-c0", attempt=2, route="cheap", fallback_reason="quality")
    )
    events += [make_event(f"p{i}", route="pricey") for i in range(3)]
    events += [make_event(f"q{i}", route="pricey", timestamp="2026-04-11T12:00:00Z") for i in range(4)]
    ingest(events)


def test_list_page_is_sortable_and_flags_budget_and_drift(fran_client, two_routes):
    response = fran_client.get(f"/routes/?{DAY}&sort=-spend")
    assert response.status_code == 200
    rows = response.context["rows"]
    assert [r.name for r in rows] == ["pricey", "cheap"]  # $0.0135 vs 4 × $0.0015 + $0.0045 fallback
    cheap = rows[1]
    assert cheap.fallback_rate == 0.25 and cheap.over_budget is True
    assert cheap.psi == 0.0 and cheap.drift is False
    assert [r.name for r in fran_client.get(f"/routes/?{DAY}&sort=name").context["rows"]] == [
        "cheap",
        "pricey",
    ]
    assert [r.name for r in fran_client.get(f"/routes/?{DAY}&sort=-fallback").context["rows"]] == [
        "cheap",
        "pricey",
    ]
    html = response.content.decode()
    assert "over 5%" in html
    assert '<input type="hidden" name="sort" value="-spend">' in html  # the filter bar keeps the sort
    assert 'href="/routes/cheap/?' in html


def test_viewer_reads_but_cannot_change_routes(eli_client, two_routes):
    assert eli_client.get("/routes/").status_code == 200
    assert eli_client.get(f"/routes/cheap/?{DAY}").status_code == 200
    assert "Edit settings" not in eli_client.get("/routes/cheap/").content.decode()
    assert eli_client.get("/routes/cheap/edit/").status_code == 403
    assert eli_client.post("/routes/cheap/edit/", {"model_0": "gpt-4o", "weight_0": "1"}).status_code == 403
    assert eli_client.post("/routes/new/", {"name": "x"}).status_code == 403
    assert eli_client.post("/routes/cheap/delete/").status_code == 403
    assert Route.objects.get(name="cheap").target_split == {"claude-haiku-4-5": "1.0000"}


def test_admin_edits_a_route_through_the_form(fran_client, two_routes, acme):
    page = fran_client.get("/routes/cheap/edit/")
    assert page.status_code == 200
    response = fran_client.post(
        "/routes/cheap/edit/",
        {
            "model_0": "claude-haiku-4-5",
            "weight_0": "5",
            "model_1": "claude-sonnet-4-6",
            "weight_1": "3",
            "model_2": "claude-opus-4-6",
            "weight_2": "1",
            "baseline_model": "claude-opus-4-6",
            "fallback_chain": "claude-haiku-4-5 → claude-sonnet-4-6, claude-opus-4-6",
            "fallback_budget_pct": "12.5",
        },
    )
    assert response.status_code == 302
    route = Route.objects.get(org=acme, name="cheap")
    assert route.target_split == {
        "claude-haiku-4-5": "0.5556",
        "claude-sonnet-4-6": "0.3333",
        "claude-opus-4-6": "0.1111",
    }
    assert route.fallback_chain == ["claude-haiku-4-5", "claude-sonnet-4-6", "claude-opus-4-6"]
    assert str(route.fallback_budget) == "0.1250"
    assert route.baseline_model == "claude-opus-4-6"


def test_settings_form_shows_field_errors_and_keeps_input(fran_client, two_routes):
    response = fran_client.post(
        "/routes/cheap/edit/", {"model_0": "claude-haiku-4-5", "weight_0": "-2", "fallback_budget_pct": "150"}
    )
    assert response.status_code == 400
    assert set(response.context["errors"]) == {"target_split", "fallback_budget"}
    html = response.content.decode()
    assert 'value="-2"' in html and 'value="150"' in html


def test_admin_creates_and_deletes_a_route(fran_client, acme):
    response = fran_client.post("/routes/new/", {"name": "fresh"})
    assert response.status_code == 302 and response["Location"] == "/routes/fresh/edit/"
    assert Route.objects.filter(org=acme, name="fresh").exists()
    assert fran_client.post("/routes/fresh/delete/").status_code == 302
    assert not Route.objects.filter(org=acme, name="fresh").exists()


def test_another_orgs_route_pages_are_404(two_routes, globex):
    gus = user_create(email="gus@globex.test", org=globex, password="gus-pass-123", admin=True)
    client = Client()
    client.force_login(gus)
    assert client.get("/routes/cheap/").status_code == 404
    assert client.get("/routes/cheap/edit/").status_code == 404
    assert client.post("/routes/cheap/delete/").status_code == 404
    assert client.get("/routes/").context["rows"] == []
    assert client.get("/routes/what-if/?route=cheap&start=2026-04-10&end=2026-04-10").status_code == 400
    assert client.get("/routes/compare/?route_a=cheap&start_a=2026-04-10&end_a=2026-04-10").status_code == 400


def test_compare_two_routes_and_one_route_in_two_periods(fran_client, two_routes):
    response = fran_client.get(
        "/routes/compare/?route_a=cheap&start_a=2026-04-10&end_a=2026-04-10&route_b=pricey"
    )
    assert response.status_code == 200
    rows = {r["label"]: r for r in response.context["rows"]}
    assert rows["Requests"]["a"] == 4 and rows["Requests"]["b"] == 3
    assert rows["Cost per request"]["a"] == 2_625_000  # (4 × 0.0015 + 0.0045) / 4
    assert rows["Cost per request"]["b"] == 4_500_000
    assert rows["Cost per request"]["better"] is False
    assert rows["Fallback rate"]["a"] == 0.25 and rows["Fallback rate"]["b"] == 0.0
    response = fran_client.get(
        "/routes/compare/?route_a=pricey&start_a=2026-04-10&end_a=2026-04-10&start_b=2026-04-11&end_b=2026-04-11"
    )
    rows = {r["label"]: r for r in response.context["rows"]}
    assert (rows["Requests"]["a"], rows["Requests"]["b"], rows["Requests"]["delta"]) == (3, 4, 1)
    bad = fran_client.get("/routes/compare/?route_a=pricey&start_a=2026-04-10&end_a=2026-04-09")
    assert bad.status_code == 400


def test_bad_filters_are_a_400_not_a_500(fran_client, two_routes):
    assert fran_client.get("/routes/?range=custom").status_code == 400
    assert fran_client.get("/routes/cheap/?range=custom&start=2026-04-10").status_code == 400
    assert fran_client.get("/routes/?sort=bogus").status_code == 200


def test_pages_need_login(client):
    assert client.get("/routes/").status_code == 302


def test_detail_page_query_count_does_not_grow_with_traffic(
    fran_client, two_routes, ingest, django_assert_max_num_queries
):
    ingest([make_event(f"more{i}", route="cheap", model="claude-haiku-4-5") for i in range(200)])
    with django_assert_max_num_queries(40):
        assert fran_client.get(f"/routes/cheap/?{DAY}").status_code == 200

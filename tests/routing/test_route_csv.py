"""CSV downloads of the route pages: the routes list and a route's detail tables, with the page's filters.

Expected values are worked out by hand from the events below (catalog prices per 1M input/output tokens:
Haiku 4.5 $1/$5, Sonnet 4.6 $3/$15, Opus 4.6 $5/$25, GPT-4o $2.5/$10; every event 500 in / 200 out, so one
call costs Haiku $0.0015, Sonnet $0.0045, Opus $0.0075, GPT-4o $0.00325; the baseline is the org's Sonnet).
"""

import csv
import html as html_lib
import io
import math
import re

import orjson
import pytest
from django.test import Client

from costlens.accounts.services import user_create
from tests.conftest import make_event

APR10 = "range=custom&start=2026-04-10&end=2026-04-10"
APR11 = "range=custom&start=2026-04-11&end=2026-04-11"
MONEY = re.compile(r"^-?\d+\.\d{9}$")


def csv_rows(response) -> list[dict]:
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def csv_link(html: str, table: str) -> str:
    match = re.search(rf'<a class="csv" href="([^"]*)" download data-testid="csv-{table}">', html)
    assert match, f"no CSV link for {table}"
    return html_lib.unescape(match.group(1))


def attempt(rid: str, n: int, model: str, **fields) -> dict:
    """Attempt n of request `rid` on the "support" route, for customer c-a, on April 10 unless told."""
    defaults = {"route": "support", "customer_id": "c-a", "timestamp": f"2026-04-10T10:{n:02d}:00Z"}
    return make_event(f"{rid}-{n}", **{**defaults, "request_id": rid, "attempt": n, "model": model, **fields})


HAIKU, SONNET, OPUS, GPT4O = "claude-haiku-4-5", "claude-sonnet-4-6", "claude-opus-4-6", "gpt-4o"


@pytest.fixture
def routed(acme_api, globex_api, ingest):
    acme_api.put(
        "/api/v1/routes/support",
        orjson.dumps({"target_split": {HAIKU: 8, SONNET: 2}, "fallback_budget": 0.1}),
        content_type="application/json",
    )
    ingest(
        [
            # April 10, route "support" (customer c-a): five requests.
            attempt("r1", 1, HAIKU, router_confidence=0.95, quality_score=0.9),
            attempt("r2", 1, HAIKU, router_confidence=0.6, quality_score=0.5),
            attempt("r2", 2, SONNET, fallback_reason="quality", quality_score=0.8),
            attempt("r3", 1, HAIKU, router_confidence=0.3, status="error"),
            attempt("r3", 2, SONNET, fallback_reason="error"),
            attempt("r3", 3, OPUS),  # no reason given
            attempt("r4", 1, SONNET, quality_score=0.85),
            make_event(
                "r4-shadow",
                request_id="r4",
                route="support",
                customer_id="c-a",
                model=GPT4O,
                shadow=True,
                quality_score=0.6,
                timestamp="2026-04-10T10:01:00Z",
            ),
            attempt("r5", 1, SONNET, router_confidence=0.65),
            # April 10, route "batch" (auto-created, no target; customer c-b): two GPT-4o requests.
            make_event("b1", route="batch", model=GPT4O, customer_id="c-b"),
            make_event("b2", route="batch", model=GPT4O, customer_id="c-b"),
            # April 11: one "support" request that times out on Haiku and falls back to Sonnet.
            attempt("r6", 1, HAIKU, router_confidence=0.75, timestamp="2026-04-11T09:00:00Z"),
            attempt("r6", 2, SONNET, fallback_reason="timeout", timestamp="2026-04-11T09:01:00Z"),
        ]
    )
    # Another org with a route of the same name and a reason of its own.
    ingest(
        [
            make_event("g1-1", request_id="g1", route="support", model=OPUS, router_confidence=0.95),
            make_event("g1-2", request_id="g1", attempt=2, route="support", fallback_reason="globex-only"),
        ],
        client=globex_api,
    )


@pytest.fixture
def gus_client(globex) -> Client:
    client = Client()
    client.force_login(user_create(email="gus@globex.test", org=globex, password="gus-pass-123", admin=True))
    return client


# --- Routes list ------------------------------------------------------------------------------------


def test_routes_csv_has_every_column_with_exact_values(fran_client, routed):
    rows = csv_rows(fran_client.get(f"/routes/?{APR10}&format=csv&table=routes"))
    assert list(rows[0]) == [
        "route",
        "requests",
        "cost_usd",
        "cost_per_request_usd",
        "savings_usd",
        "savings_pct",
        "fallback_rate",
        "fallback_budget",
        "over_budget",
        "wasted_cost_usd",
        "error_rate",
        "avg_quality",
        "psi",
        "drift",
        "compared_to",
    ]
    assert [r["route"] for r in rows] == ["support", "batch"]  # the page's default: most spend first
    support, batch = rows
    # Haiku ×3 + Sonnet ×4 + Opus + the GPT-4o shadow call = 0.0045 + 0.018 + 0.0075 + 0.00325.
    assert support["cost_usd"] == "0.033250000"
    assert support["requests"] == "5"
    assert support["cost_per_request_usd"] == "0.006650000"  # 0.03325 / 5
    # Superseded: r2's and r3's Haiku attempts, r3's Sonnet attempt.
    assert support["wasted_cost_usd"] == "0.007500000"
    # Five served calls at the Sonnet baseline (0.0225) − the non-shadow cost (0.03).
    assert support["savings_usd"] == "-0.007500000"
    assert support["savings_pct"] == "-33.33"
    assert support["fallback_rate"] == "0.4"  # 2 second attempts / 5 requests
    assert support["fallback_budget"] == "0.1"
    assert support["over_budget"] == "true"
    assert float(support["error_rate"]) == pytest.approx(1 / 9, abs=1e-6)  # r3's first attempt of 9 calls
    assert float(support["avg_quality"]) == pytest.approx((0.9 + 0.5 + 0.8 + 0.85 + 0.6) / 5, abs=1e-6)
    # First attempts: Haiku 3/5, Sonnet 2/5 against the 0.8/0.2 target.
    psi = (0.6 - 0.8) * math.log(0.6 / 0.8) + (0.4 - 0.2) * math.log(0.4 / 0.2)
    assert float(support["psi"]) == pytest.approx(psi, abs=1e-6)
    assert (support["drift"], support["compared_to"]) == ("false", "target")  # 0.196 ≤ 0.2

    assert batch["cost_usd"] == "0.006500000"
    assert batch["requests"] == "2"
    assert batch["cost_per_request_usd"] == "0.003250000"
    assert batch["savings_usd"] == "0.002500000"  # 2 × (0.0045 − 0.00325)
    assert batch["savings_pct"] == "27.78"
    assert (batch["fallback_rate"], batch["fallback_budget"], batch["over_budget"]) == ("0.0", "", "false")
    assert batch["wasted_cost_usd"] == "0.000000000"
    assert batch["avg_quality"] == ""  # no scores: null, not 0
    # No target and no traffic the day before: nothing to compare with.
    assert (batch["psi"], batch["drift"], batch["compared_to"]) == ("", "false", "previous_window")
    for row in rows:
        for key in ("cost_usd", "cost_per_request_usd", "savings_usd", "wasted_cost_usd"):
            assert MONEY.match(row[key]), (key, row[key])


def test_routes_csv_follows_the_filters_and_the_sort(fran_client, routed):
    by_name = csv_rows(fran_client.get(f"/routes/?{APR10}&sort=name&format=csv&table=routes"))
    assert [r["route"] for r in by_name] == ["batch", "support"]
    by_savings = csv_rows(fran_client.get(f"/routes/?{APR10}&sort=-savings&format=csv&table=routes"))
    assert [r["route"] for r in by_savings] == ["batch", "support"]

    only_b = {r["route"]: r for r in csv_rows(fran_client.get(f"/routes/?{APR10}&customer=c-b&format=csv"))}
    # The configured route stays listed, empty; batch is all customer c-b's.
    assert only_b["support"]["requests"] == "0" and only_b["support"]["cost_usd"] == "0.000000000"
    assert only_b["support"]["cost_per_request_usd"] == "" and only_b["support"]["fallback_rate"] == ""
    assert only_b["batch"]["cost_usd"] == "0.006500000"

    next_day = {r["route"]: r for r in csv_rows(fran_client.get(f"/routes/?{APR11}&format=csv"))}
    assert next_day["support"]["requests"] == "1"
    assert next_day["support"]["cost_usd"] == "0.006000000"  # Haiku + Sonnet
    assert next_day["support"]["wasted_cost_usd"] == "0.001500000"
    assert next_day["support"]["fallback_rate"] == "1.0"
    assert next_day["support"]["psi"] != ""  # Haiku 1/1 against the target
    assert next_day["batch"]["requests"] == "0"  # a known route stays listed


def test_routes_page_links_its_csv_with_the_filters(fran_client, routed):
    html = fran_client.get(f"/routes/?{APR10}&customer=c-b&sort=name").content.decode()
    link = csv_link(html, "routes")
    assert link == f"?{APR10}&customer=c-b&sort=name&format=csv&table=routes"
    rows = csv_rows(fran_client.get(f"/routes/{link}"))
    assert [r["route"] for r in rows] == ["batch", "support"]
    assert rows[0]["cost_usd"] == "0.006500000" and rows[1]["requests"] == "0"


def test_routes_csv_unknown_table_is_404_and_bad_filters_400(fran_client, routed):
    response = fran_client.get(f"/routes/?{APR10}&format=csv&table=bands")
    assert response.status_code == 404
    assert fran_client.get("/routes/?range=custom&format=csv&table=routes").status_code == 400


def test_routes_csv_shows_only_the_orgs_own_routes(gus_client, fran_client, routed):
    (row,) = csv_rows(gus_client.get(f"/routes/?{APR10}&format=csv&table=routes"))
    assert row["route"] == "support"
    assert row["requests"] == "1" and row["cost_usd"] == "0.012000000"  # Opus + Sonnet
    acme = {r["route"]: r for r in csv_rows(fran_client.get(f"/routes/?{APR10}&format=csv"))}
    assert acme["support"]["cost_usd"] == "0.033250000"  # unchanged by globex's traffic


# --- Route detail -----------------------------------------------------------------------------------


def detail_csv(client, table: str, query: str = APR10) -> list[dict]:
    return csv_rows(client.get(f"/routes/support/?{query}&format=csv&table={table}"))


def test_detail_bands_csv(fran_client, routed):
    rows = detail_csv(fran_client, "bands")
    assert list(rows[0]) == ["confidence_band", "requests", "fallbacks", "fallback_rate"]
    assert [(r["confidence_band"], r["requests"], r["fallbacks"], r["fallback_rate"]) for r in rows] == [
        ("0–0.5", "1", "1", "1.0"),  # r3
        ("0.5–0.7", "2", "1", "0.5"),  # r2 fell back, r5 did not
        ("0.7–0.8", "0", "0", ""),
        ("0.8–0.9", "0", "0", ""),
        ("0.9–1", "1", "0", "0.0"),  # r1
        ("no confidence sent", "1", "0", "0.0"),  # r4 (its shadow call is no request)
    ]
    next_day = {r["confidence_band"]: r for r in detail_csv(fran_client, "bands", APR11)}
    assert (next_day["0.7–0.8"]["requests"], next_day["0.7–0.8"]["fallbacks"]) == ("1", "1")
    assert next_day["0.5–0.7"]["requests"] == "0"


def test_detail_chain_steps_csv(fran_client, routed):
    rows = detail_csv(fran_client, "chain_steps")
    assert rows == [
        # r2 and r3 Haiku → Sonnet, each wasting the Haiku call.
        {
            "from_attempt": "1",
            "to_attempt": "2",
            "from_model": HAIKU,
            "to_model": SONNET,
            "fallbacks": "2",
            "wasted_cost_usd": "0.003000000",
        },
        # r3 Sonnet → Opus, wasting the Sonnet call.
        {
            "from_attempt": "2",
            "to_attempt": "3",
            "from_model": SONNET,
            "to_model": OPUS,
            "fallbacks": "1",
            "wasted_cost_usd": "0.004500000",
        },
    ]
    (next_day,) = detail_csv(fran_client, "chain_steps", APR11)
    assert (next_day["from_model"], next_day["fallbacks"], next_day["wasted_cost_usd"]) == (
        HAIKU,
        "1",
        "0.001500000",
    )


def test_detail_reasons_csv(fran_client, routed):
    rows = detail_csv(fran_client, "reasons")
    assert [(r["fallback_reason"], r["fallbacks"], r["wasted_cost_usd"]) for r in rows] == [
        ("", "1", "0.004500000"),  # r3's Opus attempt sent no reason: empty, as the API's null
        ("error", "1", "0.001500000"),
        ("quality", "1", "0.001500000"),
    ]
    assert [r["fallback_reason"] for r in detail_csv(fran_client, "reasons", APR11)] == ["timeout"]
    # The chart still names the missing reason.
    html = fran_client.get(f"/routes/support/?{APR10}").content.decode()
    figure = re.search(r'id="fig-reasons"[^>]*>(.*?)</script>', html, re.S).group(1)
    assert "(none given)" in figure


def test_detail_quality_csv(fran_client, routed):
    rows = detail_csv(fran_client, "quality")
    assert list(rows[0]) == [
        "model",
        "calls",
        "avg_quality",
        "quality_samples",
        "below_floor",
        "below_floor_share",
        "cost_per_call_usd",
    ]
    assert [r["model"] for r in rows] == [SONNET, HAIKU, OPUS]  # most calls first; no shadow model
    sonnet, haiku, opus = rows
    assert (sonnet["calls"], sonnet["quality_samples"], sonnet["below_floor"]) == ("4", "2", "0")
    assert float(sonnet["avg_quality"]) == pytest.approx((0.8 + 0.85) / 2, abs=1e-6)
    assert sonnet["below_floor_share"] == "0.0"
    assert sonnet["cost_per_call_usd"] == "0.004500000"
    assert (haiku["calls"], haiku["quality_samples"], haiku["below_floor"]) == ("3", "2", "1")  # 0.5 < 0.7
    assert float(haiku["avg_quality"]) == pytest.approx((0.9 + 0.5) / 2, abs=1e-6)
    assert haiku["below_floor_share"] == "0.5"
    assert haiku["cost_per_call_usd"] == "0.001500000"
    assert (opus["calls"], opus["avg_quality"], opus["below_floor_share"]) == ("1", "", "")
    assert opus["cost_per_call_usd"] == "0.007500000"
    assert [r["model"] for r in detail_csv(fran_client, "quality", APR11)] == [HAIKU, SONNET]


def test_detail_shadow_csv(fran_client, routed):
    (row,) = detail_csv(fran_client, "shadow")
    assert row == {
        "live_model": SONNET,
        "shadow_model": GPT4O,
        "requests": "1",
        "live_quality": "0.85",
        "shadow_quality": "0.6",
        "quality_delta": "-0.25",
        "live_cost_per_call_usd": "0.004500000",
        "shadow_cost_per_call_usd": "0.003250000",
        "cost_delta_pct": "-27.8",  # (0.00325 − 0.0045) / 0.0045
    }
    assert detail_csv(fran_client, "shadow", APR11) == []


def test_detail_page_links_every_csv_with_the_filters(fran_client, routed):
    query = f"{APR10}&customer=c-a&granularity=hour"
    html = fran_client.get(f"/routes/support/?{query}").content.decode()
    for table in ("bands", "chain_steps", "reasons", "quality", "shadow"):
        link = csv_link(html, table)
        assert link == f"?{query}&format=csv&table={table}"
        response = fran_client.get(f"/routes/support/{link}")
        assert response.status_code == 200
        assert response["Content-Disposition"].startswith(f'attachment; filename="costlens-route-{table}-')


def test_detail_csv_unknown_table_is_404(fran_client, routed):
    assert fran_client.get(f"/routes/support/?{APR10}&format=csv&table=routes").status_code == 404
    assert fran_client.get(f"/routes/support/?{APR10}&format=csv&table=nope").status_code == 404


def test_detail_csv_never_shows_another_orgs_data(gus_client, fran_client, routed):
    assert gus_client.get(f"/routes/batch/?{APR10}&format=csv&table=bands").status_code == 404
    # Globex's own "support" route: its one request, none of acme's.
    reasons = detail_csv(gus_client, "reasons")
    assert [(r["fallback_reason"], r["fallbacks"]) for r in reasons] == [("globex-only", "1")]
    bands = {r["confidence_band"]: r["requests"] for r in detail_csv(gus_client, "bands")}
    assert bands == {"0–0.5": "0", "0.5–0.7": "0", "0.7–0.8": "0", "0.8–0.9": "0", "0.9–1": "1"}
    assert [r["model"] for r in detail_csv(gus_client, "quality")] == [OPUS, SONNET]
    assert detail_csv(gus_client, "shadow") == []
    acme_reasons = {r["fallback_reason"] for r in detail_csv(fran_client, "reasons")}
    assert "globex-only" not in acme_reasons

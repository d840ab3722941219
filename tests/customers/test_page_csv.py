"""CSV downloads of the Margin and customer pages' tables: exact money, the page's filters, one org."""

import csv
import io

import pytest

from costlens.accounts.services import user_create
from tests.alerts.helpers import ingest, revenue
from tests.conftest import make_event

# Sonnet 4.6 ($3/$15 per 1M) at 500 input + 200 output tokens: $0.0045 a call; Haiku 4.5 ($1/$5): $0.0015.


def rows(response) -> list[dict]:
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode())))


@pytest.fixture
def fran_client(client, fran):
    client.force_login(fran)
    return client


def test_margin_page_tables_download_with_exact_money(fran_client, seeded):
    html = fran_client.get("/margin/?range=7d").content.decode()
    for name in ("customers", "by_plan", "by_segment", "flipped"):
        assert f'href="?range=7d&amp;format=csv&amp;table={name}"' in html

    customers = rows(fran_client.get("/margin/?range=7d&format=csv&table=customers"))
    by_id = {r["customer_id"]: r for r in customers}
    assert customers[0]["customer_id"] == "loser"  # worst margin first, as on the page
    assert by_id["loser"] == {
        "customer_id": "loser",
        "name": "Loser Inc",
        "plan": "pro",
        "segment": "smb",
        "revenue_usd": "0.000000000",
        "cost_usd": "0.045000000",  # 10 Sonnet calls
        "margin_usd": "-0.045000000",
        "margin_pct": "",  # no revenue: no margin %
    }
    assert (by_id["winner"]["revenue_usd"], by_id["winner"]["cost_usd"]) == ("5.000000000", "0.003000000")
    assert (by_id["winner"]["margin_usd"], by_id["winner"]["margin_pct"]) == ("4.997000000", "99.94")

    plans = {r["plan"]: r for r in rows(fran_client.get("/margin/?range=7d&format=csv&table=by_plan"))}
    assert plans["pro"]["customers"] == "1" and plans["pro"]["margin_usd"] == "-0.045000000"
    assert plans["team"]["margin_usd"] == "4.997000000"
    segments = rows(fran_client.get("/margin/?range=7d&format=csv&table=by_segment"))
    assert {r["segment"]: r["cost_usd"] for r in segments if r["segment"]} == {
        "smb": "0.045000000",
        "enterprise": "0.003000000",
    }


def test_margin_csv_follows_the_filters(fran_client, seeded):
    chat = rows(fran_client.get("/margin/?range=7d&feature=chat&format=csv&table=customers"))
    costs = {r["customer_id"]: r["cost_usd"] for r in chat}
    assert costs["loser"] == "0.045000000"
    assert costs.get("winner", "0.000000000") == "0.000000000"  # its calls are all "search"


def test_flipped_customers_csv(fran_client, acme, acme_api):
    ingest(acme_api, [make_event("p1", customer_id="c", timestamp="2026-04-03T12:00:00Z")])
    ingest(acme_api, [make_event("n1", customer_id="c", timestamp="2026-04-09T12:00:00Z")])
    revenue(acme, "c", "1", start="2026-04-03T00:00:00Z")  # revenue only in the previous window
    window = "range=custom&start=2026-04-07&end=2026-04-10"
    flipped = rows(fran_client.get(f"/margin/?{window}&format=csv&table=flipped"))
    assert flipped == [
        {"customer_id": "c", "name": "", "margin_before_usd": "0.995500000", "margin_usd": "-0.004500000"}
    ]


def test_customer_page_tables_download(fran_client, seeded):
    html = fran_client.get("/customers/loser/?range=7d").content.decode()
    for name in ("features", "models"):
        assert f'href="?range=7d&amp;format=csv&amp;table={name}"' in html
    features = rows(fran_client.get("/customers/loser/?range=7d&format=csv&table=features"))
    assert features == [
        {
            "feature": "chat",
            "requests": "10",
            "events": "10",
            "revenue_usd": "0.000000000",
            "cost_usd": "0.045000000",
            "margin_usd": "-0.045000000",
        }
    ]
    models = rows(fran_client.get("/customers/loser/?range=7d&format=csv&table=models"))
    assert models == [
        {
            "model": "claude-sonnet-4-6",
            "requests": "10",
            "request_share": "1.0",
            "fallbacks": "0",
            "cost_usd": "0.045000000",
            "frontier": "true",  # priced at the org's baseline model
        }
    ]
    # Filters apply: no "search" calls for this customer.
    assert rows(fran_client.get("/customers/loser/?range=7d&feature=search&format=csv&table=features")) == []

    entries = rows(fran_client.get("/customers/winner/?range=7d&format=csv&table=revenue_entries"))
    assert [(e["amount_usd"], e["period_end"] > e["period_start"]) for e in entries] == [
        ("5.000000000", True)
    ]
    winner_features = rows(fran_client.get("/customers/winner/?range=7d&format=csv&table=features"))
    # Recurring revenue has no feature: its own row, as on the page.
    assert {r["feature"]: r["revenue_usd"] for r in winner_features} == {
        "search": "0.000000000",
        "": "5.000000000",
    }


def test_unknown_table_is_a_404_and_other_orgs_see_nothing(fran_client, client, seeded, globex):
    assert fran_client.get("/margin/?range=7d&format=csv&table=nope").status_code == 404
    assert fran_client.get("/customers/loser/?range=7d&format=csv&table=nope").status_code == 404
    intruder = user_create(email="g@globex.test", org=globex, password="x" * 12)
    client.force_login(intruder)
    assert client.get("/customers/loser/?range=7d&format=csv&table=features").status_code == 404
    theirs = rows(client.get("/margin/?range=7d&format=csv&table=customers"))
    assert all(r["customer_id"] not in ("loser", "winner") for r in theirs)
    assert all(r["cost_usd"] == "0.000000000" for r in theirs)

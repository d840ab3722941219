import csv
import io
from datetime import UTC, datetime, timedelta

from tests.alerts.helpers import ingest, revenue
from tests.conftest import make_event
from tests.customers.conftest import recent


def test_customer_list_worst_first_with_negative_rows(client, fran, seeded):
    client.force_login(fran)
    r = client.get("/customers/")
    assert r.status_code == 200
    html = r.content.decode()
    assert html.index("Loser Inc") < html.index("Winner LLC")
    assert 'class="negative clickable"' in html
    rows = r.context["rows"]
    assert rows[0].external_id == "loser"
    assert rows[0].margin_usd == "-0.045000000"
    # filter by plan
    r = client.get("/customers/?plan=team")
    assert [c.external_id for c in r.context["rows"]] == ["winner"]


def test_customer_list_csv(client, fran, seeded):
    client.force_login(fran)
    r = client.get("/customers/export.csv?range=7d")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.content.decode())))
    by_id = {row["customer_id"]: row for row in rows}
    assert by_id["loser"]["margin_usd"] == "-0.045000000"
    assert by_id["winner"]["revenue_usd"] == "5.000000000"
    assert by_id["winner"]["name"] == "Winner LLC"


def test_customer_detail_and_isolation(client, fran, seeded, globex):
    from costlens.accounts.services import user_create

    client.force_login(fran)
    r = client.get("/customers/loser/")
    assert r.status_code == 200
    detail = r.context["detail"]
    assert detail.totals["cost_usd"] == "0.045000000"
    assert detail.expensive_share == 1.0  # all on Sonnet, the baseline model
    assert [row["feature"] for row in detail.by_feature] == ["chat"]
    assert client.get("/customers/nobody/").status_code == 404
    intruder = user_create(email="g@globex.test", org=globex, password="x" * 12)
    client.force_login(intruder)
    assert client.get("/customers/loser/").status_code == 404
    assert b"Loser Inc" not in client.get("/customers/").content


def test_margin_page(client, fran, seeded):
    client.force_login(fran)
    r = client.get("/margin/?range=7d")
    assert r.status_code == 200
    overview = r.context["overview"]
    assert overview.totals["revenue_usd"] == "5.000000000"
    assert dict(overview.histogram)["75% to 100%"] == 1  # winner: 5 − 0.003 over 5
    assert overview.no_revenue == 2  # loser and (unattributed)
    assert r.context["figures"][0]["id"] == "fig-margin-series"


def test_flipped_customers_against_the_previous_window(acme, acme_api, client, fran):
    from costlens.customers.selectors import margin_overview
    from tests.conftest import at

    ingest(acme_api, [make_event("p1", customer_id="c", timestamp="2026-04-03T12:00:00Z")])
    ingest(acme_api, [make_event("n1", customer_id="c", timestamp="2026-04-09T12:00:00Z")])
    revenue(acme, "c", "1", start="2026-04-03T00:00:00Z")  # revenue only in the previous window
    overview = margin_overview(
        acme, start=at("2026-04-07T00:00:00Z"), end=at("2026-04-11T00:00:00Z"), granularity="day"
    )
    assert [(now.external_id, before.margin_usd) for now, before in overview.flipped] == [
        ("c", "0.995500000")
    ]


def test_bad_filter_is_400(client, fran, seeded):
    client.force_login(fran)
    assert client.get("/customers/?range=custom&start=2026-05-01").status_code == 400


def test_customer_pages_query_count_does_not_grow_with_customers(
    client, fran, acme, acme_api, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(fran)

    def count(path):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(path).status_code == 200
        return len(ctx.captured_queries)

    ingest(acme_api, [recent(f"a{i}", customer_id=f"c{i}") for i in range(2)])
    revenue(acme, "c0", "1", start=(datetime.now(UTC) - timedelta(days=2)).strftime("%Y-%m-%dT00:00:00Z"))
    few = {p: count(p) for p in ("/customers/", "/margin/", "/customers/c0/")}
    ingest(acme_api, [recent(f"b{i}", customer_id=f"d{i}", feature=f"f{i % 5}") for i in range(40)])
    for i in range(10):
        revenue(
            acme, f"d{i}", "1", start=(datetime.now(UTC) - timedelta(days=2)).strftime("%Y-%m-%dT00:00:00Z")
        )
    many = {p: count(p) for p in few}
    assert many == few, (few, many)
    assert max(many.values()) <= 40

"""The lean selectors behind sparklines and series give exactly usage_report's figures."""

from costlens.customers.models import Customer
from costlens.customers.selectors import customer_margins, revenue_cost_series, str_to_nanos
from costlens.money import nanos_to_str
from costlens.usage.selectors import customer_daily_margins, usage_report
from tests.alerts.helpers import ingest, revenue
from tests.conftest import at, make_event


def _data(acme, acme_api):
    ingest(
        acme_api,
        [
            make_event("a1", customer_id="c1", timestamp="2026-04-08T10:30:00Z"),
            make_event("a2", customer_id="c1", timestamp="2026-04-09T23:10:00Z", model="claude-haiku-4-5"),
            make_event("a3", customer_id="c2", timestamp="2026-04-09T05:00:00Z", feature="search"),
            make_event("a4", timestamp="2026-04-10T01:00:00Z"),
        ],
    )
    revenue(acme, "c1", "3", start="2026-04-08T06:00:00Z", days=2)
    revenue(acme, "c3", "1", start="2026-04-09T00:00:00Z", days=1)  # revenue without usage


def test_customer_daily_margins_match_the_full_report(acme, acme_api):
    _data(acme, acme_api)
    start, end = at("2026-04-08T07:00:00Z"), at("2026-04-10T05:00:00Z")  # ragged ends: hourly + daily
    full = usage_report(acme, start=start, end=end, group_by=["customer", "day"])
    want = {}
    for row in full.rows:
        want.setdefault(row["customer"], {})[row["day"]] = str_to_nanos(row["margin_usd"])
    got = customer_daily_margins(acme, start=start, end=end, customers=["c1", "c2", "c3", "(unattributed)"])
    assert got == want
    # Only the customers asked for.
    assert set(customer_daily_margins(acme, start=start, end=end, customers=["c2"])) == {"c2"}
    assert (
        customer_daily_margins(acme, start=start, end=end, customers=["c2"], filters={"customer": ["c1"]})
        == {}
    )


def test_customer_margins_trend_and_series_match_the_full_report(acme, acme_api):
    _data(acme, acme_api)
    start, end = at("2026-04-08T00:00:00Z"), at("2026-04-11T00:00:00Z")
    rows = customer_margins(acme, start=start, end=end, with_trend=True)
    full = {r["customer"]: r for r in usage_report(acme, start=start, end=end, group_by=["customer"]).rows}
    assert {r.external_id for r in rows} == set(full)
    for r in rows:
        assert r.revenue_usd == full[r.external_id]["revenue_usd"]
        assert r.cost_usd == full[r.external_id]["cost_usd"]
        for key in ("requests", "fallback_rate", "margin_pct", "events"):
            assert r.metrics[key] == full[r.external_id][key]
        assert len(r.trend) == 3
    by_day = usage_report(acme, start=start, end=end, group_by=["day"]).rows
    series = revenue_cost_series(acme, start=start, end=end, granularity="day", filters={})
    assert series.buckets == ["2026-04-08", "2026-04-09", "2026-04-10"]
    assert [nanos_to_str(n) for n in series.cost_nanos] == [r["cost_usd"] for r in by_day]
    assert [nanos_to_str(n) for n in series.revenue_nanos] == [r["revenue_usd"] for r in by_day]


def test_overview_top_customers_show_names_and_keep_ids_in_links(client, fran, acme, acme_api):
    ingest(acme_api, [make_event("n1", customer_id="cus_0265", timestamp="2026-04-10T10:00:00Z")])
    Customer.objects.update_or_create(org=acme, external_id="cus_0265", defaults={"name": "Initech"})
    client.force_login(fran)
    html = client.get("/?range=custom&start=2026-04-10&end=2026-04-10").content.decode()
    table = html[html.index('data-testid="table-customers"') :]
    table = table[: table.index("</table>")]
    assert ">Initech<" in table
    assert "customer=cus_0265" in table
    assert ">cus_0265<" not in table


def test_revenue_entries_read_once_gives_the_same_figures(acme, acme_api):
    """Inside revenue_entries_read_once the recurring revenue of every window inside the range (any
    grouping, a customer filter) equals what the selectors read on their own, without reading the
    revenue entries again."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from costlens.usage.selectors import revenue_entries_read_once, usage_sums

    _data(acme, acme_api)
    revenue(acme, "c2", "5", start="2026-03-01T00:00:00Z", days=31)  # ends before most windows
    windows = [
        (at("2026-04-08T07:00:00Z"), at("2026-04-10T05:00:00Z")),
        (at("2026-04-06T05:00:00Z"), at("2026-04-08T07:00:00Z")),
        (at("2026-03-30T00:00:00Z"), at("2026-04-09T00:00:00Z")),
    ]
    shapes = [(), ("customer",), ("day",), ("customer", "day"), ("hour",)]
    filters = [{}, {"customer": ["c1", "c3"]}, {"feature": ["search"]}]

    def figures():
        return [
            (
                usage_sums(acme, start=s, end=e, group_by=g, filters=f),
                usage_report(acme, start=s, end=e, filters=f).totals,
            )
            for s, e in windows
            for g in shapes
            for f in filters
        ]

    want = figures()
    shared = revenue_entries_read_once(acme, at("2026-03-30T00:00:00Z"), at("2026-04-10T05:00:00Z"))
    with shared, CaptureQueriesContext(connection) as queries:
        assert figures() == want
    assert not [q for q in queries.captured_queries if "customers_revenueentry" in q["sql"]]
    # Margin overview (this window and the previous one) as before.
    start, end = at("2026-04-08T00:00:00Z"), at("2026-04-11T00:00:00Z")
    from costlens.customers.selectors import margin_overview

    overview = margin_overview(acme, start=start, end=end, granularity="day")
    assert overview.totals == usage_report(acme, start=start, end=end).totals
    assert (
        overview.series.revenue_nanos
        == revenue_cost_series(acme, start=start, end=end, granularity="day", filters={}).revenue_nanos
    )

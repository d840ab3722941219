import itertools

from django.core.management import call_command

from costlens.usage.selectors import usage_report
from tests.conftest import at, make_event


def test_put_creates_then_updates_only_the_fields_sent(acme_api):
    r = acme_api.put(
        "/api/v1/customers/cust_1",
        {"name": "Initech", "metadata": {"crm": "0013", "plan": "pro", "segment": "smb"}},
        format="json",
    )
    assert r.status_code == 201, r.json()
    body = r.json()
    assert body["customer_id"] == "cust_1"
    assert body["name"] == "Initech"
    assert (body["plan"], body["segment"]) == ("pro", "smb")  # taken from metadata
    assert body["metadata"]["crm"] == "0013"

    r = acme_api.put("/api/v1/customers/cust_1", {"plan": "enterprise"}, format="json")
    assert r.status_code == 200
    assert r.json()["name"] == "Initech"
    assert r.json()["plan"] == "enterprise"
    assert acme_api.get("/api/v1/customers/cust_1").json()["plan"] == "enterprise"


def test_put_rejects_bad_fields(acme_api):
    r = acme_api.put("/api/v1/customers/c", {"name": 5, "metadata": [], "colour": "red"}, format="json")
    assert r.status_code == 400
    assert set(r.json()) == {"name", "metadata", "colour"}


def test_customers_are_created_by_ingest_and_listed(acme_api):
    acme_api.post_events([make_event(1, customer_id="cust_a"), make_event(2, customer_id="cust_b")])
    r = acme_api.get("/api/v1/customers")
    assert r.status_code == 200
    assert [c["customer_id"] for c in r.json()["customers"]] == ["cust_a", "cust_b"]
    assert acme_api.get("/api/v1/customers/nope").status_code == 404


def test_revenue_post_and_list(acme_api):
    r = acme_api.post(
        "/api/v1/customers/cust_1/revenue",
        {
            "amount_usd": "300.00",
            "period_start": "2026-04-01T00:00:00Z",
            "period_end": "2026-05-01T00:00:00Z",
            "description": "Pro, April",
        },
        format="json",
    )
    assert r.status_code == 201, r.json()
    assert r.json()["amount_usd"] == "300.000000000"
    listed = acme_api.get("/api/v1/customers/cust_1/revenue").json()["revenue"]
    assert [(e["amount_usd"], e["period_start"], e["period_end"]) for e in listed] == [
        ("300.000000000", "2026-04-01T00:00:00Z", "2026-05-01T00:00:00Z")
    ]


def test_revenue_bad_input_is_400_with_field_errors(acme_api):
    cases = [
        (
            {
                "amount_usd": "abc",
                "period_start": "2026-04-01T00:00:00Z",
                "period_end": "2026-05-01T00:00:00Z",
            },
            "amount_usd",
        ),
        (
            {
                "amount_usd": "-1",
                "period_start": "2026-04-01T00:00:00Z",
                "period_end": "2026-05-01T00:00:00Z",
            },
            "amount_usd",
        ),
        (
            {"amount_usd": "1", "period_start": "2026-05-01T00:00:00Z", "period_end": "2026-05-01T00:00:00Z"},
            "period_end",
        ),
        (
            {"amount_usd": "1", "period_start": "2026-05-01T00:00:00Z", "period_end": "2026-04-01T00:00:00Z"},
            "period_end",
        ),
        (
            {"amount_usd": "1", "period_start": "2026-04-01T00:00:00", "period_end": "2026-05-01T00:00:00Z"},
            "period_start",
        ),
        (
            {"amount_usd": "1", "period_start": "yesterday", "period_end": "2026-05-01T00:00:00Z"},
            "period_start",
        ),
        ({"period_start": "2026-04-01T00:00:00Z", "period_end": "2026-05-01T00:00:00Z"}, "amount_usd"),
        (
            {
                "amount_usd": "1",
                "period_start": "2026-04-01T00:00:00Z",
                "period_end": "2026-05-01T00:00:00Z",
                "x": 1,
            },
            "x",
        ),
    ]
    for body, field in cases:
        r = acme_api.post("/api/v1/customers/c1/revenue", body, format="json")
        assert r.status_code == 400, body
        assert field in r.json(), (body, r.json())
    r = acme_api.post("/api/v1/customers/c1/revenue", b"{not json", content_type="application/json")
    assert r.status_code == 400
    assert acme_api.get("/api/v1/customers/c1/revenue").status_code == 404  # nothing was created


def test_another_org_cannot_read_or_list_customers(acme_api, globex_api):
    acme_api.put("/api/v1/customers/cust_1", {"name": "Initech"}, format="json")
    acme_api.post(
        "/api/v1/customers/cust_1/revenue",
        {"amount_usd": "10", "period_start": "2026-04-01", "period_end": "2026-04-02"},
        format="json",
    )
    assert globex_api.get("/api/v1/customers/cust_1").status_code == 404
    assert globex_api.get("/api/v1/customers/cust_1/revenue").status_code == 404
    assert globex_api.get("/api/v1/customers").json()["customers"] == []


def test_unauthenticated_is_401(client, acme):
    assert client.get("/api/v1/customers").status_code == 401


def test_300_over_30_days_is_exactly_10_per_day_and_splits_add_up(acme_api, acme):
    acme_api.post(
        "/api/v1/customers/cust_1/revenue",
        {
            "amount_usd": "300.00",
            "period_start": "2026-04-01T00:00:00Z",
            "period_end": "2026-05-01T00:00:00Z",
        },
        format="json",
    )
    call_command("rollup")
    report = usage_report(
        acme, start=at("2026-04-01T00:00:00Z"), end=at("2026-05-01T00:00:00Z"), group_by=["day"]
    )
    assert len(report.rows) == 30
    assert {r["revenue_usd"] for r in report.rows} == {"10.000000000"}
    assert report.totals["revenue_usd"] == "300.000000000"
    # Hourly split over the month, and a ragged window split in three, both add up exactly.
    hourly = usage_report(
        acme, start=at("2026-04-01T00:00:00Z"), end=at("2026-05-01T00:00:00Z"), group_by=["hour"]
    )
    assert sum(int(r["revenue_usd"].replace(".", "")) for r in hourly.rows) == 300 * 10**9
    cuts = ["2026-03-20T00:00:00Z", "2026-04-07T05:00:00Z", "2026-04-19T17:00:00Z", "2026-05-09T00:00:00Z"]
    parts = [
        usage_report(acme, start=at(a), end=at(b)).totals["revenue_usd"] for a, b in itertools.pairwise(cuts)
    ]
    assert sum(int(p.replace(".", "")) for p in parts) == 300 * 10**9


def test_prorating_with_an_uneven_amount_still_sums_exactly(acme_api, acme):
    acme_api.post(
        "/api/v1/customers/c/revenue",
        {
            "amount_usd": "100.00",
            "period_start": "2026-04-01T00:00:00Z",
            "period_end": "2026-04-04T00:00:00Z",
        },
        format="json",
    )
    report = usage_report(
        acme, start=at("2026-04-01T00:00:00Z"), end=at("2026-04-04T00:00:00Z"), group_by=["day"]
    )
    assert [r["revenue_usd"] for r in report.rows] == ["33.333333333", "33.333333334", "33.333333333"]
    assert report.totals["revenue_usd"] == "100.000000000"


def test_margin_by_customer_matches_an_independent_computation(acme_api, acme):
    # Sonnet 4.6 at $3/$15 per 1M: 500 in / 200 out = $0.0045 per event.
    events = [make_event(f"a{i}", customer_id="a", timestamp="2026-04-10T12:00:00Z") for i in range(10)]
    events += [
        make_event(
            f"b{i}",
            customer_id="b",
            model="claude-haiku-4-5",
            timestamp="2026-04-10T13:00:00Z",
            revenue_usd="0.002",
        )
        for i in range(4)
    ]
    acme_api.post_events(events)
    acme_api.post(
        "/api/v1/customers/a/revenue",
        {"amount_usd": "0.24", "period_start": "2026-04-10T00:00:00Z", "period_end": "2026-04-11T00:00:00Z"},
        format="json",
    )
    call_command("rollup")
    from costlens.customers.selectors import customer_margins

    rows = {
        r.external_id: r
        for r in customer_margins(acme, start=at("2026-04-10T00:00:00Z"), end=at("2026-04-11T00:00:00Z"))
    }
    # a: revenue 0.24, cost 10 × 0.0045 = 0.045 → margin 0.195 (81.25 %)
    assert rows["a"].margin_usd == "0.195000000"
    assert rows["a"].margin_pct == 81.25
    # b: Haiku 4.5 at $1/$5: 500 × 1e-6 + 200 × 5e-6 = 0.0015 per event; revenue 4 × 0.002
    assert rows["b"].cost_usd == "0.006000000"
    assert rows["b"].margin_usd == "0.002000000"
    # half a day of the entry: exactly half the amount
    half = customer_margins(acme, start=at("2026-04-10T00:00:00Z"), end=at("2026-04-10T12:00:00Z"))
    assert [r.revenue_usd for r in half if r.external_id == "a"] == ["0.120000000"]

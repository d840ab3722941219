from datetime import timedelta

from django.core.management import call_command

from costlens.usage.selectors import usage_report
from tests.conftest import at, make_event


def test_worked_example_rolls_up_to_exact_cost_and_savings(acme_api, acme):
    # 1,000 requests of 500/200 tokens, 700 on Haiku 4.5 and 300 on Sonnet 4.6: 1/1000 of the seed example.
    events = [
        make_event(
            i, model="claude-haiku-4-5" if i < 700 else "claude-sonnet-4-6", timestamp="2026-04-10T12:30:00Z"
        )
        for i in range(1000)
    ]
    assert acme_api.post_events(events).status_code == 200
    call_command("rollup")
    report = usage_report(acme, start=at("2026-04-10T00:00:00Z"), end=at("2026-04-11T00:00:00Z"))
    assert report.totals["cost_usd"] == "2.400000000"
    assert report.totals["baseline_cost_usd"] == "4.500000000"
    assert report.totals["savings_usd"] == "2.100000000"
    assert report.totals["requests"] == 1000


def test_fallbacks_and_windows_spanning_days_use_hourly_and_daily_rows(acme_api, acme):
    events = [
        make_event("a1", request_id="r1", timestamp="2026-04-10T23:10:00Z", model="claude-haiku-4-5"),
        make_event("a2", request_id="r1", attempt=2, timestamp="2026-04-10T23:10:05Z"),
        make_event("b1", timestamp="2026-04-12T05:00:00Z"),
    ]
    acme_api.post_events(events)
    call_command("rollup")
    start = at("2026-04-10T20:00:00Z")
    report = usage_report(acme, start=start, end=start + timedelta(days=2), group_by=["day"])
    assert [r["day"] for r in report.rows] == ["2026-04-10", "2026-04-12"]
    assert report.totals["requests"] == 2
    assert report.totals["fallbacks"] == 1
    assert report.totals["fallback_rate"] == 0.5
    assert report.totals["superseded"] == 1
    # the superseded Haiku attempt: 500 × $1/1M + 200 × $5/1M
    assert report.totals["wasted_cost_usd"] == "0.001500000"


def test_deleting_an_org_deletes_its_rollup_rows_and_no_other(acme_api, acme, globex_api, globex):
    # The usage rollup tables carry no database FK to the org (a check per written row at commit);
    # Django's cascade must still remove an org's rows with it, and only its rows.
    from costlens.usage.models import DailyRollup, DailySlice, HourlyRollup, HourlySlice

    for client in (acme_api, globex_api):
        assert client.post_events([make_event(1, customer_id="c", feature="chat")]).status_code == 200
    call_command("rollup")
    tables = (HourlyRollup, DailyRollup, HourlySlice, DailySlice)
    assert all(t.objects.filter(org=globex).exists() for t in tables)
    globex.delete()
    for table in tables:
        assert not table.objects.filter(org_id=globex.id).exists(), table.__name__
        assert table.objects.filter(org=acme).exists(), table.__name__

from costlens.alerts.models import AlertRule, Notification
from tests.alerts.helpers import NOW, ingest, rule, sonnet_events


def test_rules_page_and_admin_only_writes(client, fran, eli, acme):
    client.force_login(eli)
    assert client.get("/alerts/").status_code == 200
    assert client.get("/alerts/rules/new/").status_code == 403
    r = client.post("/alerts/rules/new/", {"kind": "negative_margin", "window": "7d", "cooldown": "24h"})
    assert r.status_code == 403
    assert not AlertRule.objects.exists()


def test_create_rule_from_the_form_evaluates_it(client, fran, acme, acme_api):
    from datetime import UTC, datetime, timedelta

    ts = (datetime.now(UTC) - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    ingest(acme_api, sonnet_events("n", 2, customer_id="cust_neg", ts=ts))
    client.force_login(fran)
    form = {
        "name": "Losing money",
        "kind": "negative_margin",
        "window": "7d",
        "threshold": "0",
        "group_by": "customer",
        "min_cost_usd": "0",
        "cooldown": "24h",
        "recipients": "fran@acme.test, cfo@acme.test",
        "enabled": "on",
    }
    preview = client.post("/alerts/rules/preview/", form)
    assert preview.status_code == 200
    assert preview.context["firing_count"] == 1
    assert b"cust_neg" in preview.content
    r = client.post("/alerts/rules/new/", form)
    assert r.status_code == 302 and r["Location"] == "/alerts/incidents/"
    created = AlertRule.objects.get()
    assert created.recipients == ["fran@acme.test", "cfo@acme.test"]
    page = client.get("/alerts/incidents/")
    assert b"cust_neg" in page.content
    assert b"/customers/cust_neg/?range=7d" in page.content
    assert client.get("/alerts/notifications/").status_code == 200
    assert Notification.objects.count() == 1


def test_form_errors_are_shown(client, fran, acme):
    client.force_login(fran)
    r = client.post("/alerts/rules/new/", {"kind": "cost_per_request", "window": "soon", "cooldown": "24h"})
    assert r.status_code == 400
    assert b"is required for cost per request" in r.content
    assert b"like 24h or 7d" in r.content


def test_other_orgs_rule_pages_are_404(client, globex, acme, acme_api):
    from costlens.accounts.services import user_create

    ingest(acme_api, sonnet_events("n", 2, customer_id="acme-secret-customer"))
    r = rule(acme, kind="negative_margin")
    from costlens.alerts.services import rule_evaluate

    rule_evaluate(rule_id=r.pk, now=NOW)
    incident = r.incidents.get()
    admin = user_create(email="boss@globex.test", org=globex, password="x" * 12, admin=True)
    client.force_login(admin)
    assert client.get(f"/alerts/rules/{r.pk}/").status_code == 404
    assert client.post(f"/alerts/rules/{r.pk}/toggle/").status_code == 404
    assert client.get(f"/alerts/incidents/{incident.pk}/").status_code == 404
    assert b"acme-secret-customer" not in client.get("/alerts/incidents/?status=all").content

from costlens.alerts.services import rule_evaluate
from tests.alerts.helpers import NOW, ingest, sonnet_events

RULE = {
    "kind": "negative_margin",
    "window": "7d",
    "threshold": "0",
    "group_by": "customer",
    "filters": {},
    "min_cost_usd": "1.00",
    "cooldown": "24h",
    "recipients": ["a@b.com"],
    "enabled": True,
}


def test_create_read_patch_delete(acme_api):
    r = acme_api.post("/api/v1/alert-rules", RULE, format="json")
    assert r.status_code == 201, r.json()
    body = r.json()
    assert {k: body[k] for k in RULE} == {**RULE, "min_cost_usd": "1.000000000"}
    rule_id = body["id"]
    assert acme_api.get("/api/v1/alert-rules").json()["rules"][0]["id"] == rule_id
    r = acme_api.patch(
        f"/api/v1/alert-rules/{rule_id}", {"threshold": "-5.50", "enabled": False}, format="json"
    )
    assert r.status_code == 200
    assert (r.json()["threshold"], r.json()["enabled"], r.json()["window"]) == ("-5.5", False, "7d")
    assert acme_api.delete(f"/api/v1/alert-rules/{rule_id}").status_code == 204
    assert acme_api.get(f"/api/v1/alert-rules/{rule_id}").status_code == 404


def test_defaults_per_kind(acme_api):
    r = acme_api.post("/api/v1/alert-rules", {"kind": "split_drift", "recipients": []}, format="json")
    assert r.status_code == 201
    assert (r.json()["threshold"], r.json()["group_by"], r.json()["window"]) == ("0.2", "route", "24h")
    r = acme_api.post("/api/v1/alert-rules", {"kind": "negative_margin"}, format="json")
    assert (r.json()["threshold"], r.json()["group_by"], r.json()["window"]) == ("0", "customer", "7d")


def test_validation_errors(acme_api):
    bad = [
        ({"kind": "nope"}, "kind"),
        ({**RULE, "window": "7 weeks"}, "window"),
        ({**RULE, "window": "30m"}, "window"),
        ({**RULE, "cooldown": "soon"}, "cooldown"),
        ({**RULE, "threshold": "abc"}, "threshold"),
        ({**RULE, "group_by": "route"}, "group_by"),
        ({**RULE, "recipients": ["not-an-email"]}, "recipients"),
        ({**RULE, "filters": {"colour": "red"}}, "filters"),
        ({**RULE, "min_cost_usd": "-1"}, "min_cost_usd"),
        ({**RULE, "enabled": "yes"}, "enabled"),
        ({**RULE, "surprise": 1}, "surprise"),
        ({"kind": "cost_per_request"}, "threshold"),
        ({"kind": "fallback_rate", "threshold": "1.5"}, "threshold"),
        ({"kind": "unpriced_model", "threshold": "0.5"}, "threshold"),
    ]
    for body, field in bad:
        r = acme_api.post("/api/v1/alert-rules", body, format="json")
        assert r.status_code == 400, body
        assert field in r.json(), (body, r.json())


def test_incidents_list_by_status(acme, acme_api):
    ingest(acme_api, sonnet_events("n", 2, customer_id="cust_neg"))
    rule_id = acme_api.post("/api/v1/alert-rules", {**RULE, "min_cost_usd": "0"}, format="json").json()["id"]
    rule_evaluate(rule_id=rule_id, now=NOW)
    open_ = acme_api.get("/api/v1/incidents?status=open").json()["incidents"]
    assert len(open_) == 1
    incident = open_[0]
    assert incident["group"] == {"customer": "cust_neg"}
    assert incident["status"] == "open"
    assert incident["figures"]["cost_usd"] == "0.009000000"
    assert incident["observations"][0]["value"] == "-0.009000000"
    assert acme_api.get("/api/v1/incidents?status=resolved").json()["incidents"] == []
    assert acme_api.get(f"/api/v1/incidents?rule={rule_id}").json()["incidents"][0]["id"] == incident["id"]
    assert acme_api.get("/api/v1/incidents?status=weird").status_code == 400
    assert acme_api.get(f"/api/v1/incidents/{incident['id']}").json()["group_label"] == "cust_neg"


def test_globex_cannot_see_acme_rules_or_incidents(acme, acme_api, globex_api):
    ingest(acme_api, sonnet_events("n", 2, customer_id="cust_neg"))
    rule_id = acme_api.post("/api/v1/alert-rules", {**RULE, "min_cost_usd": "0"}, format="json").json()["id"]
    rule_evaluate(rule_id=rule_id, now=NOW)
    incident_id = acme_api.get("/api/v1/incidents").json()["incidents"][0]["id"]
    assert globex_api.get(f"/api/v1/alert-rules/{rule_id}").status_code == 404
    assert (
        globex_api.patch(f"/api/v1/alert-rules/{rule_id}", {"enabled": False}, format="json").status_code
        == 404
    )
    assert globex_api.delete(f"/api/v1/alert-rules/{rule_id}").status_code == 404
    assert globex_api.get("/api/v1/alert-rules").json()["rules"] == []
    assert globex_api.get("/api/v1/incidents").json()["incidents"] == []
    assert globex_api.get(f"/api/v1/incidents/{incident_id}").status_code == 404
    assert acme_api.get(f"/api/v1/alert-rules/{rule_id}").json()["enabled"] is True


def test_one_open_incident_per_rule_and_group_is_enforced_by_the_database(acme, acme_api):
    import pytest
    from django.db import IntegrityError, transaction

    from costlens.alerts.models import Incident

    ingest(acme_api, sonnet_events("n", 2, customer_id="cust_neg"))
    rule_id = acme_api.post("/api/v1/alert-rules", {**RULE, "min_cost_usd": "0"}, format="json").json()["id"]
    rule_evaluate(rule_id=rule_id, now=NOW)
    first = Incident.objects.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        Incident.objects.create(
            org=acme,
            rule_id=rule_id,
            group_key=first.group_key,
            group_label="x",
            opened_at=NOW,
            last_seen_at=NOW,
        )


def test_schema_lists_the_endpoints(client):
    r = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    text = r.content.decode()
    for path in (
        "/api/v1/customers",
        "/api/v1/customers/{customer_id}",
        "/api/v1/customers/{customer_id}/revenue",
        "/api/v1/alert-rules",
        "/api/v1/alert-rules/{rule_id}",
        "/api/v1/incidents",
    ):
        assert path in text, path

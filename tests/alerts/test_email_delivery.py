"""Negative margin → exactly one email through a real SMTP server; resolve email; SMTP down → retried."""

from datetime import timedelta

from django.core.management import call_command

from costlens.alerts.models import Incident, Notification
from costlens.alerts.services import notifications_send_due, rule_evaluate
from costlens.customers.models import Customer
from tests.alerts.helpers import NOW, ingest, revenue, rule, sonnet_events


def _losing_customer(acme, acme_api):
    Customer.objects.create(org=acme, external_id="cust_neg", name="Initech Corp")
    ingest(acme_api, sonnet_events("n", 10, customer_id="cust_neg"))  # cost $0.045
    revenue(acme, "cust_neg", "0.01")  # whole entry inside the 7-day window


def test_negative_margin_emails_once_names_the_customer_and_resolves(acme, acme_api, smtp):
    _losing_customer(acme, acme_api)
    ingest(acme_api, sonnet_events("ok", 1, customer_id="cust_ok"))
    revenue(acme, "cust_ok", "5")
    r = rule(
        acme,
        kind="negative_margin",
        window="7d",
        min_cost_usd="0.01",
        recipients=["fran@acme.test", "cfo@acme.test"],
    )

    result = rule_evaluate(rule_id=r.pk, now=NOW)
    assert result.firing == 1 and len(result.opened) == 1
    assert notifications_send_due().sent == 1
    assert len(smtp.messages) == 1
    received = smtp.messages[0]
    assert sorted(received["to"]) == ["cfo@acme.test", "fran@acme.test"]
    msg = received["message"]
    assert "Negative margin" in msg["Subject"] and "Initech Corp" in msg["Subject"]
    assert msg["From"] == "CostLens <alerts@costlens.example.com>"
    text, html = smtp.bodies(0)
    link = "https://costlens.example.com/customers/cust_neg/?range=7d"
    for body in (text, html):
        assert "Initech Corp" in body
        assert "$0.01" in body  # revenue
        assert "$0.045" in body  # cost
        assert "−$0.035" in body  # margin
        assert link in body
    assert "cust_ok" not in text

    # A second evaluation within the cooldown: the incident stays open, no email.
    again = rule_evaluate(rule_id=r.pk, now=NOW + timedelta(minutes=5))
    assert again.firing == 1 and not again.opened and not again.reminded
    assert notifications_send_due().sent == 0
    assert len(smtp.messages) == 1
    assert Incident.objects.filter(rule=r, resolved_at__isnull=True).count() == 1

    # Margin back above zero resolves it and sends the resolve email.
    revenue(acme, "cust_neg", "1.00")
    done = rule_evaluate(rule_id=r.pk, now=NOW + timedelta(minutes=10))
    assert len(done.resolved) == 1
    notifications_send_due()
    assert len(smtp.messages) == 2
    resolved = smtp.messages[1]["message"]
    assert "Resolved" in resolved["Subject"] and "Initech Corp" in resolved["Subject"]
    text, _ = smtp.bodies(1)
    assert "$0.965" in text  # margin now: 1.01 − 0.045
    incident = Incident.objects.get(rule=r)
    assert incident.resolved_at == NOW + timedelta(minutes=10)
    assert [o.firing for o in incident.observations.all()] == [True, False]
    assert Notification.objects.filter(status="sent").count() == 2


def test_cooldown_then_a_reminder(acme, acme_api, smtp):
    _losing_customer(acme, acme_api)
    r = rule(acme, kind="negative_margin", window="7d", cooldown="24h")
    rule_evaluate(rule_id=r.pk, now=NOW)
    rule_evaluate(rule_id=r.pk, now=NOW + timedelta(hours=23, minutes=59))
    assert Notification.objects.count() == 1
    later = rule_evaluate(rule_id=r.pk, now=NOW + timedelta(hours=24))
    assert len(later.reminded) == 1
    notifications_send_due()
    subjects = [m["message"]["Subject"].strip() for m in smtp.messages]
    assert [s.startswith("[CostLens] Still firing") for s in subjects] == [False, True], subjects


def test_smtp_down_keeps_the_email_pending_and_delivers_it_once_later(acme, acme_api, smtp):
    _losing_customer(acme, acme_api)
    r = rule(acme, kind="negative_margin", window="7d")
    smtp.stop()
    rule_evaluate(rule_id=r.pk, now=NOW)
    t0 = NOW + timedelta(minutes=1)
    run = notifications_send_due(now=t0)
    assert (run.sent, run.retrying) == (0, 1)
    n = Notification.objects.get()
    assert n.status == "pending" and n.attempts == 1
    assert "Connection" in n.last_error or "refused" in n.last_error.lower()
    assert n.next_attempt_at == t0 + timedelta(seconds=30)

    # Not due yet: nothing is attempted.
    assert notifications_send_due(now=t0 + timedelta(seconds=10)).retrying == 0
    assert Notification.objects.get().attempts == 1

    # Still down at the next try: backoff doubles.
    notifications_send_due(now=t0 + timedelta(seconds=30))
    n.refresh_from_db()
    assert (n.attempts, n.next_attempt_at) == (2, t0 + timedelta(seconds=90))

    smtp.start()
    assert notifications_send_due(now=t0 + timedelta(seconds=90)).sent == 1
    assert notifications_send_due(now=t0 + timedelta(hours=1)).sent == 0
    n.refresh_from_db()
    assert (n.status, n.attempts, n.last_error) == ("sent", 3, "")
    assert len(smtp.messages) == 1
    assert "Initech Corp" in smtp.messages[0]["message"]["Subject"]


def test_permanent_smtp_refusal_marks_failed(acme, acme_api, smtp):
    async def refuse(server, session, envelope, address, rcpt_options):
        return "550 No such user"

    smtp.inbox.handle_RCPT = refuse
    smtp.stop()
    smtp.start()
    _losing_customer(acme, acme_api)
    r = rule(acme, kind="negative_margin", window="7d")
    rule_evaluate(rule_id=r.pk, now=NOW)
    assert notifications_send_due().failed == 1
    n = Notification.objects.get()
    assert n.status == "failed" and "550" in n.last_error


def test_run_alerts_command_evaluates_and_sends(acme, acme_api, smtp, capsys):
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    Customer.objects.create(org=acme, external_id="cust_neg", name="Initech Corp")
    ingest(
        acme_api,
        sonnet_events(
            "n", 3, customer_id="cust_neg", ts=(now - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
        ),
    )
    rule(acme, kind="negative_margin", window="24h")
    call_command("run_alerts")
    assert "1 incident(s) opened" in capsys.readouterr().out
    assert len(smtp.messages) == 1
    call_command("run_alerts")
    assert len(smtp.messages) == 1


def test_test_send_goes_to_the_recipients(acme, acme_api, smtp):
    from costlens.alerts.services import rule_test_send

    _losing_customer(acme, acme_api)
    r = rule(acme, kind="negative_margin", window="7d", name="Losing money")
    rule_test_send(rule=r, now=NOW)
    notifications_send_due()
    assert len(smtp.messages) == 1
    assert smtp.messages[0]["message"]["Subject"].strip().startswith("[CostLens] Test — Losing money")
    text, _ = smtp.bodies(0)
    assert "Initech Corp" in text and "1 of 1" in text

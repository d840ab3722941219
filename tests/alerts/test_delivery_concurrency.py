"""Two senders never send the same outbox row: rows are claimed with FOR UPDATE SKIP LOCKED."""

import threading

import pytest
from django.db import connection, transaction
from django.utils import timezone

from costlens.alerts.models import Notification
from costlens.alerts.services import notifications_send_due


def _pending(org, n):
    now = timezone.now()
    return [
        Notification.objects.create(
            org=org,
            kind="test",
            recipients=["fran@acme.test"],
            subject=f"Message {i}",
            body_text="t",
            body_html="<p>t</p>",
            next_attempt_at=now,
            created_at=now,
        )
        for i in range(n)
    ]


@pytest.mark.django_db(transaction=True)
def test_a_row_claimed_by_another_sender_is_skipped(acme, smtp):
    (row,) = _pending(acme, 1)
    locked, release = threading.Event(), threading.Event()

    def other_sender():
        try:
            with transaction.atomic():
                Notification.objects.select_for_update().get(pk=row.pk)
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    t = threading.Thread(target=other_sender)
    t.start()
    assert locked.wait(10)
    assert notifications_send_due().sent == 0  # skipped, not waited for, not sent
    release.set()
    t.join()
    assert notifications_send_due().sent == 1
    assert len(smtp.messages) == 1


@pytest.mark.django_db(transaction=True)
def test_racing_senders_send_each_row_exactly_once(acme, smtp):
    _pending(acme, 12)
    results = []

    def sender():
        try:
            results.append(notifications_send_due().sent)
        finally:
            connection.close()

    threads = [threading.Thread(target=sender) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(results) == 12
    subjects = sorted(m["message"]["Subject"].strip() for m in smtp.messages)
    assert subjects == sorted(f"Message {i}" for i in range(12))
    assert Notification.objects.filter(status="sent").count() == 12


def test_celery_tasks_evaluate_due_rules_and_send(acme, acme_api, smtp, django_capture_on_commit_callbacks):
    from datetime import UTC, datetime, timedelta

    from costlens.alerts.tasks import evaluate_due_rules, send_pending_notifications
    from tests.alerts.helpers import ingest, rule, sonnet_events

    ts = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    ingest(acme_api, sonnet_events("n", 2, customer_id="c", ts=ts))
    r = rule(acme, kind="negative_margin", window="24h")
    with django_capture_on_commit_callbacks(execute=True):
        assert evaluate_due_rules.delay().get() == 1  # eager: runs evaluate_rule for the one due rule
    assert len(smtp.messages) == 1  # the evaluation enqueued the sender on commit
    r.refresh_from_db()
    assert r.last_evaluated_at is not None
    assert evaluate_due_rules.delay().get() == 0  # evaluated a moment ago: not due
    assert send_pending_notifications.delay().get() == 0

"""Writes for alerts: rules, evaluation into incidents + outbox (one transaction), and email delivery."""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.utils import timezone

from costlens.accounts.models import Organization
from costlens.alerts.emails import render_incident_email, render_test_email
from costlens.alerts.evaluation import Finding, evaluate
from costlens.alerts.models import AlertRule, Incident, IncidentObservation, Notification
from costlens.alerts.rules import spec_for

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=1)


# --- rules -------------------------------------------------------------------------------------


def alert_rule_create(*, org: Organization, values: dict) -> AlertRule:
    return AlertRule.objects.create(org=org, **values)


def alert_rule_update(*, rule: AlertRule, values: dict) -> AlertRule:
    for key, value in values.items():
        setattr(rule, key, value)
    rule.save()
    return rule


def alert_rule_delete(*, rule: AlertRule) -> None:
    rule.delete()


# --- evaluation --------------------------------------------------------------------------------


@dataclass
class EvaluationResult:
    rule_id: int
    evaluated: bool = True
    groups: int = 0
    firing: int = 0
    opened: list[int] = field(default_factory=list)
    resolved: list[int] = field(default_factory=list)
    reminded: list[int] = field(default_factory=list)
    notifications: int = 0


def _outbox(*, rule: AlertRule, incident: Incident | None, kind: str, email, now: datetime) -> int:
    if not rule.recipients:
        return 0
    Notification.objects.create(
        org_id=rule.org_id,
        rule=rule,
        incident=incident,
        kind=kind,
        recipients=list(rule.recipients),
        subject=email.subject,
        body_text=email.text,
        body_html=email.html,
        next_attempt_at=now,
        created_at=now,
    )
    return 1


def _value_text(finding: Finding) -> str:
    return "" if finding.value is None else str(finding.value)[:64]


def rule_evaluate(
    *, rule_id: int, now: datetime | None = None, due_after: datetime | None = None
) -> EvaluationResult:
    """Evaluate one rule now; open, update and resolve its incidents and write their emails to the outbox.

    All in one transaction, with the rule row locked (SKIP LOCKED): two workers never evaluate the same
    rule at once, and an email exists exactly when its incident change committed. With `due_after`, a
    rule evaluated after that instant (by another worker) is skipped.
    """
    now = now or timezone.now()
    result = EvaluationResult(rule_id=rule_id)
    with transaction.atomic():
        rule = (
            AlertRule.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("org")
            .filter(pk=rule_id, enabled=True)
            .first()
        )
        if rule is None or (due_after and rule.last_evaluated_at and rule.last_evaluated_at > due_after):
            result.evaluated = False
            return result
        spec = spec_for(rule)
        findings = evaluate(rule.org, spec, now)
        result.groups = len(findings)
        by_key = {f.key: f for f in findings}
        open_incidents = {
            i.group_key: i
            for i in Incident.objects.select_for_update().filter(rule=rule, resolved_at__isnull=True)
        }
        org_name = rule.org.name
        for finding in findings:
            if not finding.firing:
                continue
            result.firing += 1
            incident = open_incidents.get(finding.key)
            value = _value_text(finding)
            if incident is None:
                incident = Incident.objects.create(
                    org_id=rule.org_id,
                    rule=rule,
                    group_key=finding.key[:500],
                    group_label=finding.label[:500],
                    group=finding.group,
                    link_path=finding.path[:1000],
                    opened_at=now,
                    last_value=value,
                    last_value_text=finding.value_text[:300],
                    last_figures=finding.figures,
                    last_seen_at=now,
                    last_notified_at=now,
                )
                IncidentObservation.objects.create(
                    incident=incident, observed_at=now, value=value, firing=True, figures=finding.figures
                )
                email = render_incident_email(rule=rule, finding=finding, event="opened", org_name=org_name)
                result.notifications += _outbox(
                    rule=rule, incident=incident, kind="opened", email=email, now=now
                )
                result.opened.append(incident.pk)
                continue
            changed = value != incident.last_value
            incident.group_label = finding.label[:500]
            incident.link_path = finding.path[:1000]
            incident.last_value = value
            incident.last_value_text = finding.value_text[:300]
            incident.last_figures = finding.figures
            incident.last_seen_at = now
            if changed:
                # Each distinct value seen is kept; repeats are not (evaluations run every minute).
                IncidentObservation.objects.create(
                    incident=incident, observed_at=now, value=value, firing=True, figures=finding.figures
                )
            if incident.last_notified_at is None or now - incident.last_notified_at >= spec.cooldown:
                email = render_incident_email(rule=rule, finding=finding, event="reminder", org_name=org_name)
                result.notifications += _outbox(
                    rule=rule, incident=incident, kind="reminder", email=email, now=now
                )
                incident.last_notified_at = now
                result.reminded.append(incident.pk)
            incident.save()
        for key, incident in open_incidents.items():
            finding = by_key.get(key)
            if finding is not None and finding.firing:
                continue
            if finding is None:
                # No data for the group in the window any more (or below min cost): it no longer fires.
                finding = Finding(
                    group=incident.group,
                    key=key,
                    label=incident.group_label,
                    value=None,
                    value_text="no longer firing (no qualifying activity in the window)",
                    limit=None,
                    limit_text="the rule's threshold",
                    firing=False,
                    figures={},
                    path=_incident_path(rule, incident, spec, now),
                )
            incident.resolved_at = now
            incident.last_seen_at = now
            incident.last_value_text = finding.value_text[:300]
            incident.last_value = _value_text(finding)
            if finding.figures:
                incident.last_figures = finding.figures
            incident.save()
            IncidentObservation.objects.create(
                incident=incident,
                observed_at=now,
                value=_value_text(finding),
                firing=False,
                figures=finding.figures,
            )
            email = render_incident_email(rule=rule, finding=finding, event="resolved", org_name=org_name)
            result.notifications += _outbox(
                rule=rule, incident=incident, kind="resolved", email=email, now=now
            )
            result.resolved.append(incident.pk)
        rule.last_evaluated_at = now
        rule.save(update_fields=["last_evaluated_at"])
        if result.notifications:
            transaction.on_commit(_enqueue_send)
    return result


def _incident_path(rule, incident, spec, now) -> str:
    from costlens.alerts.evaluation import _path, rule_window

    start, end = rule_window(spec, now)
    return _path(incident.group, spec, start, end)


def _enqueue_send() -> None:
    from costlens.alerts.tasks import send_pending_notifications

    try:
        send_pending_notifications.delay()
    except Exception:  # the periodic sender picks the rows up anyway
        log.exception("could not enqueue send_pending_notifications")


def due_rule_ids(*, now: datetime | None = None) -> list[int]:
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.ALERTS_INTERVAL_SECONDS * 0.9)
    qs = AlertRule.objects.filter(enabled=True)
    from django.db.models import Q

    return list(
        qs.filter(Q(last_evaluated_at__isnull=True) | Q(last_evaluated_at__lte=cutoff))
        .order_by("last_evaluated_at", "id")
        .values_list("id", flat=True)
    )


def rules_evaluate_all(
    *, now: datetime | None = None, org: Organization | None = None
) -> list[EvaluationResult]:
    """Every enabled rule, now (the run_alerts command)."""
    qs = AlertRule.objects.filter(enabled=True)
    if org is not None:
        qs = qs.filter(org=org)
    return [rule_evaluate(rule_id=pk, now=now) for pk in qs.order_by("id").values_list("id", flat=True)]


def rule_test_send(*, rule: AlertRule, now: datetime | None = None) -> Notification | None:
    """Queue a test email to the rule's recipients showing what would fire right now."""
    now = now or timezone.now()
    if not rule.recipients:
        return None
    findings = evaluate(rule.org, spec_for(rule), now)
    email = render_test_email(rule=rule, findings=findings, org_name=rule.org.name)
    with transaction.atomic():
        _outbox(rule=rule, incident=None, kind="test", email=email, now=now)
        transaction.on_commit(_enqueue_send)
    return Notification.objects.filter(rule=rule, kind="test").order_by("-id").first()


# --- delivery ----------------------------------------------------------------------------------


@dataclass
class SendRun:
    sent: int = 0
    retrying: int = 0
    failed: int = 0


def _is_permanent(exc: Exception) -> bool:
    if isinstance(exc, smtplib.SMTPRecipientsRefused | smtplib.SMTPSenderRefused):
        return all(code >= 500 for code, _ in _codes(exc))
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code >= 500
    return False


def _codes(exc) -> list[tuple[int, bytes]]:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return list(exc.recipients.values())
    return [(exc.smtp_code, exc.smtp_error)]


def backoff(attempts: int) -> timedelta:
    return min(BACKOFF_BASE * (2 ** max(attempts - 1, 0)), BACKOFF_CAP)


def notifications_send_due(*, now: datetime | None = None, limit: int = 200) -> SendRun:
    """Send due outbox rows, one at a time, each claimed with FOR UPDATE SKIP LOCKED.

    The row stays locked while its email is handed to SMTP and is marked sent in the same transaction,
    so two senders never send one row; a transient SMTP error (server down, 4xx) keeps it pending with
    the error and a later next_attempt_at (exponential backoff), a permanent one (5xx) marks it failed.
    """
    run = SendRun()
    connection = None
    try:
        for _ in range(limit):
            moment = now or timezone.now()
            with transaction.atomic():
                row = (
                    Notification.objects.select_for_update(skip_locked=True)
                    .filter(status=Notification.Status.PENDING, next_attempt_at__lte=moment)
                    .order_by("next_attempt_at", "id")
                    .first()
                )
                if row is None:
                    break
                if connection is None:
                    connection = get_connection(fail_silently=False)
                message = EmailMultiAlternatives(
                    subject=row.subject,
                    body=row.body_text,
                    from_email=settings.DEFAULT_FROM_EMAIL,
                    to=list(row.recipients),
                    connection=connection,
                )
                message.attach_alternative(row.body_html, "text/html")
                row.attempts += 1
                try:
                    message.send()
                except (smtplib.SMTPException, OSError) as exc:
                    _close_quietly(connection)
                    connection = None
                    row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                    if _is_permanent(exc) or row.attempts >= MAX_ATTEMPTS:
                        row.status = Notification.Status.FAILED
                        run.failed += 1
                    else:
                        row.next_attempt_at = moment + backoff(row.attempts)
                        run.retrying += 1
                    row.save(update_fields=["attempts", "last_error", "status", "next_attempt_at"])
                    if not _is_permanent(exc):
                        break  # the server is unreachable or unwell: leave the rest for the next run
                    continue
                row.status = Notification.Status.SENT
                row.sent_at = moment
                row.last_error = ""
                row.save(update_fields=["attempts", "last_error", "status", "sent_at"])
                run.sent += 1
    finally:
        if connection is not None:
            _close_quietly(connection)
    return run


def _close_quietly(connection) -> None:
    try:
        connection.close()
    except Exception:  # closing a broken SMTP connection may itself fail; nothing left to do
        log.debug("closing the SMTP connection failed", exc_info=True)


def notification_retry(
    *, org: Organization, notification_id: int, now: datetime | None = None
) -> Notification | None:
    """Put a failed notification back in the queue (from the notification log)."""
    row = Notification.objects.filter(org=org, pk=notification_id, status=Notification.Status.FAILED).first()
    if row is None:
        return None
    row.status = Notification.Status.PENDING
    row.next_attempt_at = now or timezone.now()
    row.save(update_fields=["status", "next_attempt_at"])
    transaction.on_commit(_enqueue_send)
    return row

"""Reads for alerts; the organization first, always."""

from __future__ import annotations

from django.db.models import Count, Q

from costlens.accounts.models import Organization
from costlens.alerts.models import AlertRule, Incident, Notification


def alert_rules_list(org: Organization) -> list[AlertRule]:
    return list(
        AlertRule.objects.filter(org=org)
        .annotate(open_incidents=Count("incidents", filter=Q(incidents__resolved_at__isnull=True)))
        .order_by("id")
    )


def alert_rule_get(org: Organization, rule_id: int) -> AlertRule | None:
    return AlertRule.objects.filter(org=org, pk=rule_id).first()


def incidents_list(
    org: Organization, *, status: str = "", rule_id: int | None = None, customer: str = "", limit: int = 200
) -> list[Incident]:
    qs = Incident.objects.filter(org=org).select_related("rule")
    if status == "open":
        qs = qs.filter(resolved_at__isnull=True)
    elif status == "resolved":
        qs = qs.filter(resolved_at__isnull=False)
    if rule_id:
        qs = qs.filter(rule_id=rule_id)
    if customer:
        qs = qs.filter(group__customer=customer)
    return list(qs.order_by("-opened_at", "-id")[:limit])


def incident_get(org: Organization, incident_id: int) -> Incident | None:
    return Incident.objects.filter(org=org, pk=incident_id).select_related("rule").first()


def notifications_list(org: Organization, *, status: str = "", rule_id: int | None = None, limit: int = 200):
    qs = Notification.objects.filter(org=org).select_related("rule", "incident")
    if status:
        qs = qs.filter(status=status)
    if rule_id:
        qs = qs.filter(rule_id=rule_id)
    return list(qs.order_by("-created_at", "-id")[:limit])


def open_incidents_count(org: Organization) -> int:
    return Incident.objects.filter(org=org, resolved_at__isnull=True).count()

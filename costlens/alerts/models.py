from django.db import models
from django.db.models import Q

from costlens.accounts.models import Organization


class AlertRule(models.Model):
    class Kind(models.TextChoices):
        NEGATIVE_MARGIN = "negative_margin", "Negative margin"
        FALLBACK_RATE = "fallback_rate", "Fallback rate"
        SPLIT_DRIFT = "split_drift", "Routing split drift"
        SPEND_SPIKE = "spend_spike", "Spend spike"
        QUALITY_DROP = "quality_drop", "Quality drop"
        COST_PER_REQUEST = "cost_per_request", "Cost per request"
        UNPRICED_MODEL = "unpriced_model", "Unpriced model"

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="alert_rules")
    name = models.CharField(max_length=200, blank=True, default="")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    window = models.CharField(max_length=16, default="7d")
    # Exact decimal as entered; its unit depends on the kind (USD, a fraction, PSI, a multiple, a count).
    threshold = models.CharField(max_length=40, blank=True, default="")
    group_by = models.CharField(max_length=64, blank=True, default="")
    filters = models.JSONField(default=dict, blank=True)
    min_cost_nanos = models.BigIntegerField(default=0)
    cooldown = models.CharField(max_length=16, default="24h")
    recipients = models.JSONField(default=list, blank=True)
    enabled = models.BooleanField(default=True)
    last_evaluated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["org", "enabled"], name="alertrule_org_enabled")]

    def __str__(self) -> str:
        return self.name or f"{self.get_kind_display()} ({self.window})"

    @property
    def group_by_label(self) -> str:
        return " × ".join(self.group_by.split(",")) if self.group_by else "whole org"

    @property
    def condition(self) -> str:
        from costlens.alerts.rules import describe

        return describe(self)


class Incident(models.Model):
    """A rule firing for one group (a customer, a route, ...). At most one open per rule × group."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="incidents")
    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="incidents")
    group_key = models.CharField(max_length=500)  # canonical, e.g. "customer=cust_42" or "route=a|model=b"
    group_label = models.CharField(max_length=500)  # for people, e.g. the customer's display name
    group = models.JSONField(default=dict)  # {"customer": "cust_42"}
    link_path = models.CharField(max_length=1000, blank=True, default="")  # the dashboard view it is about
    opened_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    last_value = models.CharField(max_length=64, blank=True, default="")
    last_value_text = models.CharField(max_length=300, blank=True, default="")  # "margin −$12.30"
    last_figures = models.JSONField(default=dict, blank=True)
    last_seen_at = models.DateTimeField()
    last_notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "group_key"], condition=Q(resolved_at__isnull=True), name="uniq_open_incident"
            )
        ]
        indexes = [models.Index(fields=["org", "resolved_at"], name="incident_org_resolved")]

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None

    @property
    def shows_margin(self) -> bool:
        """Revenue and margin mean something per customer or for the whole org; recurring revenue has
        no route, model or feature, so a route's "margin" would mislead."""
        return not self.group or set(self.group) == {"customer"}


class IncidentObservation(models.Model):
    """Each evaluation's value for an incident while it is open (and the one that resolved it)."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="observations")
    observed_at = models.DateTimeField()
    value = models.CharField(max_length=64, blank=True, default="")
    firing = models.BooleanField(default=True)
    figures = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["observed_at", "id"]


class Notification(models.Model):
    """The email outbox: written in the same transaction as the incident change, sent by a task."""

    class Kind(models.TextChoices):
        OPENED = "opened", "Fired"
        REMINDER = "reminder", "Still firing"
        RESOLVED = "resolved", "Resolved"
        TEST = "test", "Test"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="notifications")
    rule = models.ForeignKey(
        AlertRule, on_delete=models.SET_NULL, null=True, blank=True, related_name="notifications"
    )
    incident = models.ForeignKey(
        Incident, on_delete=models.SET_NULL, null=True, blank=True, related_name="notifications"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    recipients = models.JSONField(default=list)
    subject = models.CharField(max_length=300)
    body_text = models.TextField()
    body_html = models.TextField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.IntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    next_attempt_at = models.DateTimeField()
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="notification_due"),
            models.Index(fields=["org", "created_at"], name="notification_org_created"),
        ]

from django.db import models

from costlens.accounts.models import Organization


class Customer(models.Model):
    """An end customer of the org, created automatically from events' customer_id."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="customers")
    external_id = models.CharField(max_length=200)
    name = models.CharField(max_length=200, blank=True, default="")
    plan = models.CharField(max_length=100, blank=True, default="")
    segment = models.CharField(max_length=100, blank=True, default="")
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["org", "external_id"], name="uniq_customer_org_ext")]
        ordering = ["external_id"]

    @property
    def display_name(self) -> str:
        return self.name or self.external_id

    def __str__(self) -> str:
        return self.display_name


class RevenueEntry(models.Model):
    """Recurring revenue of `amount_nanos` over [period_start, period_end), prorated by time."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="revenue_entries")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="revenue_entries")
    amount_nanos = models.BigIntegerField()
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    description = models.CharField(max_length=300, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["org", "period_start", "period_end"], name="revenue_org_period")]
        ordering = ["period_start"]

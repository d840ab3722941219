from django.db import models

from costlens.accounts.models import Organization


class Route(models.Model):
    """A routing policy: the split it should produce, its baseline and its fallback chain.

    Created automatically (no target) the first time an event names an unknown route.
    """

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="routes")
    name = models.CharField(max_length=200)
    # {"model": share} with shares normalised to sum to 1 (stored as decimal strings).
    target_split = models.JSONField(default=dict, blank=True)
    baseline_model = models.CharField(max_length=200, null=True, blank=True)
    fallback_chain = models.JSONField(default=list, blank=True)
    fallback_budget = models.DecimalField(max_digits=6, decimal_places=4, null=True, blank=True)
    auto_created = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["org", "name"], name="uniq_route_org_name")]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

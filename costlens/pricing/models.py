from django.db import models

from costlens.accounts.models import Organization

PRICE_FIELD = {"max_digits": 24, "decimal_places": 12}


class ModelPrice(models.Model):
    """A global catalog row: the price of one normalised model from `effective_from` on.

    Prices are USD per 1M tokens, exact decimals. Empty cache/reasoning prices fall back to
    input/input/output (API.md §2).
    """

    model = models.CharField(max_length=200)
    provider = models.CharField(max_length=64, blank=True, default="")
    effective_from = models.DateTimeField()
    input_per_mtok = models.DecimalField(**PRICE_FIELD)
    output_per_mtok = models.DecimalField(**PRICE_FIELD)
    cache_read_per_mtok = models.DecimalField(null=True, blank=True, **PRICE_FIELD)
    cache_write_per_mtok = models.DecimalField(null=True, blank=True, **PRICE_FIELD)
    reasoning_per_mtok = models.DecimalField(null=True, blank=True, **PRICE_FIELD)
    source = models.CharField(max_length=300, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["model", "effective_from"], name="uniq_price_model_from")
        ]
        ordering = ["model", "effective_from"]

    def __str__(self) -> str:
        return f"{self.model} from {self.effective_from:%Y-%m-%d}"


class OrgPriceOverride(models.Model):
    """An organization's own price (negotiated contract) or a discount on the catalog price.

    Either explicit prices (input/output required) or `discount_pct` (applied to every
    component of the catalog price in force) — never both.
    """

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="price_overrides")
    model = models.CharField(max_length=200)
    effective_from = models.DateTimeField()
    input_per_mtok = models.DecimalField(null=True, blank=True, **PRICE_FIELD)
    output_per_mtok = models.DecimalField(null=True, blank=True, **PRICE_FIELD)
    cache_read_per_mtok = models.DecimalField(null=True, blank=True, **PRICE_FIELD)
    cache_write_per_mtok = models.DecimalField(null=True, blank=True, **PRICE_FIELD)
    reasoning_per_mtok = models.DecimalField(null=True, blank=True, **PRICE_FIELD)
    discount_pct = models.DecimalField(max_digits=7, decimal_places=4, null=True, blank=True)
    note = models.CharField(max_length=300, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["org", "model", "effective_from"], name="uniq_override_org_model_from"
            )
        ]
        ordering = ["model", "effective_from"]


class ModelAlias(models.Model):
    """Maps another spelling of a model to the catalog name (`claude-3.5-sonnet` -> `claude-3-5-sonnet`)."""

    alias = models.CharField(max_length=200, unique=True)
    model = models.CharField(max_length=200)

    def __str__(self) -> str:
        return f"{self.alias} -> {self.model}"

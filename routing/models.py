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


# Per-route rollups that the usage rollup tables cannot answer (fallback chain steps, confidence
# bands, quality below the floor, shadow pairs, served-token volumes for the what-if). Rebuilt
# for one (org, hour) at a time by routing.rollup from raw events (replace, never increment),
# inside the usage rollup's claim; `grain` "h" rows are hours, "d" rows are the sum of a UTC day.
GRAIN_CHOICES = [("h", "hour"), ("d", "day")]

# Router-confidence bands: (label, lower bound inclusive); the last band includes 1.0.
CONFIDENCE_BANDS = (("0–0.5", 0.0), ("0.5–0.7", 0.5), ("0.7–0.8", 0.7), ("0.8–0.9", 0.8), ("0.9–1", 0.9))
NO_CONFIDENCE = ""
# Quality scores are binned to 0.01 (bin 70 = [0.70, 0.71)); 100 holds exactly 1.0.
QUALITY_BINS = 100


class RoutingRollup(models.Model):
    # No database FK: every row is derived, written only by the rollup for an org whose dirty marks
    # it holds, and deleted with the org by Django's CASCADE. The deferred FK check per inserted row
    # (~5-7 us at commit, ~2,000 rows per hour of the benchmark) was ~1/3 of the checks a rollup
    # transaction ran at commit, which the per-statement timings did not show (docs/performance.md).
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, db_index=False, db_constraint=False)
    grain = models.CharField(max_length=1, choices=GRAIN_CHOICES)
    bucket = models.DateTimeField()
    route = models.CharField(max_length=200)

    class Meta:
        abstract = True


class RouteModelStat(RoutingRollup):
    """Non-shadow traffic of one route × model × confidence band."""

    model = models.CharField(max_length=200)
    band = models.CharField(max_length=16)
    requests = models.BigIntegerField(default=0)  # attempt 1
    escalated = models.BigIntegerField(default=0)  # attempt 1 that a later attempt superseded
    # "Served" calls: non-superseded, i.e. the call whose answer the request finally used.
    served = models.BigIntegerField(default=0)
    served_input_tokens = models.BigIntegerField(default=0)
    served_output_tokens = models.BigIntegerField(default=0)
    served_cache_read_tokens = models.BigIntegerField(default=0)
    served_cache_write_tokens = models.BigIntegerField(default=0)
    served_reasoning_tokens = models.BigIntegerField(default=0)
    served_cost_nanos = models.BigIntegerField(default=0)
    calls = models.BigIntegerField(default=0)  # every non-shadow attempt
    cost_nanos = models.BigIntegerField(default=0)
    quality_sum = models.FloatField(default=0)
    quality_count = models.BigIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["org", "grain", "route", "bucket"], name="rt_model_org_route"),
            # the hook's per-hour replace and per-day rewrite
            models.Index(fields=["org", "grain", "bucket"], name="rt_model_org_bucket"),
        ]


class RouteQualityBin(RoutingRollup):
    """How many non-shadow calls of a route × model scored in each 0.01 quality bin."""

    model = models.CharField(max_length=200)
    qbin = models.SmallIntegerField()
    calls = models.BigIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["org", "grain", "route", "bucket"], name="rt_quality_org_route"),
            # the hook's per-hour replace and per-day rewrite
            models.Index(fields=["org", "grain", "bucket"], name="rt_quality_org_bucket"),
        ]


class RouteChainStep(RoutingRollup):
    """Fallback steps: attempt n on `from_model` followed by attempt n+1 on `to_model` (same request).

    Bucketed by attempt n's hour: attempt n is the call the step supersedes, and ingest re-marks its
    hour dirty whenever it becomes superseded, whatever order the attempts arrive in.
    """

    from_model = models.CharField(max_length=200)
    to_model = models.CharField(max_length=200)
    from_attempt = models.IntegerField()
    reason = models.CharField(max_length=64)  # attempt n+1's fallback_reason
    steps = models.BigIntegerField(default=0)
    wasted_cost_nanos = models.BigIntegerField(default=0)  # cost of attempt n

    class Meta:
        indexes = [
            models.Index(fields=["org", "grain", "route", "bucket"], name="rt_chain_org_route"),
            # the hook's per-hour replace and per-day rewrite
            models.Index(fields=["org", "grain", "bucket"], name="rt_chain_org_bucket"),
        ]


class RouteShadowPair(RoutingRollup):
    """Shadow calls next to the live call that served the same request (bucketed by the shadow's hour)."""

    live_model = models.CharField(max_length=200)
    shadow_model = models.CharField(max_length=200)
    pairs = models.BigIntegerField(default=0)
    live_cost_nanos = models.BigIntegerField(default=0)
    shadow_cost_nanos = models.BigIntegerField(default=0)
    # Quality is compared only on pairs where both calls carry a quality_score.
    scored_pairs = models.BigIntegerField(default=0)
    live_quality_sum = models.FloatField(default=0)
    shadow_quality_sum = models.FloatField(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["org", "grain", "route", "bucket"], name="rt_shadow_org_route"),
            # the hook's per-hour replace and per-day rewrite
            models.Index(fields=["org", "grain", "bucket"], name="rt_shadow_org_bucket"),
        ]

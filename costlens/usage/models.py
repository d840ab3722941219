from django.db import models

from costlens.accounts.models import Organization

UNATTRIBUTED = "(unattributed)"

# Latency histogram: upper edges in ms of fixed buckets; the last bucket is open-ended.
# p50/p95 are read off these buckets (approximate, documented in docs/decisions.md).
LATENCY_EDGES_MS = (50, 100, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000, 7500, 10000, 20000, 40000)
LATENCY_BUCKETS = len(LATENCY_EDGES_MS) + 1


class Event(models.Model):
    """One LLM call attempt, as ingested (API.md §1). Money in integer nano-USD.

    Missing optional strings are stored as "" (customer as "(unattributed)"); the API shows null.
    """

    # No foreign-key constraint in the database: PostgreSQL checks one per inserted row (a trigger
    # and a key-share lock on the org row), ~40% of the database's CPU per ingested batch. Ingest
    # only writes the org of the authenticated key; deleting an org still deletes its events (Django
    # cascades). See docs/decisions.md.
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, db_index=False, db_constraint=False)
    event_id = models.CharField(max_length=128)
    timestamp = models.DateTimeField()
    received_at = models.DateTimeField()
    model_raw = models.CharField(max_length=200)
    model = models.CharField(max_length=200)
    provider = models.CharField(max_length=64, default="")
    input_tokens = models.BigIntegerField()
    output_tokens = models.BigIntegerField()
    cache_read_tokens = models.BigIntegerField(default=0)
    cache_write_tokens = models.BigIntegerField(default=0)
    reasoning_tokens = models.BigIntegerField(default=0)
    customer = models.CharField(max_length=200, default=UNATTRIBUTED)
    feature = models.CharField(max_length=200, default="")
    route = models.CharField(max_length=200, default="")
    request_id = models.CharField(max_length=128)
    attempt = models.IntegerField(default=1)
    fallback_reason = models.CharField(max_length=64, default="")
    is_error = models.BooleanField(default=False)
    latency_ms = models.FloatField(null=True)
    router_confidence = models.FloatField(null=True)
    quality_score = models.FloatField(null=True)
    shadow = models.BooleanField(default=False)
    superseded = models.BooleanField(default=False)
    unpriced = models.BooleanField(default=False)
    # cost_nanos is the billed cost: the client's cost_usd when sent, else the computed one.
    cost_nanos = models.BigIntegerField(default=0)
    computed_cost_nanos = models.BigIntegerField(default=0)
    client_cost_nanos = models.BigIntegerField(null=True)
    baseline_cost_nanos = models.BigIntegerField(default=0)
    revenue_nanos = models.BigIntegerField(default=0)
    metadata = models.JSONField(null=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["org", "event_id"], name="uniq_event_org_event_id")]
        indexes = [
            models.Index(fields=["org", "timestamp"], name="event_org_ts"),
            # Only events whose request_id is not their own event_id (retries, and first attempts
            # sent with a request_id of their own): a first attempt with the default request_id
            # (~95% of ingested events) costs no entry here. Its request's events are found by
            # (event_id = R AND request_id = R) in the unique (org_id, event_id) index UNION ALL
            # (request_id = R AND request_id <> event_id) here (docs/decisions.md).
            models.Index(
                fields=["org", "request_id"],
                name="event_org_request",
                condition=~models.Q(request_id=models.F("event_id")),
            ),
            # Retries only (~5% of events): the superseded probe of an arriving first attempt looks
            # here (is there a later attempt?) instead of in the full request index.
            models.Index(
                fields=["org", "request_id"],
                name="event_org_request_retry",
                condition=models.Q(attempt__gt=1, shadow=False),
            ),
            # Only unpriced_models() reads by model (`reprice --model` also matches model_raw, so it
            # scans the org's events anyway): a partial index keeps the insert cost off priced events.
            models.Index(
                fields=["org", "model"], name="event_org_model_unpriced", condition=models.Q(unpriced=True)
            ),
        ]


class DirtyBucket(models.Model):
    """An (org, hour) whose rollup rows must be recomputed from raw events.

    Writers upsert with ON CONFLICT DO UPDATE (bumping `generation`), which row-locks it, so
    a rollup worker claiming with SKIP LOCKED never loses an event committed after its snapshot.
    """

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, db_index=False)
    hour = models.DateTimeField()
    generation = models.BigIntegerField(default=1)
    marked_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["org", "hour"], name="uniq_dirty_org_hour")]


class RollupWatermark(models.Model):
    """`as_of`: every event received before it is reflected in the org's rollups."""

    org = models.OneToOneField(Organization, on_delete=models.CASCADE, primary_key=True)
    as_of = models.DateTimeField()


class RollupKey(models.Model):
    """The org, bucket and dimensions of a rollup row."""

    # No database foreign key: every row a rollup writes queued a deferred check at commit (~15–20%
    # of an hour's rollup). Only the rollup writes these rows, for an org it read events of; deleting
    # an org still deletes them (Django cascades). Same as usage_event and routing's rollup tables.
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, db_index=False, db_constraint=False)
    bucket = models.DateTimeField()
    customer = models.CharField(max_length=200)
    feature = models.CharField(max_length=200)
    model = models.CharField(max_length=200)
    route = models.CharField(max_length=200)
    provider = models.CharField(max_length=64)

    class Meta:
        abstract = True


class RollupBase(RollupKey):
    events = models.BigIntegerField(default=0)
    requests = models.BigIntegerField(default=0)
    fallbacks = models.BigIntegerField(default=0)
    superseded = models.BigIntegerField(default=0)
    errors = models.BigIntegerField(default=0)
    unpriced_events = models.BigIntegerField(default=0)
    input_tokens = models.BigIntegerField(default=0)
    output_tokens = models.BigIntegerField(default=0)
    cache_read_tokens = models.BigIntegerField(default=0)
    cache_write_tokens = models.BigIntegerField(default=0)
    reasoning_tokens = models.BigIntegerField(default=0)
    cost_nanos = models.BigIntegerField(default=0)
    shadow_cost_nanos = models.BigIntegerField(default=0)
    wasted_cost_nanos = models.BigIntegerField(default=0)
    baseline_cost_nanos = models.BigIntegerField(default=0)
    revenue_nanos = models.BigIntegerField(default=0)
    quality_sum = models.FloatField(default=0)
    quality_count = models.BigIntegerField(default=0)
    latency_sum = models.FloatField(default=0)
    latency_count = models.BigIntegerField(default=0)

    class Meta:
        abstract = True


def _add_latency_histogram(cls: type[models.Model]) -> None:
    for i in range(LATENCY_BUCKETS):
        cls.add_to_class(f"lat_b{i}", models.BigIntegerField(default=0))


class HourlyRollup(RollupBase):
    class Meta:
        indexes = [
            models.Index(fields=["org", "bucket"], name="hourly_org_bucket"),
            models.Index(fields=["org", "customer", "bucket"], name="hourly_org_customer"),
            models.Index(fields=["org", "route", "bucket"], name="hourly_org_route"),
        ]


class DailyRollup(RollupBase):
    class Meta:
        indexes = [
            models.Index(fields=["org", "bucket"], name="daily_org_bucket"),
            models.Index(fields=["org", "customer", "bucket"], name="daily_org_customer"),
            models.Index(fields=["org", "route", "bucket"], name="daily_org_route"),
        ]


_add_latency_histogram(HourlyRollup)
_add_latency_histogram(DailyRollup)


class RollupSliceBase(RollupBase):
    """A narrower rollup: the same sums grouped by one `cube` of dimensions (rollup.CUBES).

    Dimensions outside the cube are stored as "" and never read. Built from the hourly rows of the
    same bucket inside the same transaction, so a slice always agrees with the full rollup.
    usage_report reads the smallest cube that covers a query's group_by and filters.
    """

    cube = models.SmallIntegerField()

    class Meta:
        abstract = True


# The customer list, the Margin page and the Overview's customer table read a few sums per customer
# over long windows (rollup.CUBES[3] is the customer cube). On the daily slice a covering partial index
# makes the whole days an index-only scan (~170 pages of ~110-byte tuples instead of a scan of every
# cube's ~330-byte rows). Not on the hourly slice: it is rewritten every rollup hour, and maintaining
# the same index there cost ~3-9 ms per hour of rollup (a few % of its throughput) for ~5-15 ms per
# page read (docs/decisions.md).
CUSTOMER_CUBE = 3
CUSTOMER_SUMS = [
    "events",
    "requests",
    "fallbacks",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cost_nanos",
    "revenue_nanos",
]


class HourlySlice(RollupSliceBase):
    class Meta:
        indexes = [models.Index(fields=["org", "cube", "bucket"], name="hslice_org_cube_bucket")]


class DailySlice(RollupSliceBase):
    # The writing transaction (txid_current()) on PostgreSQL, which also wrote the day's DailyRendered
    # rows; NULL from code that does not render (SQLite, or a worker of an earlier release).
    txid = models.BigIntegerField(null=True)

    class Meta:
        indexes = [
            models.Index(fields=["org", "cube", "bucket"], name="dslice_org_cube_bucket"),
            models.Index(
                fields=["org", "bucket", "customer"],
                include=CUSTOMER_SUMS,
                condition=models.Q(cube=CUSTOMER_CUBE),
                name="dslice_customer_sums",
            ),
        ]


_add_latency_histogram(HourlySlice)
_add_latency_histogram(DailySlice)


class SpanSlice(RollupSliceBase):
    """The slices summed over longer spans (rollup.recompute_span): `grain` "q", a quarter of a UTC day
    (6 hours from 00:00, summed from the hourly slices) or "w", a UTC week from Monday (summed from the
    daily slices). A 30-day window then reads ~6 hour-or-quarter rows per group for its partial
    first day and ~11 day-or-week rows for its whole days, instead of 16 and 29 (selectors.span_parts).
    """

    grain = models.CharField(max_length=1)

    class Meta:
        indexes = [models.Index(fields=["org", "grain", "cube", "bucket"], name="span_org_grain_cube_bucket")]


_add_latency_histogram(SpanSlice)


class DailyRendered(RollupKey):
    """One DailySlice row as GET /api/v1/usage shows it, rendered when the rollup writes its day
    (PostgreSQL only): its metrics as JSON members, minus revenue_usd, margin_usd and margin_pct,
    which depend on the recurring revenue of the report's window and are added when it is read.

    A report grouped by day and exactly one cube's dimensions (a 30-day customer x day report is
    15,500 rows) reads these instead of finalising every row again. They are valid for a day only
    while their `txid` equals that of the day's DailySlice rows (written in the same transaction):
    a worker of an earlier release that rewrites the day leaves the slice's txid NULL, and the
    report falls back to the slices (selectors._rendered_days_current).
    """

    cube = models.SmallIntegerField()
    # Place in its cube's day in report order (by cost, largest first, then the dimensions' text).
    rank = models.IntegerField()
    cost_nanos = models.BigIntegerField()
    revenue_nanos = models.BigIntegerField()
    head = models.TextField()  # the members before revenue_usd (metrics.HEAD_NAMES)
    tail = models.TextField()  # the members after margin_pct (metrics.TAIL_NAMES)
    txid = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["org", "cube", "bucket", "rank"], name="drender_org_cube_day_rank")]

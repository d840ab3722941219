"""Ingest: validate, normalise, price, dedupe and store one batch of usage events.

One transaction per batch: the valid events, superseded marks and dirty buckets commit
together, or nothing does. On PostgreSQL the write is COPY into a temporary staging table plus
INSERT ... ON CONFLICT (org_id, event_id) DO NOTHING (first write wins, also between racing
requests); elsewhere (the SQLite demo) it is the ORM equivalent.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime

import orjson
from django.db import connection, transaction
from django.utils import timezone

from costlens.accounts.models import Organization
from costlens.customers.models import Customer
from costlens.pricing.cost import PriceBook, cost_nanos
from costlens.pricing.normalize import normalize_model
from costlens.pricing.selectors import price_book_for
from costlens.usage.models import UNATTRIBUTED, Event
from costlens.usage.services import attempts_mark_superseded, buckets_mark_dirty
from ingest.schema import ValidEvent, validate_event
from routing.models import Route

COLUMNS = (
    "event_id",
    "timestamp",
    "model_raw",
    "model",
    "provider",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "customer",
    "feature",
    "route",
    "request_id",
    "attempt",
    "fallback_reason",
    "is_error",
    "latency_ms",
    "router_confidence",
    "quality_score",
    "shadow",
    "superseded",
    "unpriced",
    "cost_nanos",
    "computed_cost_nanos",
    "client_cost_nanos",
    "baseline_cost_nanos",
    "revenue_nanos",
    "metadata",
)


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    errors: list[dict] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len(self.errors)


@dataclass(slots=True)
class PricedRow:
    event: ValidEvent
    model: str
    provider: str
    unpriced: bool
    computed_cost: int
    cost: int
    baseline_cost: int

    def values(self) -> tuple:
        e = self.event
        return (
            e.event_id,
            e.timestamp,
            e.model,
            self.model,
            self.provider,
            e.input_tokens,
            e.output_tokens,
            e.cache_read_tokens,
            e.cache_write_tokens,
            e.reasoning_tokens,
            e.customer or UNATTRIBUTED,
            e.feature,
            e.route,
            e.request_id,
            e.attempt,
            e.fallback_reason,
            e.is_error,
            e.latency_ms,
            e.router_confidence,
            e.quality_score,
            e.shadow,
            False,
            self.unpriced,
            self.cost,
            self.computed_cost,
            e.client_cost_nanos,
            self.baseline_cost,
            e.revenue_nanos,
            orjson.dumps(e.metadata).decode() if e.metadata is not None else None,
        )


class _KnownNames:
    """Per-process memory of customers/routes already created, so steady traffic skips the upsert."""

    def __init__(self, limit: int = 100_000):
        self._seen: OrderedDict[tuple, None] = OrderedDict()
        self._limit = limit

    def unknown(self, keys: set[tuple]) -> set[tuple]:
        return {k for k in keys if k not in self._seen}

    def remember(self, keys: set[tuple]) -> None:
        for k in keys:
            self._seen[k] = None
        while len(self._seen) > self._limit:
            self._seen.popitem(last=False)

    def clear(self) -> None:
        self._seen.clear()


known_customers = _KnownNames()
known_routes = _KnownNames()


def price_events(
    org: Organization, events: list[ValidEvent], book: PriceBook, route_baselines: dict[str, str | None]
) -> list[PricedRow]:
    rows = []
    normalized: dict[str, str] = {}
    for e in events:
        model = normalized.get(e.model)
        if model is None:
            model = normalized[e.model] = normalize_model(e.model, book.aliases)
        tokens = {
            "input_tokens": e.input_tokens,
            "output_tokens": e.output_tokens,
            "cache_read_tokens": e.cache_read_tokens,
            "cache_write_tokens": e.cache_write_tokens,
            "reasoning_tokens": e.reasoning_tokens,
        }
        price = book.price_at(model, e.timestamp)
        computed = cost_nanos(price, **tokens) if price is not None else 0
        cost = e.client_cost_nanos if e.client_cost_nanos is not None else computed
        baseline_model = route_baselines.get(e.route) or org.baseline_model
        baseline_model = normalized.get(baseline_model) or normalize_model(baseline_model, book.aliases)
        baseline_price = book.price_at(baseline_model, e.timestamp)
        # With no price for the baseline model, the event claims no savings (baseline = its cost).
        baseline = cost_nanos(baseline_price, **tokens) if baseline_price is not None else cost
        rows.append(
            PricedRow(
                event=e,
                model=model,
                provider=e.provider or book.providers.get(model, ""),
                unpriced=price is None and e.client_cost_nanos is None,
                computed_cost=computed,
                cost=cost,
                baseline_cost=baseline,
            )
        )
    return rows


def events_ingest(*, org: Organization, raw_events: list, now: datetime | None = None) -> IngestResult:
    now = now or timezone.now()
    result = IngestResult()
    valid: list[ValidEvent] = []
    seen_ids: set[str] = set()
    for index, raw in enumerate(raw_events):
        event, errors = validate_event(raw, now)
        if errors:
            event_id = raw.get("event_id") if isinstance(raw, dict) else None
            result.errors.append(
                {
                    "index": index,
                    "event_id": event_id if isinstance(event_id, str) else None,
                    "errors": errors,
                }
            )
            continue
        assert event is not None
        if event.event_id in seen_ids:  # a repeat within the batch: the first one wins
            result.duplicates += 1
            continue
        seen_ids.add(event.event_id)
        valid.append(event)
    if not valid:
        return result

    book = price_book_for(org)
    route_baselines = dict(Route.objects.filter(org=org).values_list("name", "baseline_model"))
    rows = price_events(org, valid, book, route_baselines)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            inserted = _write_postgres(org.id, rows, now)
        else:
            inserted = _write_generic(org.id, rows, now)
        _ensure_customers_and_routes(org, inserted)
        superseded_ts = attempts_mark_superseded(
            org_id=org.id, request_ids=[r.event.request_id for r in inserted if not r.event.shadow]
        )
        buckets_mark_dirty(org_id=org.id, hours=[r.event.timestamp for r in inserted] + superseded_ts)
    result.accepted = len(inserted)
    result.duplicates += len(valid) - len(inserted)
    return result


_STAGE_DDL = """
CREATE TEMP TABLE IF NOT EXISTS ingest_stage (
    event_id text, timestamp timestamptz, model_raw text, model text, provider text,
    input_tokens bigint, output_tokens bigint, cache_read_tokens bigint, cache_write_tokens bigint,
    reasoning_tokens bigint, customer text, feature text, route text, request_id text, attempt integer,
    fallback_reason text, is_error boolean, latency_ms double precision, router_confidence double precision,
    quality_score double precision, shadow boolean, superseded boolean, unpriced boolean, cost_nanos bigint,
    computed_cost_nanos bigint, client_cost_nanos bigint, baseline_cost_nanos bigint, revenue_nanos bigint,
    metadata text
) ON COMMIT DELETE ROWS
"""


def _write_postgres(org_id: int, rows: list[PricedRow], now: datetime) -> list[PricedRow]:
    cols = ", ".join(COLUMNS)
    select_cols = ", ".join("metadata::jsonb" if c == "metadata" else c for c in COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(_STAGE_DDL)
        with cursor.copy(f"COPY ingest_stage ({cols}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row.values())
        # Sorted so that two racing batches take the unique-index locks in the same order.
        cursor.execute(
            f"""
            INSERT INTO usage_event (org_id, received_at, {cols})
            SELECT %s, %s, {select_cols} FROM ingest_stage ORDER BY event_id
            ON CONFLICT (org_id, event_id) DO NOTHING
            RETURNING event_id
            """,
            [org_id, now],
        )
        stored = {r[0] for r in cursor.fetchall()}
    return [r for r in rows if r.event.event_id in stored]


def _write_generic(org_id: int, rows: list[PricedRow], now: datetime) -> list[PricedRow]:
    ids = [r.event.event_id for r in rows]
    existing: set[str] = set()
    for start in range(0, len(ids), 500):
        existing.update(
            Event.objects.filter(org_id=org_id, event_id__in=ids[start : start + 500]).values_list(
                "event_id", flat=True
            )
        )
    fresh = [r for r in rows if r.event.event_id not in existing]
    objs = []
    for r in fresh:
        values = dict(zip(COLUMNS, r.values(), strict=True))
        values["metadata"] = r.event.metadata
        objs.append(Event(org_id=org_id, received_at=now, **values))
    Event.objects.bulk_create(objs, batch_size=200)
    return fresh


def _ensure_customers_and_routes(org: Organization, rows: list[PricedRow]) -> None:
    customers = known_customers.unknown({(org.id, r.event.customer) for r in rows if r.event.customer})
    if customers:
        Customer.objects.bulk_create(
            [Customer(org=org, external_id=c) for _, c in sorted(customers)], ignore_conflicts=True
        )
        transaction.on_commit(lambda: known_customers.remember(customers))
    routes = known_routes.unknown({(org.id, r.event.route) for r in rows if r.event.route})
    if routes:
        Route.objects.bulk_create(
            [Route(org=org, name=name, auto_created=True) for _, name in sorted(routes)],
            ignore_conflicts=True,
        )
        transaction.on_commit(lambda: known_routes.remember(routes))

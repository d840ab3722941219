"""Ingest: validate, normalise, price, dedupe and store one batch of usage events.

One transaction per batch: the valid events, superseded marks and dirty buckets commit
together, or nothing does. On PostgreSQL the write is COPY into a temporary staging table plus
INSERT ... ON CONFLICT (org_id, event_id) DO NOTHING (first write wins, also between racing
requests); elsewhere (the SQLite demo) it is the ORM equivalent.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from operator import attrgetter, itemgetter

import orjson
import psycopg
from django.db import connection, transaction
from django.utils import timezone

from costlens.accounts.models import Organization
from costlens.customers.models import Customer
from costlens.pricing.cost import PriceBook, cost_nanos
from costlens.pricing.normalize import normalize_model
from costlens.pricing.selectors import price_book_for
from costlens.usage.models import UNATTRIBUTED, Event
from costlens.usage.services import (
    CHAIN_LOCK_NAMESPACE,
    attempts_mark_superseded,
    buckets_mark_dirty,
    request_events_sql,
)
from ingest.schema import FUTURE_TOLERANCE, ValidEvent, fast_validate, validate_event
from routing.models import Route

COLUMNS = (
    "org_id",
    "received_at",
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


class _KnownNames:
    """Per-process memory of customers/routes already created, so steady traffic skips the upsert."""

    def __init__(self, limit: int = 100_000):
        self._seen: OrderedDict[tuple, None] = OrderedDict()
        self._limit = limit

    def unknown(self, org_id: int, names: set[str]) -> set[tuple]:
        """(org_id, name) for each non-empty name not remembered yet."""
        return {(org_id, n) for n in names if n and (org_id, n) not in self._seen}

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
    org: Organization,
    events: list[ValidEvent],
    book: PriceBook,
    route_baselines: dict[str, str | None],
    received_at: datetime | None = None,
) -> list[tuple]:
    """One row per event, values in COLUMNS order (the COPY row): normalised model, provider, costs.

    `metadata` is in jsonb's binary COPY form (a version byte, then the JSON text).
    """
    rows = []
    org_id = org.id
    models: dict[str, str] = {}
    baselines: dict[str, str] = {}
    # model -> (price, lo, hi): the price in force over [lo, hi), reused while events fall in it.
    spans: dict[str, tuple] = {}
    price_span = book.price_span
    providers = book.providers
    dumps = orjson.dumps

    def price_at(model: str, ts: datetime):
        span = spans.get(model)
        if span is not None and (span[1] is None or span[1] <= ts) and (span[2] is None or ts < span[2]):
            return span[0]
        span = spans[model] = price_span(model, ts)
        return span[0]

    for e in events:
        model = models.get(e.model)
        if model is None:
            model = models[e.model] = normalize_model(e.model, book.aliases)
        baseline_model = baselines.get(e.route)
        if baseline_model is None:
            raw_baseline = route_baselines.get(e.route) or org.baseline_model
            baseline_model = baselines[e.route] = normalize_model(raw_baseline, book.aliases)
        ts = e.timestamp
        inp = e.input_tokens
        out = e.output_tokens
        c_read = e.cache_read_tokens
        c_write = e.cache_write_tokens
        reasoning = e.reasoning_tokens
        price = price_at(model, ts)
        computed = 0 if price is None else cost_nanos(price, inp, out, c_read, c_write, reasoning)
        client_cost = e.client_cost_nanos
        cost = computed if client_cost is None else client_cost
        baseline_price = price if baseline_model == model else price_at(baseline_model, ts)
        # With no price for the baseline model, the event claims no savings (baseline = its cost).
        if baseline_price is None:
            baseline = cost
        elif baseline_price is price:
            baseline = computed
        else:
            baseline = cost_nanos(baseline_price, inp, out, c_read, c_write, reasoning)
        metadata = e.metadata
        rows.append(
            (
                org_id,
                received_at,
                e.event_id,
                ts,
                e.model,
                model,
                e.provider or providers.get(model, ""),
                inp,
                out,
                c_read,
                c_write,
                reasoning,
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
                price is None and client_cost is None,
                cost,
                computed,
                client_cost,
                baseline,
                e.revenue_nanos,
                None if metadata is None else b"\x01" + dumps(metadata),
            )
        )
    return rows


def events_ingest(
    *,
    org: Organization,
    raw_events: list | None = None,
    valid_events: list[ValidEvent] | None = None,
    now: datetime | None = None,
) -> IngestResult:
    """Store a batch: `raw_events` (decoded JSON, validated here) or `valid_events` (a batch
    `ingest.schema.decode_valid_batch` already validated whole, with the same `now`)."""
    now = now or timezone.now()
    result = IngestResult()
    if valid_events is None:
        valid_events = _validated(raw_events, now, result.errors)
    valid: list[ValidEvent] = []
    seen_ids: set[str] = set()
    for event in valid_events:
        if event.event_id in seen_ids:  # a repeat within the batch: the first one wins
            result.duplicates += 1
            continue
        seen_ids.add(event.event_id)
        valid.append(event)
    if not valid:
        return result

    book, route_baselines = _price_book_and_baselines(org)
    if connection.vendor != "postgresql":
        rows = price_events(org, valid, book, route_baselines, received_at=now)
        with transaction.atomic():
            inserted = _bookkeep(org, valid, _write_generic(org.id, rows))
    else:
        # Only events whose event_id is not stored yet (retries, re-sends) are priced and written.
        stored = _stored_event_ids(org.id, [e.event_id for e in valid])
        fresh = sorted((e for e in valid if e.event_id not in stored), key=attrgetter("event_id"))
        inserted = []
        if fresh:
            rows = price_events(org, fresh, book, route_baselines, received_at=now)
            try:
                with transaction.atomic():
                    inserted = _bookkeep(org, fresh, _copy_rows(rows))
            except _Raced:
                # Another request stored some of these event_ids since the probe (the COPY and
                # everything of this attempt were rolled back): the staging path settles each row
                # with ON CONFLICT DO NOTHING, first write wins.
                nested = connection.in_atomic_block or not connection.get_autocommit()
                with transaction.atomic():
                    inserted = _bookkeep(org, fresh, _write_postgres(rows, nested=nested))
    result.accepted = len(inserted)
    result.duplicates += len(valid) - len(inserted)
    return result


def _validated(raw_events: list, now: datetime, errors: list[dict]) -> list[ValidEvent]:
    """The valid events of a decoded batch, in order; each invalid one is reported in `errors`
    with its index, its event_id (when it is a string) and the message of every field."""
    latest = now + FUTURE_TOLERANCE
    valid = []
    for index, raw in enumerate(raw_events):
        event = fast_validate(raw, latest)
        if event is None:
            event, problems = validate_event(raw, now)
            if problems:
                event_id = raw.get("event_id") if isinstance(raw, dict) else None
                errors.append(
                    {
                        "index": index,
                        "event_id": event_id if isinstance(event_id, str) else None,
                        "errors": problems,
                    }
                )
                continue
            assert event is not None
        valid.append(event)
    return valid


def _bookkeep(org: Organization, valid: list[ValidEvent], stored: set[str]) -> list[ValidEvent]:
    """After the rows are written, in the same transaction: customers, routes, chains, dirty hours."""
    inserted = [e for e in valid if e.event_id in stored]
    _ensure_customers_and_routes(org, inserted)
    attempts_mark_superseded_and_buckets_dirty(org_id=org.id, events=inserted)
    return inserted


_CHAINS_SQL = f"""
SELECT pg_advisory_xact_lock(%(ns)s, %(org)s);
WITH retries AS (
    SELECT value AS request_id FROM json_array_elements_text(%(retries)s::json)
),
adopted AS (
    SELECT o.id, o.request_id
    FROM json_array_elements_text(%(own)s::json) AS f(request_id)
    CROSS JOIN LATERAL (
        SELECT o.id, o.request_id FROM ingest_orphanretry o
        WHERE o.org_id = %(org)s AND o.request_id = f.request_id
        LIMIT 1
    ) AS o
    WHERE EXISTS (SELECT 1 FROM ingest_orphanretry x WHERE x.org_id = %(org)s)
),
unorphaned AS (
    DELETE FROM ingest_orphanretry WHERE id = ANY(ARRAY(SELECT id FROM adopted))
),
orphaned AS (
    INSERT INTO ingest_orphanretry (org_id, request_id)
    SELECT %(org)s, r.request_id FROM retries AS r
    WHERE NOT EXISTS (
        SELECT 1 FROM usage_event f WHERE f.org_id = %(org)s AND f.event_id = r.request_id
    )
    ORDER BY r.request_id
    ON CONFLICT (org_id, request_id) DO NOTHING
),
chains AS (
    SELECT request_id FROM retries
    UNION
    SELECT request_id FROM adopted
    UNION
    SELECT f.request_id
    FROM json_array_elements_text(%(others)s::json) AS f(request_id)
    CROSS JOIN LATERAL (
        SELECT 1 FROM usage_event e3
        WHERE e3.org_id = %(org)s AND e3.request_id = f.request_id
          AND e3.attempt > 1 AND NOT e3.shadow
        LIMIT 1
    ) AS later
),
marked AS (
    UPDATE usage_event e SET superseded = true
    WHERE e.id = ANY(ARRAY(
        SELECT x.id
        FROM chains AS c
        CROSS JOIN LATERAL (
            SELECT y.id, y.attempt, y.superseded, max(y.attempt) OVER () AS top
            FROM ({request_events_sql("c.request_id")}) AS y
        ) AS x
        WHERE x.attempt < x.top AND NOT x.superseded
    ))
    AND e.org_id = %(org)s AND NOT e.shadow AND NOT e.superseded
    RETURNING e.timestamp
)
INSERT INTO usage_dirtybucket (org_id, hour, generation, marked_at)
SELECT %(org)s, h, 1, now() FROM (
    SELECT unnest(%(hours)s::timestamptz[])
    UNION
    SELECT date_trunc('hour', timestamp, 'UTC') FROM marked
) AS hours(h)
ORDER BY h
ON CONFLICT (org_id, hour)
DO UPDATE SET generation = usage_dirtybucket.generation + 1, marked_at = now()
"""


def attempts_mark_superseded_and_buckets_dirty(*, org_id: int, events: list[ValidEvent]) -> None:
    """Mark the attempts that the newly stored `events` supersede (or that supersede them), then
    mark dirty the events' hours plus those of the newly superseded events. On PostgreSQL it is
    one statement (one round trip per batch):

    - a retry (attempt > 1) has its whole chain read through two index lookups (LATERAL: one pair
      per id, a plan the planner cannot turn into a scan of all the org's events): the event whose
      event_id and request_id are both the request's, in the unique (org_id, event_id) index, and
      the others in the (org_id, request_id) index, which is partial (request_id <> event_id: a first
      attempt with the default request_id costs it no entry); if no event has its request_id as
      event_id yet, its request is recorded in `ingest_orphanretry`, for the first attempt to find
      when it arrives;
    - a first attempt whose request_id is its own event_id (the default; ~95% of events) can only
      be part of a chain if a retry was stored before it, i.e. if its request is an orphan: one
      check that the org has any orphans (usually none, then nothing more), else one probe of that
      small table each; the orphan row is deleted (no other event with that event_id can come);
    - a first attempt with a request_id of its own probes the partial index of retries instead;
    - the UPDATE goes by primary key (`id = ANY(ARRAY(...))`, no join to misplan), and the dirty
      buckets are upserted in hour order (the same lock order as `buckets_mark_dirty`).

    Whatever order attempts arrive in, the highest one present marks every lower one.

    Attempts of one request can arrive in two concurrent batches; each transaction would miss the
    other's uncommitted attempt (and its orphan row). So the statement is preceded (same round
    trip) by a per-org advisory lock held until commit: READ COMMITTED takes the statement's
    snapshot after the lock is granted, so the second batch looks after the first has committed.
    It orders only this short tail of each batch (the dirty-bucket upsert serialises there anyway).
    """
    if connection.vendor != "postgresql":
        superseded_ts = attempts_mark_superseded(
            org_id=org_id, request_ids=[e.request_id for e in events if not e.shadow]
        )
        buckets_mark_dirty(org_id=org_id, hours=[*(e.timestamp for e in events), *superseded_ts])
        return
    if not events:
        return
    # Most events are first attempts with the default request_id; retries and first attempts with
    # a request_id of their own are few.
    own = [e.event_id for e in events if e.request_id == e.event_id and e.attempt == 1 and not e.shadow]
    rest = [e for e in events if (e.attempt != 1 or e.request_id != e.event_id) and not e.shadow]
    retries = sorted({e.request_id for e in rest if e.attempt != 1})
    others = sorted({e.request_id for e in rest if e.attempt == 1})
    # Distinct hours via epoch arithmetic (C speed), converting only the few distinct ones.
    hours = [
        datetime.fromtimestamp(k * 3600, UTC)
        for k in sorted({int(e.timestamp.timestamp() // 3600) for e in events})
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            _CHAINS_SQL,
            {
                # JSON strings: psycopg would quote lists as array literals element by element.
                "retries": orjson.dumps(retries).decode(),
                "own": orjson.dumps(own).decode(),
                "others": orjson.dumps(others).decode(),
                "org": org_id,
                "hours": hours,
                "ns": CHAIN_LOCK_NAMESPACE,
            },
        )


class _Raced(Exception):
    """The direct COPY met an event_id stored since the probe; retry through the staging table."""


_STAGE_DDL = """
CREATE TEMP TABLE IF NOT EXISTS ingest_stage (
    org_id bigint, received_at timestamptz,
    event_id text, timestamp timestamptz, model_raw text, model text, provider text,
    input_tokens bigint, output_tokens bigint, cache_read_tokens bigint, cache_write_tokens bigint,
    reasoning_tokens bigint, customer text, feature text, route text, request_id text, attempt integer,
    fallback_reason text, is_error boolean, latency_ms double precision, router_confidence double precision,
    quality_score double precision, shadow boolean, superseded boolean, unpriced boolean, cost_nanos bigint,
    computed_cost_nanos bigint, client_cost_nanos bigint, baseline_cost_nanos bigint, revenue_nanos bigint,
    metadata jsonb
) ON COMMIT DELETE ROWS
"""


# Binary COPY with declared types: a third of the client CPU of text COPY for a 1,000-row batch.
# A binary COPY sends each value in its column type's wire form, unchecked: the jsonb column gets
# jsonb's (a version byte, then the JSON text), which price_events builds; declared as bytea so
# psycopg passes those bytes through.
_COPY_TYPES = (
    "int8", "timestamptz",
    "text", "timestamptz", "text", "text", "text", "int8", "int8", "int8", "int8", "int8",
    "text", "text", "text", "text", "int4", "text", "bool", "float8", "float8", "float8",
    "bool", "bool", "bool", "int8", "int8", "int8", "int8", "int8", "bytea",
)  # fmt: skip
_EVENT_ID = COLUMNS.index("event_id")
_REQUEST_ID = COLUMNS.index("request_id")
_ATTEMPT = COLUMNS.index("attempt")
_SHADOW = COLUMNS.index("shadow")
_SUPERSEDED = COLUMNS.index("superseded")


def _event_id(row: tuple) -> str:
    return row[_EVENT_ID]


# One unique-index probe per id (LATERAL ... LIMIT 1 cannot be planned as a scan of the org's events,
# which `event_id = ANY(...)` was whenever the table's statistics were stale). The ids travel as one
# JSON string: psycopg quotes a Python list as an array literal element by element, in Python.
_PROBE_SQL = """
SELECT i.event_id FROM json_array_elements_text(%s::json) AS i(event_id)
CROSS JOIN LATERAL (
    SELECT 1 FROM usage_event e WHERE e.org_id = %s AND e.event_id = i.event_id LIMIT 1
) AS hit
"""


def _superseded_within(rows: list[tuple]) -> list[tuple]:
    """The rows, with `superseded` already true where a higher attempt of the same request is among
    them (a retry usually arrives in its first attempt's batch).

    Marking them in the COPY spares the chain-marking statement an UPDATE of each (a new row
    version plus an entry in each of usage_event's indexes). Only for rows that are all stored
    together: a row another request stored first may carry a different attempt.
    """
    top: dict[str, int] = {}
    for r in rows:
        attempt = r[_ATTEMPT]
        if attempt > 1 and not r[_SHADOW] and top.get(r[_REQUEST_ID], 0) < attempt:
            top[r[_REQUEST_ID]] = attempt
    if not top:
        return rows
    marked = []
    for r in rows:
        if r[_ATTEMPT] < top.get(r[_REQUEST_ID], 0) and not r[_SHADOW]:
            r = (*r[:_SUPERSEDED], True, *r[_SUPERSEDED + 1 :])
        marked.append(r)
    return marked


def _stored_event_ids(org_id: int, event_ids: list[str]) -> set[str]:
    """Which of `event_ids` the org has stored already (retries, re-sends)."""
    with connection.cursor() as cursor:
        cursor.execute(_PROBE_SQL, [orjson.dumps(event_ids).decode(), org_id])
        return {event_id for (event_id,) in cursor.fetchall()}


def _copy_rows(rows: list[tuple]) -> set[str]:
    """COPY new rows (in event_id order) straight into usage_event; returns their event_ids.

    COPY costs about half of an INSERT ... ON CONFLICT of the same rows. If another request stored
    one of them since the probe, the COPY fails on the unique index and `_Raced` sends the whole
    batch through the staging path instead.
    """
    with connection.cursor() as cursor:
        try:
            with cursor.copy(f"COPY usage_event ({', '.join(COLUMNS)}) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(_COPY_TYPES)
                write_row = copy.write_row
                for row in _superseded_within(rows):
                    write_row(row)
        except psycopg.errors.UniqueViolation as exc:
            raise _Raced from exc
    return {r[_EVENT_ID] for r in rows}


def _write_postgres(rows: list[tuple], *, nested: bool) -> set[str]:
    """COPY into the staging table, then insert what is new; returns the event_ids stored."""
    cols = ", ".join(COLUMNS)
    with connection.cursor() as cursor:
        # The stage is created once per database connection (remembered only once committed: a
        # rolled-back transaction takes its CREATE with it). ON COMMIT DELETE ROWS empties it when
        # the outermost transaction commits (and a rollback takes the rows with it), so in our own
        # transaction it starts empty. Inside a caller's transaction (our atomic is a savepoint) a
        # previous batch's rows, possibly another org's, could still be there: empty it first.
        dbapi = connection.connection
        if getattr(connection, "_ingest_stage_for", None) is not dbapi:
            cursor.execute(_STAGE_DDL + "; DELETE FROM ingest_stage")
            transaction.on_commit(lambda: setattr(connection, "_ingest_stage_for", dbapi))
        elif nested:
            cursor.execute("DELETE FROM ingest_stage")
        with cursor.copy(f"COPY ingest_stage ({cols}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(_COPY_TYPES)
            for row in sorted(rows, key=_event_id):
                copy.write_row(row)
        # Sorted so that two racing batches take the unique-index locks in the same order; byte
        # order (COLLATE "C") is Python's order, so the sort only checks the rows are presorted.
        cursor.execute(
            f"""
            INSERT INTO usage_event ({cols})
            SELECT {cols} FROM ingest_stage ORDER BY event_id COLLATE "C"
            ON CONFLICT (org_id, event_id) DO NOTHING
            RETURNING event_id
            """
        )
        return {event_id for (event_id,) in cursor.fetchall()}


def _write_generic(org_id: int, rows: list[tuple]) -> set[str]:
    ids = [r[_EVENT_ID] for r in rows]
    existing: set[str] = set()
    for start in range(0, len(ids), 500):
        existing.update(
            Event.objects.filter(org_id=org_id, event_id__in=ids[start : start + 500]).values_list(
                "event_id", flat=True
            )
        )
    objs = []
    for row in rows:
        if row[_EVENT_ID] in existing:
            continue
        values = dict(zip(COLUMNS, row, strict=True))
        metadata = values["metadata"]
        values["metadata"] = orjson.loads(metadata[1:]) if metadata is not None else None  # jsonb's form
        objs.append(Event(**values))
    Event.objects.bulk_create(objs, batch_size=200)
    return {o.event_id for o in objs}


# Per process: org id -> (version, PriceBook). The version is a hash of the catalog, alias and
# org-override rows' contents, read in one query with the route baselines, so a change to any
# price (insert, update, delete, even inside the caller's transaction) is seen by the next batch.
_price_books: OrderedDict[int, tuple[tuple, PriceBook]] = OrderedDict()
_PRICE_BOOKS_LIMIT = 1_000

_VERSION_SQL = """
SELECT
    (SELECT count(*)::text || ':' || coalesce(sum(hashtextextended(t::text, 0)), 0)::text
     FROM pricing_modelprice t),
    (SELECT count(*)::text || ':' || coalesce(sum(hashtextextended(t::text, 0)), 0)::text
     FROM pricing_modelalias t),
    (SELECT count(*)::text || ':' || coalesce(sum(hashtextextended(t::text, 0)), 0)::text
     FROM pricing_orgpriceoverride t WHERE t.org_id = %(org)s),
    (SELECT coalesce(json_agg(json_build_array(r.name, r.baseline_model)), '[]')::text
     FROM routing_route r WHERE r.org_id = %(org)s)
"""


def _price_book_version(org_id: int) -> tuple[tuple, dict[str, str | None]]:
    with connection.cursor() as cursor:
        cursor.execute(_VERSION_SQL, {"org": org_id})
        catalog, aliases, overrides, routes = cursor.fetchone()
    return (catalog, aliases, overrides), dict(orjson.loads(routes))


def _price_book_and_baselines(org: Organization) -> tuple[PriceBook, dict[str, str | None]]:
    """The org's price book (cached per process while its rows are unchanged) and route baselines."""
    if connection.vendor != "postgresql":
        return price_book_for(org), dict(Route.objects.filter(org=org).values_list("name", "baseline_model"))
    version, route_baselines = _price_book_version(org.id)
    cached = _price_books.get(org.id)
    if cached is not None and cached[0] == version:
        return cached[1], route_baselines
    book = price_book_for(org)
    # Cache it only if nothing changed while it was read (else a newer book under an older version).
    if _price_book_version(org.id)[0] == version:
        _price_books.pop(org.id, None)
        _price_books[org.id] = (version, book)  # newest last
        while len(_price_books) > _PRICE_BOOKS_LIMIT:
            _price_books.pop(next(iter(_price_books)), None)
    return book, route_baselines


_CUSTOMER_OF = itemgetter(ValidEvent._fields.index("customer"))
_ROUTE_OF = itemgetter(ValidEvent._fields.index("route"))


def _ensure_customers_and_routes(org: Organization, events: list[ValidEvent]) -> None:
    # Distinct names first (in C): a batch holds many events per customer and route.
    customers = known_customers.unknown(org.id, set(map(_CUSTOMER_OF, events)))
    if customers:
        Customer.objects.bulk_create(
            [Customer(org=org, external_id=c) for _, c in sorted(customers)], ignore_conflicts=True
        )
        transaction.on_commit(lambda: known_customers.remember(customers))
    routes = known_routes.unknown(org.id, set(map(_ROUTE_OF, events)))
    if routes:
        Route.objects.bulk_create(
            [Route(org=org, name=name, auto_created=True) for _, name in sorted(routes)],
            ignore_conflicts=True,
        )
        transaction.on_commit(lambda: known_routes.remember(routes))

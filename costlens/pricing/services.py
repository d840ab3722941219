"""Writes to the price catalog: CSV / LiteLLM imports, org overrides, the shipped default catalog,
and `events_reprice`, which re-applies the current prices to stored events.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation, localcontext
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import connection, transaction

from costlens.accounts.models import Organization
from costlens.pricing.cost import Price, scale_price
from costlens.pricing.models import PRICE_FIELD, ModelPrice, OrgPriceOverride
from costlens.pricing.normalize import canonical_model, normalize_model

DEFAULT_CATALOG = Path(__file__).resolve().parent / "data" / "catalog.csv"
CSV_COLUMNS = (
    "model",
    "provider",
    "effective_from",
    "input_per_mtok",
    "output_per_mtok",
    "cache_read_per_mtok",
    "cache_write_per_mtok",
    "reasoning_per_mtok",
)
PRICE_COLUMNS = CSV_COLUMNS[3:]
# Prices are stored with 12 decimal places and at most 24 digits: below 10^12 USD per 1M tokens.
MAX_PRICE = Decimal(10) ** (PRICE_FIELD["max_digits"] - PRICE_FIELD["decimal_places"])
_PRICE_QUANTUM = Decimal(1).scaleb(-PRICE_FIELD["decimal_places"])


class PriceImportError(ValueError):
    """A bad price file; the message names the row or key. Nothing was imported."""


@dataclass(frozen=True)
class PriceRow:
    model: str
    provider: str
    effective_from: datetime
    input_per_mtok: Decimal
    output_per_mtok: Decimal
    cache_read_per_mtok: Decimal | None = None
    cache_write_per_mtok: Decimal | None = None
    reasoning_per_mtok: Decimal | None = None
    source: str = ""

    def price(self) -> Price:
        return Price.from_decimals(**{c: getattr(self, c) for c in PRICE_COLUMNS})


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int
    unchanged: int


@dataclass
class PriceFile:
    """A parsed price file: the rows to upsert and what was left out, for the summary."""

    rows: list[PriceRow]
    skipped: list[str] = field(default_factory=list)  # entries without token prices
    folded: list[str] = field(default_factory=list)  # entries that normalise to a model another entry priced


def parse_effective_from(text: str) -> datetime:
    """An ISO date (midnight UTC) or datetime (UTC when it has no offset)."""
    text = text.strip()
    value = datetime.fromisoformat(text)
    if len(text) <= 10:
        value = datetime.combine(value.date(), time.min)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _checked_price(value: Decimal, *, where: str, column: str, shown: object) -> Decimal:
    if not value.is_finite() or value < 0:
        raise PriceImportError(f"{where}: {column} must be a non-negative number, not {shown!r}")
    if value >= MAX_PRICE:
        raise PriceImportError(
            f"{where}: {column} {shown!r} is too large (at most {MAX_PRICE} per 1M tokens)"
        )
    return value


def parse_price(text: str | None, *, where: str, column: str, required: bool) -> Decimal | None:
    text = (text or "").strip()
    if not text:
        if required:
            raise PriceImportError(f"{where}: {column} is required")
        return None
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise PriceImportError(f"{where}: {column} {text!r} is not a decimal number") from exc
    _checked_price(value, where=where, column=column, shown=text)
    try:
        scale_price(value)
    except ValueError as exc:
        raise PriceImportError(f"{where}: {column} {exc}") from exc
    return value


def parse_price_csv(text: str, *, effective_from: datetime | None = None) -> list[PriceRow]:
    """Rows of the CSV format of API.md §5; an optional `source` column documents each row.

    Lines starting with '#' are comments. Errors name the row by its line number in the file.
    `effective_from` fills rows whose own cell is empty.
    """
    text = text.removeprefix("\ufeff")  # a BOM, as spreadsheet programs write it
    kept = [
        (number, line)
        for number, line in enumerate(io.StringIO(text), start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    reader = csv.DictReader([line for _, line in kept])
    fieldnames = [(name or "").strip() for name in (reader.fieldnames or [])]
    reader.fieldnames = fieldnames
    missing = [c for c in CSV_COLUMNS if c not in fieldnames and c != "effective_from"]
    if missing:
        header_line = kept[0][0] if kept else 1
        raise PriceImportError(f"row {header_line} (header): missing column(s) {', '.join(missing)}")
    rows: list[PriceRow] = []
    seen: dict[tuple[str, datetime], tuple[str, PriceRow]] = {}
    for record in reader:
        where = f"row {kept[reader.line_num - 1][0]}"
        if None in record:
            raise PriceImportError(f"{where}: more cells than the header has columns")
        model = (record.get("model") or "").strip()
        if not model:
            raise PriceImportError(f"{where}: model is required")
        if len(model) > 200:
            raise PriceImportError(f"{where}: model must be at most 200 characters")
        raw_from = (record.get("effective_from") or "").strip()
        if raw_from:
            try:
                when = parse_effective_from(raw_from)
            except ValueError as exc:
                raise PriceImportError(
                    f"{where}: effective_from {raw_from!r} is not an ISO date or datetime"
                ) from exc
        elif effective_from is not None:
            when = effective_from
        else:
            raise PriceImportError(f"{where}: effective_from is required (or pass --effective-from)")
        prices = {
            column: parse_price(
                record.get(column), where=where, column=column, required=column in PRICE_COLUMNS[:2]
            )
            for column in PRICE_COLUMNS
        }
        row = PriceRow(
            model=normalize_model(model),
            provider=(record.get("provider") or "").strip()[:64],
            effective_from=when,
            source=(record.get("source") or "").strip()[:300],
            **prices,
        )
        earlier = seen.get((row.model, when))
        if earlier is not None:
            if earlier[1].price() != row.price():
                raise PriceImportError(
                    f"{where}: {row.model} from {when:%Y-%m-%d %H:%M:%S} UTC is already priced "
                    f"differently on {earlier[0]}"
                )
            continue
        seen[(row.model, when)] = (where, row)
        rows.append(row)
    return rows


# LiteLLM's model_prices_and_context_window.json: USD per token -> our USD per 1M tokens.
LITELLM_PRICE_KEYS = {
    "input_per_mtok": "input_cost_per_token",
    "output_per_mtok": "output_cost_per_token",
    "cache_read_per_mtok": "cache_read_input_token_cost",
    "cache_write_per_mtok": "cache_creation_input_token_cost",
    "reasoning_per_mtok": "output_cost_per_reasoning_token",
}
# LiteLLM names the API a model is called through; where that is the vendor's own API (or
# Google's two), use the vendor names events carry (API.md §1). Other values are kept as they are.
LITELLM_PROVIDERS = {
    "openai": "openai",
    "text-completion-openai": "openai",
    "anthropic": "anthropic",
    "gemini": "google",
    "vertex_ai-language-models": "google",
    "deepseek": "deepseek",
    "mistral": "mistral",
    "cohere_chat": "cohere",
    "xai": "xai",
    "moonshot": "moonshot",
    "dashscope": "alibaba",
}


def _litellm_price(entry: dict, key: str, column: str) -> Decimal | None:
    name = LITELLM_PRICE_KEYS[column]
    where = f"key {key!r}"
    raw = entry.get(name)
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | Decimal | str):
        raise PriceImportError(f"{where}: {name} must be a number, not {raw!r}")
    try:
        per_token = Decimal(raw.strip()) if isinstance(raw, str) else Decimal(raw)
    except InvalidOperation as exc:
        raise PriceImportError(f"{where}: {name} {raw!r} is not a number") from exc
    if not per_token.is_finite() or per_token < 0:
        raise PriceImportError(f"{where}: {name} must be a non-negative number, not {raw!r}")
    with localcontext() as ctx:
        ctx.prec = 200
        per_mtok = per_token.scaleb(6)
        # Exact unless LiteLLM wrote a float artefact beyond 1e-18 USD per token (12 places per 1M).
        per_mtok = per_mtok.quantize(_PRICE_QUANTUM, rounding=ROUND_HALF_EVEN)
    return _checked_price(per_mtok, where=where, column=name, shown=raw)


def _host_rank(litellm_provider: str) -> int:
    """0 the vendor's own API, 1 a major cloud hosting it (list prices as a rule), 2 a gateway or
    reseller (its own prices)."""
    if litellm_provider in LITELLM_PROVIDERS:
        return 0
    if litellm_provider.startswith(("bedrock", "vertex_ai", "azure")):
        return 1
    return 2


def parse_litellm_json(text: str, *, effective_from: datetime) -> PriceFile:
    """Rows from LiteLLM's price map, all dated `effective_from`.

    Parsed with Decimal for every number, so no binary float ever touches a price. Entries
    without both an input and an output token price (image, audio, per-second, per-query
    pricing) and `sample_spec` are skipped. Tiered prices (`..._above_200k_tokens`), batch and
    priority prices are not part of the contract and are ignored.
    """
    try:
        data = json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)
    except (json.JSONDecodeError, ValueError) as exc:
        raise PriceImportError(f"not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise PriceImportError("not a LiteLLM price map: the top level must be an object of model keys")
    skipped: list[str] = []
    candidates: dict[str, list[tuple[str, int, PriceRow]]] = defaultdict(list)
    for key, entry in data.items():
        if key == "sample_spec":
            continue
        if not isinstance(entry, dict):
            raise PriceImportError(f"key {key!r}: must be an object, not {type(entry).__name__}")
        prices = {column: _litellm_price(entry, key, column) for column in PRICE_COLUMNS}
        if prices["input_per_mtok"] is None or prices["output_per_mtok"] is None:
            skipped.append(key)
            continue
        model = normalize_model(key)
        if len(model) > 200:
            raise PriceImportError(f"key {key[:60]!r}...: a model name is at most 200 characters")
        provider = entry.get("litellm_provider")
        provider = provider if isinstance(provider, str) else ""
        row = PriceRow(
            model=model,
            provider=LITELLM_PROVIDERS.get(provider, provider)[:64],
            effective_from=effective_from,
            source=f"LiteLLM model_prices_and_context_window.json: {key}"[:300],
            **prices,
        )
        candidates[model].append((key, _host_rank(provider), row))
    rows: list[PriceRow] = []
    folded: list[str] = []
    for model, entries in candidates.items():
        # Several keys can name one model (gpt-4o, gpt-4o-2024-08-06, azure/gpt-4o, and through
        # an alias deepseek-chat). A spelling of the model beats an alias to it; then the vendor's
        # own API beats a cloud, which beats a gateway or reseller; then the model's own key; among
        # equals the newest-looking snapshot (reverse lexical: -2024-11-20 before -2024-08-06).
        entries.sort(key=lambda item: item[0].lower(), reverse=True)
        entries.sort(
            key=lambda item: (
                canonical_model(item[0]) != model,
                item[1],
                item[0].strip().lower() != model,
            )
        )
        rows.append(entries[0][2])
        folded.extend(key for key, _, _ in entries[1:])
    return PriceFile(rows=rows, skipped=skipped, folded=folded)


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number")


def _in_force(history: list[ModelPrice], at: datetime) -> ModelPrice | None:
    earlier = [p for p in history if p.effective_from <= at]
    return max(earlier, key=lambda p: p.effective_from) if earlier else None


def _stored_price(p: ModelPrice) -> Price:
    return Price.from_decimals(**{c: getattr(p, c) for c in PRICE_COLUMNS})


@transaction.atomic
def prices_import(*, rows: list[PriceRow], only_changes: bool = False) -> ImportResult:
    """Upsert catalog rows keyed by (model, effective_from). Re-importing the same rows is a no-op.

    With `only_changes` (LiteLLM imports, dated "today"), a new row whose price equals the
    price already in force at its date is not written, so re-importing an unchanged price map
    on a later day is a no-op too.
    """
    created = updated = unchanged = 0
    catalog = list(ModelPrice.objects.select_for_update().order_by("pk"))
    existing = {(p.model, p.effective_from): p for p in catalog}
    history: dict[str, list[ModelPrice]] = defaultdict(list)
    for p in catalog:
        history[p.model].append(p)
    to_create: list[ModelPrice] = []
    to_update: list[ModelPrice] = []
    for row in rows:
        values = {"provider": row.provider, **{c: getattr(row, c) for c in PRICE_COLUMNS}}
        if row.source:
            values["source"] = row.source
        key = (row.model, row.effective_from)
        current = existing.get(key)
        if current is None:
            in_force = _in_force(history[row.model], row.effective_from) if only_changes else None
            if in_force is not None and _stored_price(in_force) == row.price():
                unchanged += 1
                continue
            existing[key] = ModelPrice(model=row.model, effective_from=row.effective_from, **values)
            to_create.append(existing[key])
            created += 1
        elif any(getattr(current, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(current, k, v)
            if current.pk is not None and current not in to_update:
                to_update.append(current)
                updated += 1
        else:
            unchanged += 1
    ModelPrice.objects.bulk_create(to_create, batch_size=500)
    if to_update:
        ModelPrice.objects.bulk_update(to_update, ["provider", *PRICE_COLUMNS, "source"], batch_size=500)
    return ImportResult(created=created, updated=updated, unchanged=unchanged)


def catalog_load_default() -> ImportResult:
    return prices_import(rows=parse_price_csv(DEFAULT_CATALOG.read_text()))


@transaction.atomic
def price_override_create(
    *,
    org: Organization,
    model: str,
    effective_from: datetime,
    input_per_mtok: Decimal | None = None,
    output_per_mtok: Decimal | None = None,
    cache_read_per_mtok: Decimal | None = None,
    cache_write_per_mtok: Decimal | None = None,
    reasoning_per_mtok: Decimal | None = None,
    discount_pct: Decimal | None = None,
    note: str = "",
) -> OrgPriceOverride:
    """An org's own price for a model from `effective_from` on: explicit prices or a discount.

    Raises ValidationError with field errors. Stored events keep their cost until `reprice`.
    """
    from costlens.pricing.selectors import alias_table

    explicit = {
        "input_per_mtok": input_per_mtok,
        "output_per_mtok": output_per_mtok,
        "cache_read_per_mtok": cache_read_per_mtok,
        "cache_write_per_mtok": cache_write_per_mtok,
        "reasoning_per_mtok": reasoning_per_mtok,
    }
    given = {k for k, v in explicit.items() if v is not None}
    errors: dict[str, list[str]] = {}
    if discount_pct is not None and given:
        errors["discount_pct"] = ["give either discount_pct or prices, not both"]
    elif discount_pct is None:
        for column in ("input_per_mtok", "output_per_mtok"):
            if column not in given:
                errors[column] = ["is required unless discount_pct is given"]
    name = normalize_model(model, alias_table())
    if discount_pct is not None and not ModelPrice.objects.filter(model=name).exists():
        errors["model"] = [f"{name!r} has no catalog price to discount; give explicit prices instead"]
    if OrgPriceOverride.objects.filter(org=org, model=name, effective_from=effective_from).exists():
        errors["effective_from"] = [f"an override for {name} from this instant already exists"]
    if errors:
        raise ValidationError(errors)
    return OrgPriceOverride.objects.create(
        org=org, model=name, effective_from=effective_from, discount_pct=discount_pct, note=note, **explicit
    )


REPRICE_CHUNK = 5_000
_REPRICE_FIELDS = (
    "pk",
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
    "shadow",
    "client_cost_nanos",
    "revenue_nanos",
    "unpriced",
    "computed_cost_nanos",
    "cost_nanos",
    "baseline_cost_nanos",
)
_PRICED_COLUMNS = (
    "model",
    "provider",
    "unpriced",
    "computed_cost_nanos",
    "cost_nanos",
    "baseline_cost_nanos",
)


def events_reprice(
    *,
    org: Organization,
    model: str | None = None,
    since: datetime | None = None,
    progress: Callable[[int], None] | None = None,
    chunk_size: int = REPRICE_CHUNK,
) -> int:
    """Re-apply the prices in force now (catalog, org overrides, aliases) to stored events.

    Matching events (all of the org's, or one model's, or those at or after `since`, by event
    time) are re-normalised from their raw model name and re-priced exactly as ingest prices
    them; the client's cost_usd still wins when it was sent. Runs in chunks of `chunk_size`
    events by primary key, one transaction each, and marks the (org, hour) buckets of changed
    events dirty in the same transaction so the rollups recompute them. `progress(n)` is called
    with the number of events scanned after each chunk. Returns the number of events changed.
    """
    from costlens.pricing.selectors import price_book_for, reprice_candidates
    from costlens.usage.services import buckets_mark_dirty
    from ingest.services import COLUMNS, price_events
    from routing.models import Route

    book = price_book_for(org)
    route_baselines = dict(Route.objects.filter(org=org).values_list("name", "baseline_model"))
    events = reprice_candidates(org, model=model, since=since)
    positions = [COLUMNS.index(c) for c in _PRICED_COLUMNS]  # price_events answers rows in COLUMNS order
    changed = 0
    last_pk = 0
    while True:
        with transaction.atomic():
            chunk = list(events.filter(pk__gt=last_pk).order_by("pk").values(*_REPRICE_FIELDS)[:chunk_size])
            if not chunk:
                break
            last_pk = chunk[-1]["pk"]
            priced = price_events(org, [_as_valid_event(row) for row in chunk], book, route_baselines)
            updates = []
            for row, new in zip(chunk, priced, strict=True):
                values = tuple(new[i] for i in positions)
                if values != tuple(row[c] for c in _PRICED_COLUMNS):
                    updates.append((row["pk"], row["timestamp"], values))
            if updates:
                _write_prices(org.id, updates)
                buckets_mark_dirty(org_id=org.id, hours=[ts for _, ts, _ in updates])
            changed += len(updates)
        if progress is not None:
            progress(len(chunk))
    return changed


def _as_valid_event(row: dict):
    """A stored event in the shape ingest prices; price_events reads the raw model name, provider,
    tokens, timestamp, route and client cost."""
    from ingest.schema import ValidEvent

    return ValidEvent(
        event_id=row["event_id"],
        timestamp=row["timestamp"],
        model=row["model_raw"],
        provider=row["provider"],
        input_tokens=row["input_tokens"],
        output_tokens=row["output_tokens"],
        cache_read_tokens=row["cache_read_tokens"],
        cache_write_tokens=row["cache_write_tokens"],
        reasoning_tokens=row["reasoning_tokens"],
        customer=row["customer"],
        feature=row["feature"],
        route=row["route"],
        request_id=row["request_id"],
        attempt=row["attempt"],
        fallback_reason="",
        is_error=False,
        latency_ms=None,
        router_confidence=None,
        quality_score=None,
        shadow=row["shadow"],
        client_cost_nanos=row["client_cost_nanos"],
        revenue_nanos=row["revenue_nanos"],
        metadata=None,
    )


_STAGE_DDL = """
CREATE TEMP TABLE IF NOT EXISTS reprice_stage (
    id bigint, model text, provider text, unpriced boolean, computed bigint, cost bigint, baseline bigint
) ON COMMIT DELETE ROWS
"""
_STAGE_TYPES = ("int8", "text", "text", "bool", "int8", "int8", "int8")


def _write_prices(org_id: int, updates: list[tuple[int, datetime, tuple]]) -> None:
    from costlens.usage.models import Event

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_STAGE_DDL)
            # Emptied first: inside an outer transaction, ON COMMIT has not cleared the last chunk.
            cursor.execute("TRUNCATE reprice_stage")
            with cursor.copy("COPY reprice_stage FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(_STAGE_TYPES)
                for pk, _, values in updates:
                    copy.write_row((pk, *values))
            cursor.execute(
                """
                UPDATE usage_event e
                SET model = v.model, provider = v.provider, unpriced = v.unpriced,
                    computed_cost_nanos = v.computed, cost_nanos = v.cost, baseline_cost_nanos = v.baseline
                FROM reprice_stage v
                WHERE e.id = v.id AND e.org_id = %s
                """,
                [org_id],
            )
        return
    objs = [Event(pk=pk, **dict(zip(_PRICED_COLUMNS, values, strict=True))) for pk, _, values in updates]
    Event.objects.bulk_update(objs, list(_PRICED_COLUMNS), batch_size=500)

"""Writes to the price catalog: CSV / LiteLLM imports, org overrides, the shipped default catalog."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime, time
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.db import transaction

from costlens.pricing.cost import scale_price
from costlens.pricing.models import ModelPrice
from costlens.pricing.normalize import normalize_model

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


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int
    unchanged: int


def parse_effective_from(text: str) -> datetime:
    """An ISO date (midnight UTC) or datetime (UTC when it has no offset)."""
    text = text.strip()
    value = datetime.fromisoformat(text)
    if len(text) <= 10:
        value = datetime.combine(value.date(), time.min)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


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
    if not value.is_finite() or value < 0:
        raise PriceImportError(f"{where}: {column} must be a non-negative number, not {text!r}")
    try:
        scale_price(value)
    except ValueError as exc:
        raise PriceImportError(f"{where}: {column} {exc}") from exc
    return value


def parse_price_csv(text: str, *, effective_from: datetime | None = None) -> list[PriceRow]:
    """Rows of the CSV format of API.md §5. Lines starting with '#' are comments."""
    lines = [line for line in io.StringIO(text) if not line.lstrip().startswith("#")]
    reader = csv.DictReader(lines)
    missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or []) and c != "effective_from"]
    if missing:
        raise PriceImportError(f"header: missing column(s) {', '.join(missing)}")
    rows: list[PriceRow] = []
    for line_no, record in enumerate(reader, start=2):
        where = f"row {line_no}"
        model = (record.get("model") or "").strip()
        if not model:
            raise PriceImportError(f"{where}: model is required")
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
        rows.append(
            PriceRow(
                model=normalize_model(model),
                provider=(record.get("provider") or "").strip(),
                effective_from=when,
                source=(record.get("source") or "").strip(),
                **prices,
            )
        )
    return rows


@transaction.atomic
def prices_import(*, rows: list[PriceRow]) -> ImportResult:
    """Upsert catalog rows keyed by (model, effective_from). Re-importing the same rows is a no-op."""
    created = updated = unchanged = 0
    existing = {(p.model, p.effective_from): p for p in ModelPrice.objects.select_for_update()}
    for row in rows:
        values = {
            "provider": row.provider,
            "input_per_mtok": row.input_per_mtok,
            "output_per_mtok": row.output_per_mtok,
            "cache_read_per_mtok": row.cache_read_per_mtok,
            "cache_write_per_mtok": row.cache_write_per_mtok,
            "reasoning_per_mtok": row.reasoning_per_mtok,
        }
        if row.source:
            values["source"] = row.source
        current = existing.get((row.model, row.effective_from))
        if current is None:
            existing[(row.model, row.effective_from)] = ModelPrice.objects.create(
                model=row.model, effective_from=row.effective_from, **values
            )
            created += 1
        elif any(getattr(current, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(current, k, v)
            current.save()
            updated += 1
        else:
            unchanged += 1
    return ImportResult(created=created, updated=updated, unchanged=unchanged)


def catalog_load_default() -> ImportResult:
    return prices_import(rows=parse_price_csv(DEFAULT_CATALOG.read_text()))

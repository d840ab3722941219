"""Parsing of customer and revenue input, shared by the API, the CSV imports and the upload form."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import orjson

from costlens.money import parse_usd, usd_to_nanos

MAX_METADATA_BYTES = 4096
MAX_AMOUNT_USD = Decimal("1000000000")  # one billion per entry: anything above is a typo


class InvalidInput(ValueError):
    """Field errors, shaped like the API's 400 body: {"field": ["message", ...]}."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


class _Errors(dict):
    def add(self, field: str, message: str) -> None:
        self.setdefault(field, []).append(message)

    def raise_if_any(self) -> None:
        if self:
            raise InvalidInput(dict(self))


def parse_instant(value: object, *, naive_is_utc: bool) -> datetime:
    """An RFC 3339 date-time (or a bare ISO date, meaning 00:00 UTC) as an aware UTC datetime.

    The API refuses a date-time without an offset (ambiguous); CSV imports read it as UTC.
    """
    if not isinstance(value, str) or not value.strip() or len(value) > 64:
        raise ValueError("must be an RFC 3339 date-time like 2026-04-01T00:00:00Z")
    text = value.strip()
    if "T" not in text.upper() and " " not in text:
        try:
            day = date.fromisoformat(text)
        except ValueError as exc:
            raise ValueError("must be an RFC 3339 date-time like 2026-04-01T00:00:00Z") from exc
        return datetime(day.year, day.month, day.day, tzinfo=UTC)
    try:
        ts = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError("must be an RFC 3339 date-time like 2026-04-01T00:00:00Z") from exc
    if ts.tzinfo is None:
        if not naive_is_utc:
            raise ValueError("must carry a UTC offset (Z or +hh:mm)")
        ts = ts.replace(tzinfo=UTC)
    return ts.astimezone(UTC)


@dataclass(frozen=True)
class CustomerInput:
    """Only the fields the caller sent; absent ones are left as they are."""

    fields: dict


CUSTOMER_FIELDS = ("name", "plan", "segment", "metadata")


def validate_customer(raw: object) -> CustomerInput:
    errors = _Errors()
    if not isinstance(raw, dict):
        raise InvalidInput({"non_field_errors": ["must be a JSON object"]})
    for key in raw:
        if key not in CUSTOMER_FIELDS:
            errors.add(str(key)[:50], "is not a known field (name, plan, segment, metadata)")
    fields: dict = {}
    limits = {"name": 200, "plan": 100, "segment": 100}
    for key, limit in limits.items():
        if key in raw:
            value = raw[key]
            if value is None:
                value = ""
            if not isinstance(value, str):
                errors.add(key, "must be a string")
            elif len(value) > limit:
                errors.add(key, f"must be at most {limit} characters")
            else:
                fields[key] = value.strip()
    if "metadata" in raw:
        metadata = raw["metadata"] if raw["metadata"] is not None else {}
        problem = _metadata_problem(metadata)
        if problem:
            errors.add("metadata", problem)
        else:
            fields["metadata"] = metadata
            # plan/segment may ride in metadata (CRM exports do that); top-level fields win.
            for key in ("plan", "segment"):
                if key not in raw and isinstance(metadata.get(key), str):
                    fields[key] = metadata[key].strip()[: limits[key]]
    errors.raise_if_any()
    return CustomerInput(fields=fields)


def _metadata_problem(value: object) -> str | None:
    if not isinstance(value, dict):
        return "must be an object"
    for key, item in value.items():
        if not isinstance(item, str | int | float | bool):
            return f"value of {key[:50]!r} must be a string, number or boolean"
        if isinstance(item, float) and not math.isfinite(item):
            return f"value of {key[:50]!r} must be finite"
    if len(orjson.dumps(value)) > MAX_METADATA_BYTES:
        return f"must be at most {MAX_METADATA_BYTES} bytes serialized"
    return None


@dataclass(frozen=True)
class RevenueInput:
    amount_nanos: int
    period_start: datetime
    period_end: datetime
    description: str


REVENUE_FIELDS = ("amount_usd", "period_start", "period_end", "description")


def validate_revenue(raw: object, *, naive_is_utc: bool = False) -> RevenueInput:
    if not isinstance(raw, dict):
        raise InvalidInput({"non_field_errors": ["must be a JSON object"]})
    errors = _Errors()
    for key in raw:
        if key not in REVENUE_FIELDS:
            errors.add(
                str(key)[:50], "is not a known field (amount_usd, period_start, period_end, description)"
            )
    amount_nanos = None
    if raw.get("amount_usd") in (None, ""):
        errors.add("amount_usd", "is required")
    else:
        try:
            amount = parse_usd(raw["amount_usd"])
        except ValueError as exc:
            errors.add("amount_usd", str(exc))
        else:
            if amount < 0:
                errors.add("amount_usd", "must be at least 0")
            elif amount > MAX_AMOUNT_USD:
                errors.add("amount_usd", f"must be at most {MAX_AMOUNT_USD}")
            else:
                amount_nanos = usd_to_nanos(amount)
    bounds: dict[str, datetime] = {}
    for key in ("period_start", "period_end"):
        if raw.get(key) in (None, ""):
            errors.add(key, "is required")
            continue
        try:
            bounds[key] = parse_instant(raw[key], naive_is_utc=naive_is_utc)
        except ValueError as exc:
            errors.add(key, str(exc))
    if len(bounds) == 2 and bounds["period_end"] <= bounds["period_start"]:
        errors.add("period_end", "must be after period_start")
    description = raw.get("description") or ""
    if not isinstance(description, str):
        errors.add("description", "must be a string")
    elif len(description) > 300:
        errors.add("description", "must be at most 300 characters")
    errors.raise_if_any()
    assert amount_nanos is not None
    return RevenueInput(
        amount_nanos=amount_nanos,
        period_start=bounds["period_start"],
        period_end=bounds["period_end"],
        description=description.strip(),
    )


def validate_customer_id(value: object) -> str:
    """Kept exactly as sent (events match on the raw string)."""
    if not isinstance(value, str) or not value:
        raise ValueError("is required")
    if len(value) > 200:
        raise ValueError("must be at most 200 characters")
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value

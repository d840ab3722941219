"""Validation of an organization's settings, shared by PATCH /api/v1/settings and the Settings page."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from costlens.accounts.models import Organization
from costlens.pricing.normalize import normalize_model
from costlens.pricing.selectors import price_book_for

EDITABLE = ("name", "baseline_model", "quality_floor")
READ_ONLY = ("slug",)


def validate_settings(org: Organization, data: object) -> tuple[dict, dict[str, list[str]]]:
    """(changes, errors) for a PATCH body or the Settings form; every field's errors at once."""
    if not isinstance(data, dict):
        return {}, {"non_field_errors": ["Send a JSON object."]}
    errors: dict[str, list[str]] = {}
    changes: dict = {}
    for key in data:
        if key in READ_ONLY:
            if data[key] != getattr(org, key):
                errors[key] = ["Read-only."]
        elif key not in EDITABLE:
            errors[key] = [f"Unknown setting; the settings are {', '.join(EDITABLE)}."]

    if "name" in data:
        name = data["name"]
        if not isinstance(name, str) or not name.strip() or len(name.strip()) > 200:
            errors["name"] = ["A string of 1 to 200 characters."]
        else:
            changes["name"] = name.strip()

    if "baseline_model" in data:
        raw = data["baseline_model"]
        if not isinstance(raw, str) or not raw.strip() or len(raw) > 200:
            errors["baseline_model"] = ["A model name of 1 to 200 characters."]
        else:
            book = price_book_for(org)
            model = normalize_model(raw.strip(), book.aliases)
            if not book.knows(model):
                # A baseline without a price would silently zero every saving.
                errors["baseline_model"] = [
                    f"No price for {model!r}; add it to the catalog or as an org price first."
                ]
            else:
                changes["baseline_model"] = model

    if "quality_floor" in data:
        raw = data["quality_floor"]
        try:
            if isinstance(raw, bool) or not isinstance(raw, int | float | str):
                raise InvalidOperation
            value = Decimal(repr(raw) if isinstance(raw, float) else str(raw).strip())
            if not value.is_finite() or not 0 <= value <= 1 or value != value.quantize(Decimal("0.001")):
                raise InvalidOperation
        except InvalidOperation:
            errors["quality_floor"] = ["A number from 0 to 1 with at most 3 decimals."]
        else:
            changes["quality_floor"] = value
    return changes, errors

"""Writes to routes: validated configuration (API.md §4), normalised weights, baseline recompute."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from django.db import transaction

from costlens.accounts.models import Organization
from costlens.pricing.selectors import normalized_model_name
from routing.models import Route

SHARE_PLACES = Decimal("0.0001")
CONFIG_FIELDS = ("target_split", "baseline_model", "fallback_chain", "fallback_budget")
# Echoed by GET; accepted back in a PUT so GET-edit-PUT works, but never written.
READ_ONLY_FIELDS = ("name", "auto_created", "created_at", "updated_at")
MAX_NAME = 200
MAX_CHAIN = 20
MAX_MODELS = 50


class RouteConfigError(ValueError):
    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("invalid route configuration")
        self.errors = errors


@dataclass
class RouteConfig:
    target_split: dict[str, str] = field(default_factory=dict)  # model -> share as a 4-decimal string
    baseline_model: str | None = None
    fallback_chain: list[str] = field(default_factory=list)
    fallback_budget: Decimal | None = None


def _decimal(value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValueError("must be a number")
    try:
        number = Decimal(repr(value) if isinstance(value, float) else str(value).strip())
    except InvalidOperation as exc:
        raise ValueError("must be a number") from exc
    if not number.is_finite():
        raise ValueError("must be a finite number")
    return number


def normalize_weights(weights: dict[str, Decimal]) -> dict[str, str]:
    """Weights to shares of their total: exact decimals, rounded half-even to 4 places.

    5, 3, 1 → 0.5556, 0.3333, 0.1111.
    """
    total = sum(weights.values(), Decimal(0))
    return {
        model: str((weight / total).quantize(SHARE_PLACES, rounding=ROUND_HALF_EVEN))
        for model, weight in weights.items()
    }


def _model_name(org: Organization, value: object, label: str, errors: dict) -> str | None:
    if not isinstance(value, str) or not value.strip():
        errors.setdefault(label, []).append("must be a non-empty model name")
        return None
    if len(value) > MAX_NAME:
        errors.setdefault(label, []).append(f"must be at most {MAX_NAME} characters")
        return None
    return normalized_model_name(org, value)


def parse_route_config(org: Organization, data: object, *, name: str) -> RouteConfig:
    """Validate a PUT body into a RouteConfig, or raise RouteConfigError with every field's errors."""
    if not isinstance(data, dict):
        raise RouteConfigError({"non_field_errors": ["Send a JSON object."]})
    errors: dict[str, list[str]] = {}
    for key in data:
        if key not in CONFIG_FIELDS and key not in READ_ONLY_FIELDS:
            errors.setdefault(key, []).append("unknown field")
    if "name" in data and data["name"] != name:
        errors.setdefault("name", []).append("must match the route name in the URL (routes are not renamed)")
    config = RouteConfig()

    split = data.get("target_split")
    if split is None:
        split = {}
    if not isinstance(split, dict):
        errors.setdefault("target_split", []).append('must be an object {"<model>": <weight>, ...}')
    elif len(split) > MAX_MODELS:
        errors.setdefault("target_split", []).append(f"at most {MAX_MODELS} models")
    else:
        weights: dict[str, Decimal] = {}
        for raw_model, raw_weight in split.items():
            model = _model_name(org, raw_model, "target_split", errors)
            try:
                weight = _decimal(raw_weight)
            except ValueError as exc:
                errors.setdefault("target_split", []).append(f"{raw_model}: weight {exc}")
                continue
            if weight < 0:
                errors.setdefault("target_split", []).append(f"{raw_model}: weight must be ≥ 0")
                continue
            if model is None:
                continue
            if model in weights:
                errors.setdefault("target_split", []).append(
                    f"{raw_model}: names the same model as another key"
                )
                continue
            weights[model] = weight
        if weights and "target_split" not in errors:
            if sum(weights.values()) == 0:
                errors.setdefault("target_split", []).append("at least one weight must be greater than 0")
            else:
                config.target_split = normalize_weights(weights)

    baseline = data.get("baseline_model")
    if baseline is not None:
        config.baseline_model = _model_name(org, baseline, "baseline_model", errors)

    chain = data.get("fallback_chain")
    if chain is None:
        chain = []
    if not isinstance(chain, list):
        errors.setdefault("fallback_chain", []).append('must be a list of models ["<model>", ...]')
    elif len(chain) > MAX_CHAIN:
        errors.setdefault("fallback_chain", []).append(f"at most {MAX_CHAIN} models")
    else:
        models = [_model_name(org, m, "fallback_chain", errors) for m in chain]
        config.fallback_chain = [m for m in models if m]

    budget = data.get("fallback_budget")
    if budget is not None:
        try:
            value = _decimal(budget)
        except ValueError as exc:
            errors.setdefault("fallback_budget", []).append(str(exc))
        else:
            if not Decimal(0) <= value <= Decimal(1):
                errors.setdefault("fallback_budget", []).append(
                    "must be a fraction between 0 and 1 (0.1 = 10%)"
                )
            elif value != value.quantize(SHARE_PLACES):
                errors.setdefault("fallback_budget", []).append("at most 4 decimal places")
            else:
                config.fallback_budget = value

    if errors:
        raise RouteConfigError(errors)
    return config


def _recompute_baselines(org: Organization, name: str) -> None:
    from costlens.usage.services import baselines_recompute

    baselines_recompute(org=org, route=name)


def route_upsert(*, org: Organization, name: str, config: RouteConfig) -> tuple[Route, bool]:
    """Create or replace a route's configuration. A changed baseline model re-prices its events' baselines."""
    if not name or len(name) > MAX_NAME:
        raise RouteConfigError({"name": [f"must be 1–{MAX_NAME} characters"]})
    with transaction.atomic():
        route = Route.objects.select_for_update().filter(org=org, name=name).first()
        created = route is None
        old_baseline = None if created else route.baseline_model
        if created:
            route = Route(org=org, name=name)
        route.target_split = config.target_split
        route.baseline_model = config.baseline_model
        route.fallback_chain = config.fallback_chain
        route.fallback_budget = config.fallback_budget
        route.auto_created = False if created else route.auto_created
        route.save()
    # After the commit: the recompute works in committed chunks and can take a while on a big route.
    if (old_baseline or None) != (route.baseline_model or None):
        _recompute_baselines(org, name)
    return route, created


def route_delete(*, org: Organization, name: str) -> None:
    """Forget a route's configuration (its events stay; a new event re-creates it with no target)."""
    with transaction.atomic():
        route = Route.objects.select_for_update().get(org=org, name=name)
        had_baseline = bool(route.baseline_model)
        route.delete()
    if had_baseline:
        _recompute_baselines(org, name)

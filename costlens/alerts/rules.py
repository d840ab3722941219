"""An alert rule's definition: validation shared by the API and the rules form, and the parsed spec."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from costlens.money import nanos_to_str, parse_usd, usd_to_nanos

DIMENSIONS = ("customer", "feature", "model", "route", "provider")
KINDS = (
    "negative_margin",
    "fallback_rate",
    "split_drift",
    "spend_spike",
    "quality_drop",
    "cost_per_request",
    "unpriced_model",
)
KIND_LABELS = {
    "negative_margin": "Negative margin",
    "fallback_rate": "Fallback rate",
    "split_drift": "Routing split drift",
    "spend_spike": "Spend spike",
    "quality_drop": "Quality drop",
    "cost_per_request": "Cost per request",
    "unpriced_model": "Unpriced model",
}
# What the threshold means, per kind (shown in the form and the emails).
THRESHOLD_HELP = {
    "negative_margin": "USD: fires when margin (revenue − cost) over the window is below it. Default 0.",
    "fallback_rate": "Fraction (0.15 = 15%): fires when fallbacks / requests is above it. "
    "Leave empty to use each route's fallback budget.",
    "split_drift": "PSI: fires when the route's split drifts above it from its target "
    "(or the previous window when it has none). Default 0.2.",
    "spend_spike": "Multiple: fires when spend in the window is above N × the average spend of an equal "
    "window over the 7 days before. Default 3.",
    "quality_drop": "Score in [0, 1]: fires when average quality is below it. "
    "Default: the org's quality floor.",
    "cost_per_request": "USD: fires when cost / requests is above it. Required.",
    "unpriced_model": "Events: fires when a model with no price has more unpriced events than this. "
    "Default 0.",
}
DEFAULT_THRESHOLD = {
    "negative_margin": "0",
    "fallback_rate": "",
    "split_drift": "0.2",
    "spend_spike": "3",
    "quality_drop": "",
    "cost_per_request": None,  # required
    "unpriced_model": "0",
}
ALLOWED_GROUP_BY = {
    "negative_margin": ("customer", ""),
    "fallback_rate": ("route",),
    "split_drift": ("route",),
    "spend_spike": ("customer", "feature", "model", "route", "provider", ""),
    "quality_drop": ("route,model", "route", "model", "feature"),
    "cost_per_request": ("customer", "feature", "model", "route", "provider", ""),
    "unpriced_model": ("model",),
}
DEFAULT_WINDOW = {"negative_margin": "7d", "spend_spike": "24h"}
FIELDS = (
    "name",
    "kind",
    "window",
    "threshold",
    "group_by",
    "filters",
    "min_cost_usd",
    "cooldown",
    "recipients",
    "enabled",
)
_DURATION = re.compile(r"^\s*(\d{1,4})\s*([mhd])\s*$")
MAX_WINDOW = timedelta(days=90)


def parse_duration(text: str, *, allow_minutes: bool) -> timedelta:
    match = _DURATION.match(text or "")
    if not match:
        units = "m, h or d" if allow_minutes else "h or d"
        raise ValueError(f"must be a number and a unit ({units}), like 24h or 7d")
    n, unit = int(match.group(1)), match.group(2)
    if unit == "m" and not allow_minutes:
        raise ValueError("must be whole hours or days (the rollups are hourly), like 24h or 7d")
    delta = {"m": timedelta(minutes=n), "h": timedelta(hours=n), "d": timedelta(days=n)}[unit]
    if delta <= timedelta(0):
        raise ValueError("must be more than zero")
    return delta


@dataclass(frozen=True)
class RuleSpec:
    """A validated rule, as the evaluator reads it."""

    kind: str
    window_text: str
    window: timedelta
    threshold: Decimal | None
    group_by: tuple[str, ...]
    filters: dict[str, list[str]]
    min_cost_nanos: int
    cooldown: timedelta
    name: str = ""
    recipients: tuple[str, ...] = field(default=())

    @property
    def label(self) -> str:
        return KIND_LABELS[self.kind]


class RuleInvalid(ValueError):
    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


def rule_values(rule) -> dict:
    """A stored AlertRule as the API's field values."""
    return {
        "name": rule.name,
        "kind": rule.kind,
        "window": rule.window,
        "threshold": rule.threshold,
        "group_by": rule.group_by,
        "filters": rule.filters or {},
        "min_cost_usd": nanos_to_str(rule.min_cost_nanos),
        "cooldown": rule.cooldown,
        "recipients": list(rule.recipients or []),
        "enabled": rule.enabled,
    }


def validate_rule(raw: object, *, current: dict | None = None) -> dict:
    """Validate a full rule (POST) or a partial one merged onto `current` (PATCH).

    Returns the normalised stored values: name, kind, window, threshold (decimal string or ""),
    group_by, filters, min_cost_nanos, cooldown, recipients, enabled.
    """
    if not isinstance(raw, dict):
        raise RuleInvalid({"non_field_errors": ["must be a JSON object"]})
    errors: dict[str, list[str]] = {}

    def add(key: str, message: str) -> None:
        errors.setdefault(key, []).append(message)

    for key in raw:
        if key not in FIELDS:
            add(str(key)[:50], "is not a known field")
    merged = {**(current or {}), **raw}
    out: dict = {}

    kind = merged.get("kind")
    if kind not in KINDS:
        add("kind", "must be one of " + ", ".join(KINDS))
        raise RuleInvalid(errors)
    out["kind"] = kind
    kind_changed = current is not None and "kind" in raw and raw["kind"] != current.get("kind")

    name = merged.get("name") or ""
    if not isinstance(name, str) or len(name) > 200:
        add("name", "must be a string of at most 200 characters")
    out["name"] = name.strip() if isinstance(name, str) else ""

    window = merged.get("window") or DEFAULT_WINDOW.get(kind, "24h")
    try:
        delta = parse_duration(str(window), allow_minutes=False)
        if delta > MAX_WINDOW:
            add("window", "must be at most 90d")
        out["window"] = str(window).strip()
    except ValueError as exc:
        add("window", str(exc))

    threshold = merged.get("threshold")
    if kind_changed and "threshold" not in raw:
        threshold = None
    if threshold is None or threshold == "":
        default = DEFAULT_THRESHOLD[kind]
        if default is None:
            add("threshold", "is required for " + KIND_LABELS[kind].lower())
        out["threshold"] = default or ""
    else:
        try:
            value = parse_usd(threshold)
        except ValueError as exc:
            add("threshold", str(exc))
        else:
            problem = _threshold_problem(kind, value)
            if problem:
                add("threshold", problem)
            out["threshold"] = format(value.normalize(), "f") if value != 0 else "0"

    group_by = merged.get("group_by")
    if kind_changed and "group_by" not in raw:
        group_by = None
    allowed = ALLOWED_GROUP_BY[kind]
    if group_by is None:
        group_by = allowed[0]
    if not isinstance(group_by, str):
        add("group_by", "must be a string")
    else:
        group_by = ",".join(p.strip() for p in group_by.split(",") if p.strip())
        if group_by not in allowed:
            shown = ", ".join(f'"{a}"' for a in allowed)
            add("group_by", f"for {kind} must be one of {shown}")
        out["group_by"] = group_by

    filters = merged.get("filters") or {}
    clean_filters: dict[str, list[str]] = {}
    if not isinstance(filters, dict):
        add("filters", 'must be an object like {"route": ["support"]}')
    else:
        for key, values in filters.items():
            if key not in DIMENSIONS:
                add("filters", f"{str(key)[:50]!r} is not one of " + ", ".join(DIMENSIONS))
                continue
            if isinstance(values, str):
                values = [values]
            if not isinstance(values, list) or not all(
                isinstance(v, str) and 0 < len(v) <= 200 for v in values
            ):
                add("filters", f"{key} must be a string or a list of strings")
                continue
            if values:
                clean_filters[key] = values
    out["filters"] = clean_filters

    min_cost = merged.get("min_cost_usd")
    if min_cost is None or min_cost == "":
        min_cost = "0"
    try:
        amount = parse_usd(min_cost)
        if amount < 0:
            add("min_cost_usd", "must be at least 0")
        out["min_cost_nanos"] = usd_to_nanos(amount)
    except ValueError as exc:
        add("min_cost_usd", str(exc))

    cooldown = merged.get("cooldown") or "24h"
    try:
        parse_duration(str(cooldown), allow_minutes=True)
        out["cooldown"] = str(cooldown).strip()
    except ValueError as exc:
        add("cooldown", str(exc))

    recipients = merged.get("recipients")
    if recipients is None:
        recipients = []
    if isinstance(recipients, str):
        recipients = [r for r in re.split(r"[\s,;]+", recipients) if r]
    if not isinstance(recipients, list) or not all(isinstance(r, str) for r in recipients):
        add("recipients", "must be a list of email addresses")
    else:
        cleaned = []
        for r in recipients:
            try:
                validate_email(r.strip())
            except ValidationError:
                add("recipients", f"{r[:100]!r} is not an email address")
            else:
                if r.strip().lower() not in [c.lower() for c in cleaned]:
                    cleaned.append(r.strip())
        if len(cleaned) > 50:
            add("recipients", "at most 50 addresses")
        out["recipients"] = cleaned

    enabled = merged.get("enabled", True)
    if not isinstance(enabled, bool):
        add("enabled", "must be true or false")
    out["enabled"] = bool(enabled)

    if errors:
        raise RuleInvalid(errors)
    return out


def _threshold_problem(kind: str, value: Decimal) -> str | None:
    if kind in ("fallback_rate", "quality_drop") and not (0 <= value <= 1):
        return "must be a fraction between 0 and 1"
    if kind in ("split_drift", "cost_per_request") and value < 0:
        return "must be at least 0"
    if kind == "spend_spike" and value <= 0:
        return "must be more than 0"
    if kind == "unpriced_model" and (value < 0 or value != value.to_integral_value()):
        return "must be a whole number of events, at least 0"
    return None


def spec_from_values(values: dict) -> RuleSpec:
    threshold = values.get("threshold")
    return RuleSpec(
        kind=values["kind"],
        window_text=values["window"],
        window=parse_duration(values["window"], allow_minutes=False),
        threshold=Decimal(threshold) if threshold not in (None, "") else None,
        group_by=tuple(g for g in values["group_by"].split(",") if g),
        filters=values.get("filters") or {},
        min_cost_nanos=values.get("min_cost_nanos", 0),
        cooldown=parse_duration(values["cooldown"], allow_minutes=True),
        name=values.get("name", ""),
        recipients=tuple(values.get("recipients") or ()),
    )


def spec_for(rule) -> RuleSpec:
    values = rule_values(rule)
    values["min_cost_nanos"] = rule.min_cost_nanos
    return spec_from_values(values)


def describe(rule) -> str:
    """The firing condition in words, e.g. "margin below $0 over 7d"."""
    t = rule.threshold
    kind = rule.kind
    if kind == "negative_margin":
        text = f"margin below ${t or '0'}"
    elif kind == "fallback_rate":
        text = f"fallback rate above {Decimal(t) * 100:g}%" if t else "fallback rate above the route's budget"
    elif kind == "split_drift":
        text = f"split drift (PSI) above {t or '0.2'}"
    elif kind == "spend_spike":
        text = f"spend above {t or '3'}× its 7-day average"
    elif kind == "quality_drop":
        text = f"average quality below {t}" if t else "average quality below the org's floor"
    elif kind == "cost_per_request":
        text = f"cost per request above ${t}"
    else:
        text = f"more than {t or '0'} unpriced events"
    return f"{text} over {rule.window}"

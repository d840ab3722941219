"""Forms of the route pages: route settings (admins), compare, what-if. Query strings stay shareable."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation

from django import forms
from django.utils import timezone

SPLIT_ROWS = 8
MAX_DAYS = 400


def day_start(d: date) -> datetime:
    return datetime.combine(d, time.min, tzinfo=UTC)


def route_config_from_post(post) -> dict:
    """The settings form's fields as an API PUT body, so pages and API share one validation."""
    split: dict[str, object] = {}
    for i in range(SPLIT_ROWS):
        model = (post.get(f"model_{i}") or "").strip()
        weight = (post.get(f"weight_{i}") or "").strip()
        if model or weight:
            split[model] = weight if weight else "x"
    chain = [m.strip() for m in (post.get("fallback_chain") or "").replace("→", ",").split(",") if m.strip()]
    budget = (post.get("fallback_budget_pct") or "").strip()
    budget_value: object = None
    if budget:
        try:
            budget_value = str(Decimal(budget.rstrip("%")) / 100)
        except InvalidOperation:
            budget_value = budget
    return {
        "target_split": split,
        "baseline_model": (post.get("baseline_model") or "").strip() or None,
        "fallback_chain": chain,
        "fallback_budget": budget_value,
    }


def split_rows(target_split: dict, post=None) -> list[dict]:
    """Rows for the settings form: the posted values (after an error) or the route's shares as %."""
    if post is not None:
        return [
            {"model": post.get(f"model_{i}", ""), "weight": post.get(f"weight_{i}", "")}
            for i in range(SPLIT_ROWS)
        ]
    rows = [
        {"model": m, "weight": f"{(Decimal(s) * 100).normalize():f}"} for m, s in (target_split or {}).items()
    ]
    return (rows + [{"model": "", "weight": ""}] * SPLIT_ROWS)[:SPLIT_ROWS]


class NewRouteForm(forms.Form):
    name = forms.CharField(max_length=200, strip=True)


class PeriodMixin:
    def _period(self, start_key: str, end_key: str, cleaned: dict) -> None:
        start, end = cleaned.get(start_key), cleaned.get(end_key)
        if start and end:
            if end < start:
                self.add_error(end_key, "The end date is before the start date.")
            elif (end - start).days > MAX_DAYS:
                self.add_error(end_key, f"Pick at most {MAX_DAYS} days.")


def default_dates(days: int = 7) -> tuple[date, date]:
    today = timezone.now().astimezone(UTC).date()
    return today - timedelta(days=days - 1), today


@dataclass(frozen=True)
class Side:
    label: str
    route: str
    start: datetime
    end: datetime

    @property
    def last_day(self) -> datetime:
        return self.end - timedelta(days=1)


class CompareForm(PeriodMixin, forms.Form):
    """Two routes over one period, or one route over two periods (B's route/period default to A's)."""

    route_a = forms.ChoiceField(label="Route A")
    start_a = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    end_a = forms.DateField(label="To", widget=forms.DateInput(attrs={"type": "date"}))
    route_b = forms.ChoiceField(label="Route B", required=False)
    start_b = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end_b = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, routes: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["route_a"].choices = [(r, r) for r in routes]
        self.fields["route_b"].choices = [("", "same as A"), *((r, r) for r in routes)]

    def clean(self):
        cleaned = super().clean()
        self._period("start_a", "end_a", cleaned)
        self._period("start_b", "end_b", cleaned)
        if bool(cleaned.get("start_b")) != bool(cleaned.get("end_b")):
            self.add_error("end_b", "Give period B both dates, or neither to use period A.")
        return cleaned

    def sides(self) -> tuple[Side, Side]:
        c = self.cleaned_data
        a = Side("A", c["route_a"], day_start(c["start_a"]), day_start(c["end_a"]) + timedelta(days=1))
        b_start = day_start(c["start_b"]) if c.get("start_b") else a.start
        b_end = day_start(c["end_b"]) + timedelta(days=1) if c.get("end_b") else a.end
        return a, Side("B", c.get("route_b") or a.route, b_start, b_end)


class WhatIfForm(PeriodMixin, forms.Form):
    route = forms.ChoiceField()
    start = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label="To", widget=forms.DateInput(attrs={"type": "date"}))
    catalog_date = forms.DateField(
        label="Prices as of",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Empty: the prices in force at the end of the window.",
    )

    def __init__(self, *args, routes: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["route"].choices = [(r, r) for r in routes]

    def clean(self):
        cleaned = super().clean()
        self._period("start", "end", cleaned)
        return cleaned

    def window(self) -> tuple[datetime, datetime]:
        c = self.cleaned_data
        return day_start(c["start"]), day_start(c["end"]) + timedelta(days=1)

    def priced_at(self) -> datetime:
        c = self.cleaned_data
        if c.get("catalog_date"):
            return day_start(c["catalog_date"]) + timedelta(days=1) - timedelta(microseconds=1)
        return self.window()[1] - timedelta(microseconds=1)


def scenario_weights(params) -> tuple[dict[str, Decimal], list[str]]:
    """`share:<model>=<percent>` pairs (plus one `add_model`/`add_share`) from the query string."""
    weights: dict[str, Decimal] = {}
    errors: list[str] = []
    pairs = [(k[len("share:") :], v) for k, v in params.items() if k.startswith("share:")]
    if params.get("add_model"):
        pairs.append((params["add_model"].strip(), params.get("add_share") or "0"))
    for model, raw in pairs:
        raw = (raw or "").strip().rstrip("%") or "0"
        try:
            value = Decimal(raw)
        except InvalidOperation:
            errors.append(f"{model}: “{raw}” is not a number.")
            continue
        if not value.is_finite() or value < 0:
            errors.append(f"{model}: a share must be a number ≥ 0.")
            continue
        if model:
            weights[model] = weights.get(model, Decimal(0)) + value
    return weights, errors

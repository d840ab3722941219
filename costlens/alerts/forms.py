"""The rule form: the same validation as the API (rules.validate_rule), field by field."""

from __future__ import annotations

from django import forms

from costlens.alerts.rules import (
    ALLOWED_GROUP_BY,
    DIMENSIONS,
    KIND_LABELS,
    THRESHOLD_HELP,
    RuleInvalid,
    validate_rule,
)

GROUP_BY_CHOICES = [
    ("customer", "each customer"),
    ("route", "each route"),
    ("model", "each model"),
    ("route,model", "each route × model"),
    ("feature", "each feature"),
    ("provider", "each provider"),
    ("", "the whole org (no grouping)"),
]


class AlertRuleForm(forms.Form):
    name = forms.CharField(required=False, max_length=200)
    kind = forms.ChoiceField(choices=list(KIND_LABELS.items()))
    window = forms.CharField(max_length=16, initial="7d", help_text="Trailing window, like 24h or 7d.")
    threshold = forms.CharField(required=False, max_length=40)
    group_by = forms.ChoiceField(choices=GROUP_BY_CHOICES, required=False)
    min_cost_usd = forms.CharField(
        required=False,
        max_length=40,
        initial="0",
        help_text="Skip groups that cost less than this (USD) in the window.",
    )
    cooldown = forms.CharField(
        max_length=16,
        initial="24h",
        help_text="Between repeat emails while an incident stays open, like 30m, 24h.",
    )
    recipients = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Email addresses, comma or newline separated.",
    )
    enabled = forms.BooleanField(required=False, initial=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for dim in DIMENSIONS:
            self.fields[f"filter_{dim}"] = forms.CharField(
                required=False,
                max_length=1000,
                label=f"Only {dim}",
                help_text="Comma separated; empty = all.",
            )
        self.values: dict | None = None

    @classmethod
    def initial_from(cls, values: dict) -> dict:
        from costlens.money import nanos_to_str

        initial = {
            k: v
            for k, v in values.items()
            if k in ("name", "kind", "window", "threshold", "group_by", "cooldown", "enabled")
        }
        initial["recipients"] = ", ".join(values.get("recipients") or [])
        min_cost = values.get("min_cost_usd")
        if min_cost is None and "min_cost_nanos" in values:
            min_cost = nanos_to_str(values["min_cost_nanos"])
        initial["min_cost_usd"] = (min_cost or "0").rstrip("0").rstrip(".") or "0"
        for dim, items in (values.get("filters") or {}).items():
            initial[f"filter_{dim}"] = ", ".join(items)
        return initial

    def raw_values(self) -> dict:
        data = self.cleaned_data
        filters = {}
        for dim in DIMENSIONS:
            items = [v.strip() for v in (data.get(f"filter_{dim}") or "").split(",") if v.strip()]
            if items:
                filters[dim] = items
        return {
            "name": data.get("name") or "",
            "kind": data.get("kind"),
            "window": data.get("window"),
            "threshold": data.get("threshold") or "",
            "group_by": data.get("group_by") if data.get("group_by") is not None else None,
            "filters": filters,
            "min_cost_usd": data.get("min_cost_usd") or "0",
            "cooldown": data.get("cooldown"),
            "recipients": data.get("recipients") or "",
            "enabled": bool(data.get("enabled")),
        }

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        raw = self.raw_values()
        kind = raw["kind"]
        if raw["group_by"] not in ALLOWED_GROUP_BY.get(kind, ()):
            raw["group_by"] = ALLOWED_GROUP_BY[kind][0] if kind in ALLOWED_GROUP_BY else raw["group_by"]
        try:
            self.values = validate_rule(raw)
        except RuleInvalid as exc:
            for key, messages in exc.errors.items():
                field = key if key in self.fields else None
                for message in messages:
                    self.add_error(field, message)
        return cleaned


def threshold_help() -> dict[str, str]:
    return THRESHOLD_HELP

"""The filter bar shared by every page: validated from the query string, so URLs are shareable."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from django import forms
from django.utils import timezone

RANGE_CHOICES = [
    ("24h", "Last 24 hours"),
    ("7d", "Last 7 days"),
    ("30d", "Last 30 days"),
    ("mtd", "Month to date"),
    ("custom", "Custom"),
]
GRANULARITY_CHOICES = [("auto", "Auto"), ("hour", "Hourly"), ("day", "Daily")]
DIMENSIONS = ("customer", "feature", "model", "route", "provider")
MAX_CUSTOM_DAYS = 400


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime

    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600


class FilterForm(forms.Form):
    range = forms.ChoiceField(choices=RANGE_CHOICES, required=False)
    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    customer = forms.CharField(required=False, max_length=200)
    feature = forms.CharField(required=False, max_length=200)
    model = forms.CharField(required=False, max_length=200)
    route = forms.CharField(required=False, max_length=200)
    provider = forms.CharField(required=False, max_length=64)
    granularity = forms.ChoiceField(choices=GRANULARITY_CHOICES, required=False)

    def __init__(self, data=None, *, now: datetime | None = None, default_range: str = "7d", **kwargs):
        super().__init__(data, **kwargs)
        self.now = now or timezone.now()
        self.default_range = default_range

    def clean(self):
        cleaned = super().clean()
        cleaned["range"] = cleaned.get("range") or self.default_range
        cleaned["granularity"] = cleaned.get("granularity") or "auto"
        if cleaned["range"] == "custom":
            start, end = cleaned.get("start"), cleaned.get("end")
            if not start or not end:
                raise forms.ValidationError("A custom range needs a start and an end date.")
            if end < start:
                raise forms.ValidationError("The end date is before the start date.")
            if (end - start).days > MAX_CUSTOM_DAYS:
                raise forms.ValidationError(f"Pick at most {MAX_CUSTOM_DAYS} days.")
        return cleaned

    def window(self) -> Window:
        data = self.cleaned_data
        now_hour = self.now.astimezone(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        choice = data["range"]
        if choice == "24h":
            return Window(now_hour - timedelta(hours=24), now_hour)
        if choice == "30d":
            return Window(now_hour - timedelta(days=30), now_hour)
        if choice == "mtd":
            month_start = self.now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
            return Window(month_start, now_hour)
        if choice == "custom":
            start = datetime.combine(data["start"], time.min, tzinfo=UTC)
            end = datetime.combine(data["end"], time.min, tzinfo=UTC) + timedelta(days=1)
            return Window(start, end)
        return Window(now_hour - timedelta(days=7), now_hour)

    def filters(self) -> dict[str, list[str]]:
        return {d: [self.cleaned_data[d]] for d in DIMENSIONS if self.cleaned_data.get(d)}

    def bucket_granularity(self) -> str:
        choice = self.cleaned_data["granularity"]
        if choice != "auto":
            return choice
        return "hour" if self.window().hours <= 72 else "day"

    def querystring(self, **overrides: str) -> str:
        """The current filters as a query string, with some values replaced (for drill-down links)."""
        from urllib.parse import urlencode

        params = {k: v for k, v in self.data.items() if v} if self.is_bound else {}
        params.update(overrides)
        return urlencode({k: v for k, v in params.items() if v})

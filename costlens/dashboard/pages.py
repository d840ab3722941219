"""What every dashboard page shares: the validated filter bar, and full page vs htmx partial."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from costlens.dashboard.filters import DIMENSIONS, FilterForm
from costlens.usage.selectors import dimension_values


def filter_context(request: HttpRequest, form: FilterForm) -> dict:
    options = dimension_values(request.org)
    values = form.cleaned_data if form.is_valid() else {}
    return {
        "filter_form": form,
        "filter_dimensions": [
            {"name": d, "label": d.capitalize(), "value": values.get(d) or "", "options": options.get(d, [])}
            for d in DIMENSIONS
        ],
    }


def filtered_page(
    request: HttpRequest,
    template: str,
    build: Callable[[FilterForm], dict],
    *,
    default_range: str = "7d",
    extra: dict | None = None,
) -> HttpResponse:
    """Render `template` (which extends base and fills #content) with the filter bar.

    An invalid filter answers 400 with the form's errors, never a 500. For htmx requests the
    same template is rendered and htmx selects #content from it (hx-select).
    """
    form = FilterForm(request.GET or None, default_range=default_range)
    if not request.GET:
        form = FilterForm({}, default_range=default_range)
    context = {**filter_context(request, form), **(extra or {})}
    if not form.is_valid():
        return render(request, template, {**context, "invalid": True}, status=400)
    context.update(build(form))
    return render(request, template, context)

"""What every dashboard page shares: the validated filter bar, full page vs htmx partial, CSV export."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from costlens.dashboard.filters import DIMENSIONS, FilterForm
from costlens.dashboard.tables import Table, csv_response
from costlens.usage.selectors import cyclic_gc_paused, dimension_values, has_usage


def filter_context(request: HttpRequest, form: FilterForm, *, keep: Sequence[str] = ()) -> dict:
    """The filter bar's context. `keep` names query parameters the page owns (e.g. `sort`) that the
    bar carries along as hidden inputs, so changing a filter does not drop them."""
    options = dimension_values(request.org)
    values = form.cleaned_data if form.is_valid() else {}
    return {
        "filter_form": form,
        "filter_dimensions": [
            {"name": d, "label": d.capitalize(), "value": values.get(d) or "", "options": options.get(d, [])}
            for d in DIMENSIONS
        ],
        "filter_hidden": [(name, request.GET[name]) for name in keep if request.GET.get(name)],
    }


def _csv_export(request: HttpRequest, form: FilterForm, context: dict, page_name: str) -> HttpResponse:
    tables: dict[str, Table] = context.get("tables") or {}
    name = request.GET.get("table") or next(iter(tables), "")
    table = tables.get(name)
    if table is None:
        return HttpResponse(
            f"Unknown table {name!r}; this page has: {', '.join(tables) or 'none'}.",
            status=404,
            content_type="text/plain",
        )
    window = form.window()
    filename = f"costlens-{page_name}-{table.name}-{window.start:%Y%m%d%H}-{window.end:%Y%m%d%H}.csv"
    return csv_response(table, filename)


# A page builds and renders thousands of short-lived objects: no cyclic collection pauses mid-page.
@cyclic_gc_paused
def filtered_page(
    request: HttpRequest,
    template: str,
    build: Callable[[FilterForm], dict],
    *,
    default_range: str = "7d",
    extra: dict | None = None,
    keep: Sequence[str] = (),
    page_name: str = "page",
) -> HttpResponse:
    """Render `template` (which extends base and fills #content) with the filter bar.

    An invalid filter answers 400 with the form's errors, never a 500. For htmx requests the
    same template is rendered and htmx selects #content from it (hx-select).

    `?format=csv[&table=NAME]` answers the page's table NAME (from `build(...)["tables"]`, a dict of
    `tables.Table`; the first one by default) as CSV, with the same filters.
    """
    form = FilterForm(request.GET or {}, default_range=default_range)
    wants_csv = request.GET.get("format") == "csv"
    if wants_csv:
        if not form.is_valid():
            errors = "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items())
            return HttpResponse(f"Invalid filters: {errors}", status=400, content_type="text/plain")
        return _csv_export(request, form, build(form), page_name)
    context = {**filter_context(request, form, keep=keep), **(extra or {})}
    if not form.is_valid():
        return render(request, template, {**context, "invalid": True}, status=400)
    context.update(build(form))
    return render(request, template, context)


def usage_state(request: HttpRequest, *, events: int) -> dict:
    """What templates/dashboard/_no_usage.html needs to say why a page is empty: the org never sent an
    event (how to send one, with a curl example), or nothing matches this window and these filters."""
    return {
        "no_data": events == 0,
        "never_sent": events == 0 and not has_usage(request.org),
        "events_url": request.build_absolute_uri("/api/v1/events"),
        "example_timestamp": timezone.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
    }

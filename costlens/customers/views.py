"""Customer and margin pages. Thin: validate the filters, call one selector, render."""

from __future__ import annotations

import csv

import orjson
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from costlens.accounts.decorators import org_admin_required, org_required
from costlens.alerts.selectors import incidents_list
from costlens.customers import charts
from costlens.customers.forms import ImportForm, ScopeForm
from costlens.customers.selectors import (
    attach_trends,
    customer_detail,
    customer_get,
    customer_margins,
    margin_overview,
    plans_and_segments,
    revenue_entries_list,
)
from costlens.customers.services import ImportFailed, customers_import_csv, revenue_import_csv
from costlens.customers.tables import customer_tables, margin_tables
from costlens.dashboard.filters import FilterForm
from costlens.dashboard.pages import filtered_page, usage_state
from costlens.usage.models import UNATTRIBUTED
from costlens.usage.selectors import revenue_entries_read_once

DEFAULT_RANGE = "30d"
LIST_ROWS = 100  # the worst first; ?all=1 (or the CSV) for everyone
SORTS = {
    "margin": lambda c: (c.margin_nanos, c.external_id),
    "-margin": lambda c: (-c.margin_nanos, c.external_id),
    "margin_pct": lambda c: (c.margin_pct is None, c.margin_pct or 0, c.external_id),
    "-cost": lambda c: (-c.cost_nanos, c.external_id),
    "-revenue": lambda c: (-c.revenue_nanos, c.external_id),
    "-requests": lambda c: (-c.metrics["requests"], c.external_id),
}


def _figure(name: str, figure: dict) -> dict:
    return {"id": name, "json": orjson.dumps(figure).decode()}


def _scope(request) -> ScopeForm:
    scope = ScopeForm(request.GET)
    scope.is_valid()
    return scope


def _rows(request, form: FilterForm, scope: ScopeForm, *, with_trend: bool):
    window = form.window()
    rows = customer_margins(
        request.org,
        start=window.start,
        end=window.end,
        filters=form.filters(),
        plan=scope.cleaned_data.get("plan") or "",
        segment=scope.cleaned_data.get("segment") or "",
        with_trend=with_trend,
    )
    rows.sort(key=SORTS.get(scope.cleaned_data.get("sort") or "margin", SORTS["margin"]))
    return window, rows


@org_required
def customer_list(request):
    scope = _scope(request)
    plans, segments = plans_and_segments(request.org)

    def build(form: FilterForm) -> dict:
        window = form.window()
        # Totals and sparklines prorate the same revenue entries: read them once.
        with revenue_entries_read_once(request.org, window.start, window.end):
            window, rows = _rows(request, form, scope, with_trend=False)
            shown = rows if request.GET.get("all") else rows[:LIST_ROWS]
            # Sparklines for the rows shown only, read lean (margin per customer and day).
            attach_trends(request.org, shown, start=window.start, end=window.end, filters=form.filters())
        for row in shown:
            row.spark = charts.sparkline_svg_points(row.trend)
        negative = [r for r in rows if r.is_negative]
        revenue = sum(r.revenue_nanos for r in rows)
        cost = sum(r.cost_nanos for r in rows)
        return {
            "rows": shown,
            "total_rows": len(rows),
            "window": window,
            "negative_count": len(negative),
            "totals": {"revenue_nanos": revenue, "cost_nanos": cost, "margin_nanos": revenue - cost},
            "csv_query": request.GET.urlencode(),
        }

    return filtered_page(
        request,
        "customers/list.html",
        build,
        default_range=DEFAULT_RANGE,
        extra={"scope": scope, "plans": plans, "segments": segments, "unattributed": UNATTRIBUTED},
    )


@org_required
def customer_list_csv(request):
    form = FilterForm(request.GET, default_range=DEFAULT_RANGE)
    scope = _scope(request)
    if not form.is_valid():
        return HttpResponse(
            "Invalid filters: " + form.errors.as_text(), status=400, content_type="text/plain"
        )
    window, rows = _rows(request, form, scope, with_trend=False)
    response = HttpResponse(content_type="text/csv")
    stamp = f"{window.start:%Y%m%d%H}-{window.end:%Y%m%d%H}"
    response["Content-Disposition"] = f'attachment; filename="customers-{stamp}.csv"'
    writer = csv.writer(response)
    writer.writerow(
        [
            "customer_id",
            "name",
            "plan",
            "segment",
            "revenue_usd",
            "cost_usd",
            "margin_usd",
            "margin_pct",
            "requests",
            "fallback_rate",
            "start",
            "end",
        ]
    )
    for r in rows:
        writer.writerow(
            [
                r.external_id,
                r.name,
                r.plan,
                r.segment,
                r.revenue_usd,
                r.cost_usd,
                r.margin_usd,
                "" if r.margin_pct is None else r.margin_pct,
                r.metrics["requests"],
                "" if r.metrics["fallback_rate"] is None else r.metrics["fallback_rate"],
                window.start.isoformat(),
                window.end.isoformat(),
            ]
        )
    return response


@org_required
def customer_page(request, customer_id: str):
    customer = customer_get(request.org, customer_id)
    if customer is None and customer_id != UNATTRIBUTED:
        raise Http404("No such customer.")

    revenue_entries = revenue_entries_list(request.org, customer)[-12:] if customer else []

    def build(form: FilterForm) -> dict:
        window = form.window()
        detail = customer_detail(
            request.org,
            customer_id,
            start=window.start,
            end=window.end,
            granularity=form.bucket_granularity(),
            filters={k: v for k, v in form.filters().items() if k != "customer"},
        )
        return {
            "detail": detail,
            "window": window,
            "figures": [
                _figure("fig-revenue-cost", charts.revenue_cost_figure(detail.series)),
                _figure(
                    "fig-by-feature",
                    charts.spend_by_figure(detail.by_feature, "feature", label_none="(no feature)"),
                ),
                _figure(
                    "fig-by-model", charts.spend_by_figure(detail.by_model, "model", label_none="(no model)")
                ),
            ],
            "tables": customer_tables(detail, revenue_entries),
        }

    return filtered_page(
        request,
        "customers/detail.html",
        build,
        default_range=DEFAULT_RANGE,
        extra={
            "customer": customer,
            "customer_id": customer_id,
            "display_name": customer.display_name if customer else customer_id,
            "incidents": incidents_list(request.org, status="open", customer=customer_id, limit=20),
            "revenue_entries": revenue_entries,
        },
        page_name="customer",
    )


@org_required
def margin_page(request):
    def build(form: FilterForm) -> dict:
        window = form.window()
        overview = margin_overview(
            request.org,
            start=window.start,
            end=window.end,
            granularity=form.bucket_granularity(),
            filters=form.filters(),
        )
        return {
            "overview": overview,
            "window": window,
            "worst": overview.customers[:10],
            "figures": [
                _figure("fig-margin-series", charts.revenue_cost_figure(overview.series)),
                _figure("fig-margin-histogram", charts.margin_histogram_figure(overview)),
            ],
            "tables": margin_tables(overview),
            # Empty without any customer's usage or revenue in the window (revenue alone makes a margin).
            **usage_state(request, events=len(overview.customers)),
        }

    return filtered_page(
        request, "customers/margin.html", build, default_range=DEFAULT_RANGE, page_name="margin"
    )


@require_http_methods(["GET", "POST"])
@org_admin_required
def import_page(request):
    form = ImportForm(request.POST or None, request.FILES or None)
    errors: list[tuple[int, str]] = []
    if request.method == "POST" and form.is_valid():
        content = form.cleaned_data["file"].read()
        importer = customers_import_csv if form.cleaned_data["kind"] == "customers" else revenue_import_csv
        try:
            result = importer(org=request.org, content=content)
        except ImportFailed as exc:
            errors = exc.errors
        else:
            what = "customers" if form.cleaned_data["kind"] == "customers" else "revenue entries"
            messages.success(
                request,
                f"Imported {result.rows} row(s) of {what}: {result.created} created, "
                f"{result.updated} updated, "
                f"{result.skipped} unchanged.",
            )
            return redirect("customers:list")
    status = 400 if request.method == "POST" else 200
    return render(request, "customers/import.html", {"form": form, "errors": errors}, status=status)

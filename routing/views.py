"""Route pages: list, detail, settings (admins), compare, what-if. Thin: validate, call selectors, render."""

from __future__ import annotations

import time
from decimal import Decimal

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from costlens.accounts.decorators import org_admin_required, org_required
from costlens.dashboard.pages import filtered_page
from costlens.pricing.normalize import normalize_model
from costlens.pricing.selectors import price_book_for, priced_model_names
from costlens.usage.selectors import usage_report
from routing import charts
from routing.forms import (
    CompareForm,
    NewRouteForm,
    WhatIfForm,
    default_dates,
    route_config_from_post,
    scenario_weights,
    split_rows,
)
from routing.models import Route
from routing.selectors import (
    chain_steps,
    confidence_bands,
    fallback_reasons,
    quality_by_model,
    route_metrics,
    route_series,
    routes_list,
    routes_overview,
    served_volumes,
    shadow_evaluation,
    split_report,
)
from routing.services import RouteConfigError, parse_route_config, route_delete, route_upsert
from routing.tables import route_detail_tables, routes_table
from routing.whatif import WhatIfError, shares_from_weights, whatif_price

SORTABLE = [
    ("name", "Route", False),
    ("requests", "Requests", True),
    ("spend", "Spend", True),
    ("cpr", "Cost / request", True),
    ("savings", "Savings", True),
    ("savings_pct", "Savings %", True),
    ("fallback", "Fallback rate", True),
    ("wasted", "Wasted", True),
    ("errors", "Error rate", True),
    ("quality", "Quality", True),
    ("psi", "PSI", True),
]


def _route_or_404(request, name: str) -> Route:
    try:
        return Route.objects.get(org=request.org, name=name)
    except Route.DoesNotExist as exc:
        raise Http404("No such route.") from exc


@org_required
def route_list(request):
    sort = request.GET.get("sort") or "-spend"

    def build(form):
        window = form.window()
        rows = routes_overview(
            request.org, start=window.start, end=window.end, filters=form.filters(), sort=sort
        )
        headers = []
        for key, label, numeric in SORTABLE:
            active = sort.lstrip("-") == key
            descending = sort.startswith("-")
            # First click sorts numbers high→low and names A→Z; a second click flips it.
            next_sort = f"-{key}" if numeric else key
            if active:
                next_sort = key if descending else f"-{key}"
            headers.append(
                {
                    "key": key,
                    "label": label,
                    "numeric": numeric,
                    "active": active,
                    "arrow": ("↓" if descending else "↑") if active else "",
                    "query": form.querystring(sort=next_sort),
                }
            )
        return {
            "rows": rows,
            "headers": headers,
            "window": window,
            "new_form": NewRouteForm(),
            "tables": {"routes": routes_table(rows)},
        }

    return filtered_page(request, "routing/list.html", build, keep=("sort",), page_name="routes")


@require_POST
@org_admin_required
def route_new(request):
    form = NewRouteForm(request.POST)
    if not form.is_valid():
        messages.error(request, "A route needs a name of at most 200 characters.")
        return redirect("routing:list")
    name = form.cleaned_data["name"]
    route = Route.objects.filter(org=request.org, name=name).first()
    if route is None:
        route, _ = route_upsert(
            org=request.org, name=name, config=parse_route_config(request.org, {}, name=name)
        )
    return redirect(reverse("routing:edit", args=[route.name]))


@org_required
def route_detail(request, name: str):
    route = _route_or_404(request, name)

    def build(form):
        window = form.window()
        granularity = form.bucket_granularity()
        filters = {k: v for k, v in form.filters().items() if k != "route"}
        org = request.org
        span = {"start": window.start, "end": window.end}
        totals = usage_report(org, **span, filters={**filters, "route": [route.name]}).totals
        summary = route_metrics(totals)
        split = split_report(org, route, **span, granularity=granularity, filters=filters)
        series = route_series(org, route.name, **span, granularity=granularity, filters=filters)
        quality = quality_by_model(org, route.name, **span)
        bands = confidence_bands(org, route.name, **span)
        steps = chain_steps(org, route.name, **span)
        reasons = fallback_reasons(org, route.name, **span)
        shadow = shadow_evaluation(org, route.name, **span)
        models = list(dict.fromkeys([*split["models"], *(q["model"] for q in quality)]))
        colors = charts.model_colors(models)
        budget = float(route.fallback_budget) if route.fallback_budget is not None else None
        return {
            "route": route,
            "window": window,
            "granularity": granularity,
            "summary": summary,
            "split": split,
            "budget": budget,
            "over_budget": budget is not None
            and summary["fallback_rate"] is not None
            and summary["fallback_rate"] > budget,
            "quality": quality,
            "bands": bands,
            "steps": steps,
            "reasons": reasons,
            "shadow": shadow,
            "quality_floor": org.quality_floor,
            "has_filters": bool(filters),
            "figures": {
                "split": charts.split_figure(split, colors),
                "psi": charts.psi_figure(split),
                "fallback": charts.fallback_rate_figure(series, budget),
                "savings": charts.savings_figure(series),
                "wasted": charts.wasted_figure(series),
                "reasons": charts.reasons_figure(reasons),
                "bands": charts.bands_figure(bands),
                "cost_quality": charts.cost_quality_figure(quality, colors),
            },
            "tables": route_detail_tables(
                bands=bands, steps=steps, reasons=reasons, quality=quality, shadow=shadow
            ),
        }

    return filtered_page(request, "routing/detail.html", build, extra={"route": route}, page_name="route")


@require_http_methods(["GET", "POST"])
@org_admin_required
def route_edit(request, name: str):
    route = _route_or_404(request, name)
    errors: dict = {}
    if request.method == "POST":
        try:
            config = parse_route_config(request.org, route_config_from_post(request.POST), name=route.name)
        except RouteConfigError as exc:
            errors = exc.errors
        else:
            route_upsert(org=request.org, name=route.name, config=config)
            messages.success(request, f"Saved route {route.name}.")
            return redirect(reverse("routing:detail", args=[route.name]))
    context = {
        "route": route,
        "errors": errors,
        "rows": split_rows(route.target_split, request.POST if errors else None),
        "baseline_model": request.POST.get("baseline_model") if errors else (route.baseline_model or ""),
        "fallback_chain": request.POST.get("fallback_chain")
        if errors
        else " → ".join(route.fallback_chain or []),
        "fallback_budget_pct": request.POST.get("fallback_budget_pct")
        if errors
        else (f"{(route.fallback_budget * 100).normalize():f}" if route.fallback_budget is not None else ""),
        "catalog_models": priced_model_names(request.org),
    }
    return render(request, "routing/edit.html", context, status=400 if errors else 200)


@require_POST
@org_admin_required
def route_remove(request, name: str):
    route = _route_or_404(request, name)
    route_delete(org=request.org, name=route.name)
    messages.success(request, f"Deleted the configuration of {route.name}; its events are kept.")
    return redirect("routing:list")


COMPARE_ROWS = [
    ("requests", "Requests", "count"),
    ("cost_nanos", "Spend", "money"),
    ("cost_per_request_nanos", "Cost per request", "unit"),
    ("fallback_rate", "Fallback rate", "rate"),
    ("avg_quality", "Quality (mean)", "score"),
    ("savings_nanos", "Savings vs baseline", "money"),
    ("savings_pct", "Savings %", "pct"),
    ("wasted_nanos", "Wasted spend", "money"),
    ("error_rate", "Error rate", "rate"),
]
# Rates and unit figures are judged (green = B better); volumes and totals depend on traffic, so not.
HIGHER_IS_BETTER = {"avg_quality", "savings_pct"}
LOWER_IS_BETTER = {"cost_per_request_nanos", "fallback_rate", "error_rate"}


def _compare_rows(a: dict, b: dict) -> list[dict]:
    rows = []
    for key, label, kind in COMPARE_ROWS:
        va, vb = a[key], b[key]
        delta = None if va is None or vb is None else vb - va
        better = None
        if delta and key in HIGHER_IS_BETTER | LOWER_IS_BETTER:
            better = (delta > 0) == (key in HIGHER_IS_BETTER)
        if kind == "pct" and delta is not None:
            delta = round(delta, 2)
        elif kind in ("rate", "score") and delta is not None:
            delta = round(delta, 6)
        rows.append({"label": label, "kind": kind, "a": va, "b": vb, "delta": delta, "better": better})
    return rows


@org_required
def compare(request):
    names = [r.name for r in routes_list(request.org)]
    start, end = default_dates()
    defaults = {"route_a": names[0] if names else "", "start_a": start, "end_a": end}
    if not request.GET:
        defaults["route_b"] = names[1] if len(names) > 1 else ""
    form = CompareForm({**defaults, **request.GET.dict()}, routes=names)
    context: dict = {"form": form, "has_routes": bool(names)}
    if names and form.is_valid():
        sides = []
        for side in form.sides():
            totals = usage_report(
                request.org, start=side.start, end=side.end, filters={"route": [side.route]}
            ).totals
            sides.append({"side": side, "metrics": route_metrics(totals)})
        context["sides"] = sides
        context["rows"] = _compare_rows(sides[0]["metrics"], sides[1]["metrics"])
    status = 400 if request.GET and not form.is_valid() else 200
    return render(request, "routing/compare.html", context, status=status)


@org_required
def whatif(request):
    started = time.perf_counter()
    names = [r.name for r in routes_list(request.org)]
    start, end = default_dates()
    # Missing fields (a link with just ?route=) start from the last 7 days and the first route.
    data = {"route": names[0] if names else "", "start": start, "end": end, **request.GET.dict()}
    form = WhatIfForm(data, routes=names)
    context: dict = {
        "form": form,
        "has_routes": bool(names),
        "catalog_models": priced_model_names(request.org),
    }
    if names and form.is_valid():
        org = request.org
        route = Route.objects.get(org=org, name=form.cleaned_data["route"])
        lo, hi = form.window()
        volumes = served_volumes(org, route.name, start=lo, end=hi)
        book = price_book_for(org)
        baseline = normalize_model(route.baseline_model or org.baseline_model, book.aliases)
        weights, errors = scenario_weights(request.GET)
        weights = {normalize_model(m, book.aliases): w for m, w in weights.items()}
        calls = sum(v.calls for v in volumes)
        if not any(k.startswith("share:") for k in request.GET):
            # First visit: start from the route's actual served split, in percent.
            weights = {v.model: Decimal(100 * v.calls) / calls for v in volumes} if calls else {}
        context.update(
            {
                "route": route,
                "volumes": volumes,
                "calls": calls,
                "baseline_model": baseline,
                "billed_nanos": sum(v.cost_nanos for v in volumes),
            }
        )
        if volumes:
            try:
                shares = shares_from_weights(weights) if weights else {}
                if not shares:
                    raise WhatIfError("Give at least one model a share above 0.")
                result = whatif_price(
                    volumes=volumes, shares=shares, baseline_model=baseline, book=book, at=form.priced_at()
                )
            except WhatIfError as exc:
                errors.append(str(exc))
            else:
                context["result"] = result
                context["figure"] = charts.whatif_figure(result)
        models = list(dict.fromkeys([*(v.model for v in volumes), *weights]))
        context["share_rows"] = [
            {
                "model": m,
                "value": _pct_text(weights.get(m, Decimal(0))),
                "current": _current_pct(volumes, m, calls),
            }
            for m in models
        ]
        context["whatif_errors"] = errors
    context["elapsed_ms"] = round((time.perf_counter() - started) * 1000, 1)
    status = 400 if request.GET and not form.is_valid() else 200
    return render(request, "routing/whatif.html", context, status=status)


def _pct_text(value: Decimal) -> str:
    text = f"{value.quantize(Decimal('0.01')):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _current_pct(volumes, model: str, calls: int) -> str:
    for v in volumes:
        if v.model == model and calls:
            return _pct_text(Decimal(100 * v.calls) / calls)
    return "0"

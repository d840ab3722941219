"""Overview, Models, Features and Prices pages. Thin: validate the filter bar, call selectors, render.

Every number comes from usage_report (rollups), never from raw events.
"""

from __future__ import annotations

from urllib.parse import quote

from django.utils import timezone

from costlens.accounts.decorators import org_required
from costlens.customers.selectors import customer_names
from costlens.dashboard import charts
from costlens.dashboard.filters import FilterForm
from costlens.dashboard.pages import filtered_page, usage_state
from costlens.dashboard.tables import (
    Column,
    Table,
    nanos,
    per,
    savings_pct,
    share_pct,
    sort_rows,
    usd_float,
)
from costlens.money import nanos_to_str
from costlens.pricing.selectors import catalog_prices, price_overrides
from costlens.usage.selectors import usage_report, usage_sums, window_at_todays_prices

TOP_N = 10


def _report(request, form: FilterForm, group_by: list[str]):
    window = form.window()
    return usage_report(
        request.org, start=window.start, end=window.end, group_by=group_by, filters=form.filters()
    )


def _with_unit_costs(row: dict) -> dict:
    row["cost_per_request_usd"] = per(row["cost_usd"], row["requests"])
    row["cost_per_1k_output_usd"] = per(row["cost_usd"], row["output_tokens"], scale=1000)
    row["cached_tokens"] = row["cache_read_tokens"] + row["cache_write_tokens"]
    return row


def _with_activity(rows: list[dict], key: str) -> list[dict]:
    """Drop the null-key row that only carries recurring revenue (it has no model/feature) when a table
    shows usage, not revenue: it would read as a model or feature with no events."""
    return [r for r in rows if r[key] is not None or r["events"]]


def _drill(form: FilterForm, path: str, **overrides: str) -> str:
    return f"{path}?{form.querystring(**overrides)}"


def _sort(request, columns: list[Column], default: str) -> tuple[str, bool]:
    keys = {c.key for c in columns if c.sortable}
    key = request.GET.get("sort")
    if key not in keys:
        key = default
    return key, request.GET.get("dir", "desc") != "asc"


def _sort_links(form: FilterForm, path: str, columns: list[Column], key: str, descending: bool) -> dict:
    """For each sortable column, the URL that sorts by it (clicking the sorted column flips it)."""
    links = {}
    for c in columns:
        if not c.sortable:
            continue
        flip = "asc" if c.key == key and descending else "desc"
        if c.key != key and not c.numeric:
            flip = "asc"
        links[c.key] = _drill(form, path, sort=c.key, dir=flip)
    return links


# --- Overview ---------------------------------------------------------------------------------------

CUSTOMER_COLUMNS = [
    Column("customer", "Customer"),
    Column("cost_usd", "Spend", "usd"),
    Column("share_pct", "Share", "pct"),
    Column("requests", "Requests", "int"),
    Column("cost_per_request_usd", "Cost / request", "usd"),
    Column("revenue_usd", "Revenue", "usd"),
    Column("margin_usd", "Margin", "usd"),
]
# The Overview's table shows the customer's name (links and filters keep the external id); the CSV the id.
# Without cost per request (the Customers page has it): in half the page's width the seventh column
# scrolled out of sight, and the one cut off was the margin.
TOP_CUSTOMER_COLUMNS = [
    Column("customer_name", "Customer"),
    *(c for c in CUSTOMER_COLUMNS[1:] if c.key != "cost_per_request_usd"),
]
FEATURE_TOP_COLUMNS = [
    Column("feature", "Feature"),
    Column("cost_usd", "Spend", "usd"),
    Column("share_pct", "Share", "pct"),
    Column("requests", "Requests", "int"),
    Column("cost_per_request_usd", "Cost / request", "usd"),
]


def _ranked(rows: list[dict], key: str, total_cost: str, form: FilterForm) -> list[dict]:
    out = []
    for row in rows:
        row = _with_unit_costs(dict(row))
        row["share_pct"] = share_pct(row["cost_usd"], total_cost)
        if row[key]:
            row["link"] = _drill(form, "/", **{key: row[key]})
        out.append(row)
    return out


CUSTOMER_SUMS = (
    "requests",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cost_nanos",
    "revenue_nanos",
)


def _customer_spend(request, form: FilterForm) -> list[dict]:
    """Spend per customer, most first (usage_report's order), with just the figures the customer
    tables show, read lean (no full by-customer report: ~1,000 customers at 10M events)."""
    window = form.window()
    sums = usage_sums(
        request.org,
        start=window.start,
        end=window.end,
        group_by=["customer"],
        filters=form.filters(),
        columns=CUSTOMER_SUMS,
    )
    rows = []
    for (customer,), s in sums.items():
        revenue = s["revenue_nanos"] + s["recurring_revenue_nanos"]
        row = {k: s[k] for k in CUSTOMER_SUMS[:4]}
        row.update(
            customer=customer,
            cost_usd=nanos_to_str(s["cost_nanos"]),
            revenue_usd=nanos_to_str(revenue),
            margin_usd=nanos_to_str(revenue - s["cost_nanos"]),
            _cost=s["cost_nanos"],
        )
        rows.append(row)
    rows.sort(key=lambda r: (-r["_cost"], str(r["customer"])))
    for row in rows:
        del row["_cost"]
    return rows


def _model_unit_costs(over_time_rows: list[dict]) -> list[dict]:
    """Per-model cost and requests summed from the spend-over-time rows (exact, in nanos), so the
    Overview needs no separate by-model report for its cost-per-request chart."""
    sums: dict[str | None, list[int]] = {}
    for row in over_time_rows:
        acc = sums.setdefault(row["model"], [0, 0, 0, 0])
        acc[0] += nanos(row["cost_usd"])
        acc[1] += row["requests"]
        acc[2] += row["events"]
        acc[3] += row["unpriced_events"]
    return [
        {"model": model, "cost_usd": nanos_to_str(cost), "requests": requests, "events": events}
        | {"unpriced_events": unpriced, "cost_per_request_usd": per(nanos_to_str(cost), requests)}
        for model, (cost, requests, events, unpriced) in sums.items()
        if model is not None or events
    ]


def _overview(request, form: FilterForm) -> dict:
    window = form.window()
    granularity = form.bucket_granularity()
    over_time = _report(request, form, [granularity, "model"])
    totals = over_time.totals
    customer_rows = _customer_spend(request, form)
    by_feature = _report(request, form, ["feature"])

    model_rows = _model_unit_costs(over_time.rows)
    # The page shows the top rows; every row is ranked only for the CSV export (?format=csv).
    wants_all = request.GET.get("format") == "csv"
    ranked = customer_rows if wants_all else customer_rows[:TOP_N]
    customers = _ranked(ranked, "customer", totals["cost_usd"], form)
    names = customer_names(request.org, [r["customer"] for r in customers[:TOP_N] if r["customer"]])
    for row in customers:
        row["customer_name"] = names.get(row["customer"]) or row["customer"]
    features = _ranked(_with_activity(by_feature.rows, "feature"), "feature", totals["cost_usd"], form)
    for row in features:
        if row["feature"]:
            row["page"] = _drill(form, "/features/", feature=row["feature"])
            row["page_title"] = "Features page"
    for row in customers:
        if row["customer"]:
            row["page"] = _drill(form, f"/customers/{quote(row['customer'], safe='')}/", customer="")
            row["page_title"] = "Customer page (margin, revenue)"
    tiles = {
        **totals,
        "cost_per_request_usd": per(totals["cost_usd"], totals["requests"]),
        "savings_pct": savings_pct(totals),
    }
    return {
        "window": window,
        "granularity": granularity,
        "as_of": over_time.as_of,
        "tiles": tiles,
        **usage_state(request, events=totals["events"]),
        "figures": {
            "spend_over_time": charts.embed(
                charts.spend_over_time_figure(
                    over_time.rows, granularity=granularity, start=window.start, end=window.end
                )
            ),
            "cost_per_request": charts.embed(charts.cost_per_request_figure(model_rows)),
        },
        "top_customers": Table("customers", TOP_CUSTOMER_COLUMNS, customers[:TOP_N], "Top customers"),
        "top_features": Table("features", FEATURE_TOP_COLUMNS, features[:TOP_N], "Top features"),
        "customer_count": len(customer_rows),
        "feature_count": len(features),
        "tables": {
            "customers": Table("customers", CUSTOMER_COLUMNS, customers, "Customers"),
            "features": Table("features", FEATURE_TOP_COLUMNS, features, "Features"),
        },
    }


@org_required
def overview(request):
    return filtered_page(
        request, "dashboard/overview.html", lambda f: _overview(request, f), page_name="overview"
    )


# --- Models -----------------------------------------------------------------------------------------

MODEL_COLUMNS = [
    Column("model", "Model"),
    Column("requests", "Requests", "int"),
    Column("events", "Events", "int"),
    Column("input_tokens", "Input tok.", "tokens"),
    Column("cached_tokens", "Cached tok.", "tokens"),
    Column("output_tokens", "Output tok.", "tokens"),
    Column("reasoning_tokens", "Reasoning tok.", "tokens"),
    Column("cost_usd", "Spend", "usd"),
    Column("cost_per_request_usd", "Cost / request", "usd"),
    Column("cost_per_1k_output_usd", "Cost / 1K out", "usd"),
    Column("p50_latency_ms", "p50", "ms"),
    Column("p95_latency_ms", "p95", "ms"),
    Column("error_rate", "Errors", "rate"),
    Column("avg_quality", "Quality", "score"),
]


def _models(request, form: FilterForm) -> dict:
    report = _report(request, form, ["model"])
    rows = [_with_unit_costs(dict(r)) for r in _with_activity(report.rows, "model")]
    for row in rows:
        if row["model"]:
            row["link"] = _drill(form, "/", model=row["model"])
        if row["unpriced_events"]:
            row["badge"] = "unpriced"
    key, descending = _sort(request, MODEL_COLUMNS, "cost_usd")
    table = Table("models", MODEL_COLUMNS, sort_rows(rows, key, descending), "Models")
    return {
        "as_of": report.as_of,
        "totals": _with_unit_costs(dict(report.totals)),
        **usage_state(request, events=report.totals["events"]),
        "table": table,
        "sort_key": key,
        "sort_desc": descending,
        "sort_links": _sort_links(form, "/models/", MODEL_COLUMNS, key, descending),
        "figures": {"spend_by_model": charts.embed(charts.spend_by_model_figure(rows))},
        "tables": {"models": table},
    }


@org_required
def models(request):
    return filtered_page(
        request,
        "dashboard/models.html",
        lambda f: _models(request, f),
        keep=("sort", "dir"),
        page_name="models",
    )


# --- Features ---------------------------------------------------------------------------------------

FEATURE_COLUMNS = [
    Column("feature", "Feature"),
    Column("cost_usd", "Spend", "usd"),
    Column("share_pct", "Share of spend", "pct"),
    Column("requests", "Requests", "int"),
    Column("cost_per_request_usd", "Cost / request", "usd"),
    Column("fallback_rate", "Fallbacks", "rate"),
    Column("error_rate", "Errors", "rate"),
    Column("avg_quality", "Quality", "score"),
]


def _features(request, form: FilterForm) -> dict:
    window = form.window()
    granularity = form.bucket_granularity()
    report = _report(request, form, ["feature"])
    trend = _report(request, form, ["feature", granularity])
    time_key = "hour" if granularity == "hour" else "day"
    buckets = [
        charts.bucket_key(b, granularity) for b in charts.bucket_starts(window.start, window.end, granularity)
    ]
    series: dict[str | None, dict[str, float]] = {}
    for row in trend.rows:
        series.setdefault(row["feature"], dict.fromkeys(buckets, 0.0))
        if row[time_key] in series[row["feature"]]:
            series[row["feature"]][row[time_key]] += usd_float(row["cost_usd"])
    rows = []
    for r in _with_activity(report.rows, "feature"):
        row = _with_unit_costs(dict(r))
        row["share_pct"] = share_pct(row["cost_usd"], report.totals["cost_usd"])
        values = list(series.get(row["feature"], {}).values())
        row["sparkline"] = charts.sparkline_svg(values)
        if row["feature"]:
            row["link"] = _drill(form, "/", feature=row["feature"])
        rows.append(row)
    key, descending = _sort(request, FEATURE_COLUMNS, "cost_usd")
    table = Table("features", FEATURE_COLUMNS, sort_rows(rows, key, descending), "Features")
    return {
        "as_of": report.as_of,
        "totals": _with_unit_costs(dict(report.totals)),
        **usage_state(request, events=report.totals["events"]),
        "granularity": granularity,
        "table": table,
        "sort_key": key,
        "sort_desc": descending,
        "sort_links": _sort_links(form, "/features/", FEATURE_COLUMNS, key, descending),
        "figures": {
            "spend_over_time": charts.embed(
                charts.spend_over_time_figure(
                    trend.rows,
                    granularity=granularity,
                    start=window.start,
                    end=window.end,
                    series_key="feature",
                )
            )
        },
        "tables": {"features": table},
    }


@org_required
def features(request):
    return filtered_page(
        request,
        "dashboard/features.html",
        lambda f: _features(request, f),
        keep=("sort", "dir"),
        page_name="features",
    )


# --- Prices -----------------------------------------------------------------------------------------

CATALOG_COLUMNS = [
    Column("model", "Model"),
    Column("provider", "Provider"),
    Column("effective_from", "Effective from", "date"),
    Column("input_per_mtok", "Input / 1M", "price"),
    Column("output_per_mtok", "Output / 1M", "price"),
    Column("cache_read_per_mtok", "Cache read / 1M", "price"),
    Column("cache_write_per_mtok", "Cache write / 1M", "price"),
    Column("reasoning_per_mtok", "Reasoning / 1M", "price"),
    Column("status", "Status"),
]
OVERRIDE_COLUMNS = [
    Column("model", "Model"),
    Column("effective_from", "Effective from", "date"),
    Column("input_per_mtok", "Input / 1M", "price"),
    Column("output_per_mtok", "Output / 1M", "price"),
    Column("cache_read_per_mtok", "Cache read / 1M", "price"),
    Column("cache_write_per_mtok", "Cache write / 1M", "price"),
    Column("reasoning_per_mtok", "Reasoning / 1M", "price"),
    Column("discount_pct", "Discount", "pct"),
    Column("note", "Note"),
]
UNPRICED_COLUMNS = [
    Column("model", "Model"),
    Column("unpriced_events", "Unpriced events", "int"),
    Column("input_tokens", "Input tokens", "int"),
    Column("output_tokens", "Output tokens", "int"),
    Column("cached_tokens", "Cached tokens", "int"),
    Column("reasoning_tokens", "Reasoning tokens", "int"),
]
REPRICE_COLUMNS = [
    Column("model", "Model"),
    Column("events", "Events", "int"),
    Column("input_tokens", "Input tokens", "int"),
    Column("output_tokens", "Output tokens", "int"),
    Column("actual_cost_usd", "Actual cost", "usd"),
    Column("todays_cost_usd", "≈ At today's prices", "usd"),
    Column("difference_usd", "≈ Difference", "usd"),
    Column("change_pct", "Change", "pct"),
]


def _price_row(p) -> dict:
    return {
        "model": p.model,
        "effective_from": p.effective_from,
        **{
            k: getattr(p, k)
            for k in (
                "input_per_mtok",
                "output_per_mtok",
                "cache_read_per_mtok",
                "cache_write_per_mtok",
                "reasoning_per_mtok",
            )
        },
    }


def _with_status(rows: list[dict], now) -> list[dict]:
    """Mark, per model, the row in force now ('current'), later ones ('scheduled') and older ones."""
    current: dict[str, int] = {}
    for i, row in enumerate(rows):
        if row["effective_from"] <= now:
            current[row["model"]] = i
    for i, row in enumerate(rows):
        if row["effective_from"] > now:
            row["status"] = "scheduled"
        else:
            row["status"] = "current" if current.get(row["model"]) == i else "superseded"
    return rows


def _prices(request, form: FilterForm) -> dict:
    now = timezone.now()
    window = form.window()
    catalog = _with_status(
        [{**_price_row(p), "provider": p.provider} for p in catalog_prices(request.org)], now
    )
    overrides = _with_status(
        [
            {**_price_row(o), "discount_pct": o.discount_pct, "note": o.note}
            for o in price_overrides(request.org)
        ],
        now,
    )
    estimate = window_at_todays_prices(
        request.org, start=window.start, end=window.end, filters=form.filters(), at=now
    )
    reprice = [
        {
            "model": m.model,
            "events": m.events,
            "input_tokens": m.input_tokens,
            "output_tokens": m.output_tokens,
            "actual_cost_usd": nanos_to_str(m.actual_cost_nanos),
            "todays_cost_usd": nanos_to_str(m.todays_cost_nanos),
            "difference_usd": nanos_to_str(m.difference_nanos),
            "change_pct": m.change_pct,
            "badge": "no price today" if m.todays_cost_nanos is None else "",
        }
        for m in estimate.models
        if m.model is not None or m.events
    ]
    unpriced = [
        {
            "model": m.model,
            "unpriced_events": m.unpriced_events,
            "input_tokens": m.input_tokens,
            "output_tokens": m.output_tokens,
            "cached_tokens": m.cache_read_tokens + m.cache_write_tokens,
            "reasoning_tokens": m.reasoning_tokens,
        }
        for m in estimate.unpriced
    ]
    catalog_groups: dict[str, list[dict]] = {}
    for row in catalog:
        catalog_groups.setdefault(row["model"], []).append(row)
    actual, todays = estimate.actual_cost_nanos, estimate.todays_cost_nanos
    return {
        "as_of": estimate.as_of,
        "window": window,
        "now": now,
        "catalog_groups": catalog_groups,
        "overrides": Table("overrides", OVERRIDE_COLUMNS, overrides, "Your overrides"),
        "unpriced": Table("unpriced", UNPRICED_COLUMNS, unpriced, "Unpriced models"),
        "reprice": Table("reprice", REPRICE_COLUMNS, reprice, "At today's prices"),
        "reprice_totals": {
            "actual_cost_usd": nanos_to_str(actual),
            "todays_cost_usd": nanos_to_str(todays),
            "difference_usd": nanos_to_str(todays - actual),
            "change_pct": round(100 * (todays - actual) / actual, 2) if actual else None,
        },
        "tables": {
            "catalog": Table("catalog", CATALOG_COLUMNS, catalog, "Catalog"),
            "overrides": Table("overrides", OVERRIDE_COLUMNS, overrides, "Your overrides"),
            "unpriced": Table("unpriced", UNPRICED_COLUMNS, unpriced, "Unpriced models"),
            "reprice": Table("reprice", REPRICE_COLUMNS, reprice, "At today's prices"),
        },
    }


@org_required
def prices(request):
    return filtered_page(request, "dashboard/prices.html", lambda f: _prices(request, f), page_name="prices")

"""Reads for customers and margin. Every figure comes from usage_report (rollups), never raw events."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from costlens.accounts.models import Organization
from costlens.customers.models import Customer, RevenueEntry
from costlens.money import NANOS_PER_USD, nanos_to_str
from costlens.usage.metrics import ratio
from costlens.usage.models import UNATTRIBUTED
from costlens.usage.selectors import (
    customer_daily_margins,
    revenue_entries_read_once,
    truncate_hour,
    usage_report,
    usage_sums,
)

MARGIN_BINS = (-100, -50, -25, 0, 25, 50, 75, 100)


def str_to_nanos(value: str | None) -> int:
    """A report's decimal string back to exact nano-USD."""
    if value is None:
        return 0
    return int(Decimal(value) * NANOS_PER_USD)


def customer_get(org: Organization, external_id: str) -> Customer | None:
    return Customer.objects.filter(org=org, external_id=external_id).first()


def customers_list(org: Organization, *, plan: str = "", segment: str = "") -> list[Customer]:
    qs = Customer.objects.filter(org=org)
    if plan:
        qs = qs.filter(plan=plan)
    if segment:
        qs = qs.filter(segment=segment)
    return list(qs.order_by("external_id"))


def customer_names(org: Organization, external_ids: list[str]) -> dict[str, str]:
    """external id -> name (one query; customers without a name or record are left out)."""
    if not external_ids:
        return {}
    rows = Customer.objects.filter(org=org, external_id__in=external_ids).exclude(name="")
    return dict(rows.values_list("external_id", "name"))


def revenue_entries_list(org: Organization, customer: Customer) -> list[RevenueEntry]:
    return list(RevenueEntry.objects.filter(org=org, customer=customer).order_by("period_start", "id"))


def plans_and_segments(org: Organization) -> tuple[list[str], list[str]]:
    qs = Customer.objects.filter(org=org).order_by()
    plans = sorted(p for p in qs.values_list("plan", flat=True).distinct() if p)
    segments = sorted(s for s in qs.values_list("segment", flat=True).distinct() if s)
    return plans, segments


class MarginFigures:
    """Margin, margin % and the money strings of anything with revenue_nanos and cost_nanos."""

    revenue_nanos: int
    cost_nanos: int

    @property
    def margin_nanos(self) -> int:
        return self.revenue_nanos - self.cost_nanos

    @property
    def margin_pct(self) -> float | None:
        return ratio(100 * self.margin_nanos, self.revenue_nanos, 2)

    @property
    def revenue_usd(self) -> str:
        return nanos_to_str(self.revenue_nanos)

    @property
    def cost_usd(self) -> str:
        return nanos_to_str(self.cost_nanos)

    @property
    def margin_usd(self) -> str:
        return nanos_to_str(self.margin_nanos)


@dataclass
class CustomerMargin(MarginFigures):
    """One customer's figures over a window (money as exact nano-USD ints, metrics as the API shows them)."""

    external_id: str
    name: str
    plan: str
    segment: str
    revenue_nanos: int
    cost_nanos: int
    metrics: dict
    trend: list[int] = field(default_factory=list)

    @property
    def display_name(self) -> str:
        return self.name or self.external_id

    @property
    def is_negative(self) -> bool:
        return self.margin_nanos < 0

    @property
    def linkable(self) -> bool:
        return True


def _scope_filters(
    org: Organization, filters: dict[str, list[str]], plan: str, segment: str
) -> dict[str, list[str]] | None:
    """Add the customers of a plan/segment to the filters; None when no customer matches."""
    filters = {k: list(v) for k, v in filters.items() if v}
    if plan or segment:
        ids = [c.external_id for c in customers_list(org, plan=plan, segment=segment)]
        if filters.get("customer"):
            ids = [i for i in ids if i in filters["customer"]]
        if not ids:
            return None
        filters["customer"] = ids
    return filters


def customer_margins(
    org: Organization,
    *,
    start: datetime,
    end: datetime,
    filters: dict[str, list[str]] | None = None,
    plan: str = "",
    segment: str = "",
    with_trend: bool = False,
) -> list[CustomerMargin]:
    """Revenue, cost and margin per customer over [start, end), worst margin first."""
    return _customer_margins(
        org, start=start, end=end, filters=filters, plan=plan, segment=segment, with_trend=with_trend
    )


def _customer_margins(
    org: Organization,
    *,
    start: datetime,
    end: datetime,
    filters: dict[str, list[str]] | None = None,
    plan: str = "",
    segment: str = "",
    with_trend: bool = False,
):
    """customer_margins, read lean: five sums per customer (no full report, nothing else finalised)."""
    scoped = _scope_filters(org, filters or {}, plan, segment)
    if scoped is None:
        return []
    sums = usage_sums(org, start=start, end=end, group_by=["customer"], filters=scoped, columns=LEAN_COLUMNS)
    known = {
        c.external_id: c
        for c in Customer.objects.filter(org=org, external_id__in=[key[0] for key in sums if key[0]]).only(
            "external_id", "name", "plan", "segment"
        )
    }
    out = []
    for (ext, *_), s in sums.items():
        ext = ext or UNATTRIBUTED
        customer = known.get(ext)
        revenue = s["revenue_nanos"] + s["recurring_revenue_nanos"]
        cost = s["cost_nanos"]
        out.append(
            CustomerMargin(
                external_id=ext,
                name=customer.name if customer else "",
                plan=customer.plan if customer else "",
                segment=customer.segment if customer else "",
                revenue_nanos=revenue,
                cost_nanos=cost,
                metrics=_lean_metrics(ext, s, revenue, cost),
            )
        )
    if with_trend and out:
        attach_trends(org, out, start=start, end=end, filters=scoped)
    out.sort(key=lambda c: (c.margin_nanos, c.external_id))
    return out


LEAN_COLUMNS = ("events", "requests", "fallbacks", "cost_nanos", "revenue_nanos")


def _lean_metrics(customer: str, sums: dict, revenue: int, cost: int) -> dict:
    """The API metrics (usage/metrics.finalize's names and formulas) that customer pages and the CSV
    show, from the lean sums."""
    return {
        "customer": customer,
        "events": sums["events"],
        "requests": sums["requests"],
        "fallbacks": sums["fallbacks"],
        "fallback_rate": ratio(sums["fallbacks"], sums["requests"]),
        "cost_usd": nanos_to_str(cost),
        "revenue_usd": nanos_to_str(revenue),
        "margin_usd": nanos_to_str(revenue - cost),
        "margin_pct": ratio(100 * (revenue - cost), revenue, 4),
    }


def attach_trends(
    org: Organization,
    rows: list[CustomerMargin],
    *,
    start: datetime,
    end: datetime,
    filters: dict[str, list[str]] | None = None,
) -> None:
    """Set `trend` (margin per UTC day, nano-USD) on just these rows (the ones a page shows), read
    lean: two sums per customer and day, no full report."""
    if not rows:
        return
    trends = customer_daily_margins(
        org, start=start, end=end, customers=[r.external_id for r in rows], filters=filters
    )
    days = _days(truncate_hour(start), truncate_hour(end))
    for cm in rows:
        by_day = trends.get(cm.external_id, {})
        cm.trend = [by_day.get(d, 0) for d in days]


def _days(start: datetime, end: datetime) -> list[str]:
    day = start.replace(hour=0)
    out = []
    while day < end:
        out.append(day.strftime("%Y-%m-%d"))
        day += timedelta(days=1)
    return out


@dataclass
class Series:
    buckets: list[str]
    revenue_nanos: list[int]
    cost_nanos: list[int]


def revenue_cost_series(
    org: Organization, *, start: datetime, end: datetime, granularity: str, filters: dict[str, list[str]]
) -> Series:
    sums = usage_sums(org, start=start, end=end, group_by=[granularity], filters=filters)
    fmt = "%Y-%m-%d" if granularity == "day" else "%Y-%m-%dT%H:%M:%SZ"
    by_bucket = {key[0].strftime(fmt): s for key, s in sums.items() if key[0] is not None}
    buckets = _buckets(truncate_hour(start), truncate_hour(end), granularity)
    empty = {"revenue_nanos": 0, "recurring_revenue_nanos": 0, "cost_nanos": 0}
    rows = [by_bucket.get(b, empty) for b in buckets]
    return Series(
        buckets=buckets,
        revenue_nanos=[r["revenue_nanos"] + r["recurring_revenue_nanos"] for r in rows],
        cost_nanos=[r["cost_nanos"] for r in rows],
    )


def _buckets(start: datetime, end: datetime, granularity: str) -> list[str]:
    if granularity == "day":
        return _days(start, end)
    out, cursor = [], start
    while cursor < end:
        out.append(cursor.strftime("%Y-%m-%dT%H:%M:%SZ"))
        cursor += timedelta(hours=1)
    return out


@dataclass
class CustomerDetail:
    customer: Customer | None
    external_id: str
    totals: dict
    series: Series
    by_feature: list[dict]
    by_model: list[dict]
    expensive_share: float | None
    expensive_models: list[str]


def expensive_models(org: Organization, models: list[str], *, at: datetime | None = None) -> list[str]:
    """Models priced at or above the org's baseline (frontier) model, by input + output price now."""
    from costlens.pricing.normalize import normalize_model
    from costlens.pricing.selectors import price_book_for

    book = price_book_for(org)
    at = at or timezone.now()
    baseline = book.price_at(normalize_model(org.baseline_model, book.aliases), at)
    if baseline is None:
        return []
    bar = baseline.input + baseline.output
    out = []
    for model in models:
        price = book.price_at(model, at) if model else None
        if price is not None and price.input + price.output >= bar:
            out.append(model)
    return out


def customer_detail(
    org: Organization,
    external_id: str,
    *,
    start: datetime,
    end: datetime,
    granularity: str,
    filters: dict[str, list[str]] | None = None,
) -> CustomerDetail:
    scoped = {**(filters or {}), "customer": [external_id]}
    totals = usage_report(org, start=start, end=end, filters=scoped).totals
    by_feature = usage_report(org, start=start, end=end, group_by=["feature"], filters=scoped).rows
    by_model = usage_report(org, start=start, end=end, group_by=["model"], filters=scoped).rows
    by_model = [r for r in by_model if r["model"] is not None or r["events"]]
    pricey = expensive_models(org, [r["model"] for r in by_model if r["model"]])
    expensive_requests = sum(r["requests"] for r in by_model if r["model"] in pricey)
    for r in by_model:
        r["request_share"] = ratio(r["requests"], totals["requests"])
        r["expensive"] = r["model"] in pricey
    by_model.sort(key=lambda r: -str_to_nanos(r["cost_usd"]))
    return CustomerDetail(
        customer=customer_get(org, external_id),
        external_id=external_id,
        totals=totals,
        series=revenue_cost_series(org, start=start, end=end, granularity=granularity, filters=scoped),
        by_feature=by_feature,
        by_model=by_model,
        expensive_share=ratio(expensive_requests, totals["requests"]),
        expensive_models=pricey,
    )


@dataclass
class GroupMargin(MarginFigures):
    key: str
    customers: int = 0
    revenue_nanos: int = 0
    cost_nanos: int = 0


def margin_by(rows: list[CustomerMargin], attribute: str) -> list[GroupMargin]:
    """Sum customers' exact figures by plan or segment (customers without one under "(none)")."""
    groups: dict[str, GroupMargin] = {}
    for row in rows:
        key = getattr(row, attribute) or "(none)"
        g = groups.setdefault(key, GroupMargin(key=key))
        g.customers += 1
        g.revenue_nanos += row.revenue_nanos
        g.cost_nanos += row.cost_nanos
    return sorted(groups.values(), key=lambda g: (g.margin_nanos, g.key))


@dataclass
class MarginOverview:
    start: datetime
    end: datetime
    previous_start: datetime
    totals: dict
    previous_totals: dict
    customers: list[CustomerMargin]
    flipped: list[tuple[CustomerMargin, CustomerMargin]]
    histogram: list[tuple[str, int]]
    no_revenue: int
    by_plan: list[GroupMargin]
    by_segment: list[GroupMargin]
    series: Series


def margin_histogram(rows: list[CustomerMargin]) -> tuple[list[tuple[str, int]], int]:
    """Customers per margin-% bin (labels for people); customers with no revenue have no margin % and
    are counted apart."""

    def show(edge: int) -> str:
        return f"{edge}".replace("-", "−")

    edges = MARGIN_BINS
    labels = [f"below {show(edges[0])}%"] + [
        f"{show(a)}% to {show(b)}%" for a, b in itertools.pairwise(edges)
    ]
    labels.append(f"{show(edges[-1])}%")
    counts = [0] * len(labels)
    no_revenue = 0
    for row in rows:
        pct = row.margin_pct
        if pct is None:
            no_revenue += 1
            continue
        index = 0
        for i, edge in enumerate(edges):
            if pct >= edge:
                index = i + 1
        counts[min(index, len(labels) - 1)] += 1
    return list(zip(labels, counts)), no_revenue


def margin_overview(
    org: Organization,
    *,
    start: datetime,
    end: datetime,
    granularity: str,
    filters: dict[str, list[str]] | None = None,
) -> MarginOverview:
    filters = filters or {}
    length = truncate_hour(end) - truncate_hour(start)
    # Five sums of this window and the previous one: the revenue entries are read once for all.
    with revenue_entries_read_once(org, truncate_hour(start) - length, end):
        return _margin_overview(org, start=start, end=end, granularity=granularity, filters=filters)


def _margin_overview(
    org: Organization, *, start: datetime, end: datetime, granularity: str, filters: dict[str, list[str]]
) -> MarginOverview:
    current = _customer_margins(org, start=start, end=end, filters=filters)
    report = usage_report(org, start=start, end=end, filters=filters)
    length = report.end - report.start
    previous_start = report.start - length
    previous = {
        c.external_id: c
        for c in _customer_margins(org, start=previous_start, end=report.start, filters=filters)
    }
    previous_totals = usage_report(org, start=previous_start, end=report.start, filters=filters).totals
    flipped = [
        (c, previous[c.external_id])
        for c in current
        if c.is_negative and c.external_id in previous and not previous[c.external_id].is_negative
    ]
    histogram, no_revenue = margin_histogram(current)
    return MarginOverview(
        start=report.start,
        end=report.end,
        previous_start=previous_start,
        totals=report.totals,
        previous_totals=previous_totals,
        customers=current,
        flipped=flipped,
        histogram=histogram,
        no_revenue=no_revenue,
        by_plan=margin_by(current, "plan"),
        by_segment=margin_by(current, "segment"),
        series=revenue_cost_series(org, start=start, end=end, granularity=granularity, filters=filters),
    )

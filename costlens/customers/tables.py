"""The Margin and customer pages' tables as `dashboard.tables.Table`s, for their CSV downloads
(`?format=csv&table=NAME` with the page's filters). Money is the exact decimal string, as in the API."""

from __future__ import annotations

from costlens.customers.selectors import CustomerDetail, CustomerMargin, GroupMargin, MarginOverview
from costlens.dashboard.tables import Column, Table
from costlens.money import nanos_to_str

_MARGIN_COLUMNS = [
    Column("revenue_usd", "Revenue", "usd"),
    Column("cost_usd", "Cost", "usd"),
    Column("margin_usd", "Margin", "usd"),
    Column("margin_pct", "Margin %", "pct"),
]
_CUSTOMER_COLUMNS = [
    Column("customer_id", "Customer ID"),
    Column("name", "Name"),
    Column("plan", "Plan"),
    Column("segment", "Segment"),
]


def _figures(row: CustomerMargin | GroupMargin) -> dict:
    return {
        "revenue_usd": row.revenue_usd,
        "cost_usd": row.cost_usd,
        "margin_usd": row.margin_usd,
        "margin_pct": row.margin_pct,
    }


def _customer(row: CustomerMargin) -> dict:
    return {"customer_id": row.external_id, "name": row.name, "plan": row.plan, "segment": row.segment}


def _group_table(name: str, label: str, groups: list[GroupMargin]) -> Table:
    columns = [Column(name, label), Column("customers", "Customers", "int"), *_MARGIN_COLUMNS]
    # margin_by files customers without a plan or segment under "(none)"; the CSV leaves it empty.
    rows = [
        {name: "" if g.key == "(none)" else g.key, "customers": g.customers, **_figures(g)} for g in groups
    ]
    return Table(f"by_{name}", columns, rows, f"Margin by {name}")


def margin_tables(overview: MarginOverview) -> dict[str, Table]:
    """The Margin page's tables; `customers` is every customer of the window, worst margin first
    (the page shows the first ten)."""
    flipped_columns = [
        Column("customer_id", "Customer ID"),
        Column("name", "Name"),
        Column("margin_before_usd", "Margin before", "usd"),
        Column("margin_usd", "Margin now", "usd"),
    ]
    flipped = [
        {
            "customer_id": now.external_id,
            "name": now.name,
            "margin_before_usd": before.margin_usd,
            "margin_usd": now.margin_usd,
        }
        for now, before in overview.flipped
    ]
    return {
        "customers": Table(
            "customers",
            [*_CUSTOMER_COLUMNS, *_MARGIN_COLUMNS],
            [_customer(c) | _figures(c) for c in overview.customers],
            "Customers by margin",
        ),
        "by_plan": _group_table("plan", "Plan", overview.by_plan),
        "by_segment": _group_table("segment", "Segment", overview.by_segment),
        "flipped": Table("flipped", flipped_columns, flipped, "Turned negative"),
    }


def customer_tables(detail: CustomerDetail, revenue_entries: list) -> dict[str, Table]:
    """One customer's page: spend by feature (recurring revenue in the row without a feature), by
    model, and the recurring revenue entries shown."""
    features = Table(
        "features",
        [
            Column("feature", "Feature"),
            Column("requests", "Requests", "int"),
            Column("events", "Events", "int"),
            *_MARGIN_COLUMNS[:3],
        ],
        [
            {
                "feature": r["feature"],
                "requests": r["requests"],
                "events": r["events"],
                "revenue_usd": r["revenue_usd"],
                "cost_usd": r["cost_usd"],
                "margin_usd": r["margin_usd"],
            }
            for r in detail.by_feature
        ],
        "Spend by feature",
    )
    models = Table(
        "models",
        [
            Column("model", "Model"),
            Column("requests", "Requests", "int"),
            Column("request_share", "Share", "rate"),
            Column("fallbacks", "Fallbacks", "int"),
            Column("cost_usd", "Cost", "usd"),
            Column("frontier", "Frontier", "bool"),
        ],
        [
            {
                "model": r["model"],
                "requests": r["requests"],
                "request_share": r["request_share"],
                "fallbacks": r["fallbacks"],
                "cost_usd": r["cost_usd"],
                "frontier": r["expensive"],
            }
            for r in detail.by_model
            if r["events"]
        ],
        "Spend by model",
    )
    entries = Table(
        "revenue_entries",
        [
            Column("period_start", "From", "date"),
            Column("period_end", "To", "date"),
            Column("amount_usd", "Amount", "usd"),
            Column("description", "Description"),
        ],
        [
            {
                "period_start": e.period_start,
                "period_end": e.period_end,
                "amount_usd": nanos_to_str(e.amount_nanos),
                "description": e.description,
            }
            for e in revenue_entries
        ],
        "Recurring revenue entries",
    )
    return {"features": features, "models": models, "revenue_entries": entries}

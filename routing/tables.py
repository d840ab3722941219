"""The route pages' tables as `Table`s for the CSV download (`?format=csv&table=NAME`).

The pages render their own HTML from the selectors' rows; these carry the same figures under the API's
names, money as exact 9-digit strings (the selectors hold nano-USD ints), rates as fractions.
"""

from __future__ import annotations

from costlens.dashboard.tables import Column, Table
from costlens.money import nanos_to_str
from routing.selectors import RouteRow

ROUTE_COLUMNS = [
    Column("route", "Route"),
    Column("requests", "Requests", "int"),
    Column("cost_usd", "Spend", "usd"),
    Column("cost_per_request_usd", "Cost / request", "usd"),
    Column("savings_usd", "Savings", "usd"),
    Column("savings_pct", "Savings %", "pct"),
    Column("fallback_rate", "Fallback rate", "rate"),
    Column("fallback_budget", "Fallback budget", "rate"),
    Column("over_budget", "Over budget", "bool"),
    Column("wasted_cost_usd", "Wasted", "usd"),
    Column("error_rate", "Error rate", "rate"),
    Column("avg_quality", "Quality", "score"),
    Column("psi", "PSI", "score"),
    Column("drift", "Drift", "bool"),
    Column("compared_to", "PSI against"),
]
BAND_COLUMNS = [
    Column("confidence_band", "Router confidence"),
    Column("requests", "Requests", "int"),
    Column("fallbacks", "Fell back", "int"),
    Column("fallback_rate", "Fallback rate", "rate"),
]
CHAIN_STEP_COLUMNS = [
    Column("from_attempt", "From attempt", "int"),
    Column("to_attempt", "To attempt", "int"),
    Column("from_model", "From model"),
    Column("to_model", "To model"),
    Column("fallbacks", "Fallbacks", "int"),
    Column("wasted_cost_usd", "Wasted", "usd"),
]
REASON_COLUMNS = [
    Column("fallback_reason", "Reason"),
    Column("fallbacks", "Fallbacks", "int"),
    Column("wasted_cost_usd", "Wasted", "usd"),
]
QUALITY_COLUMNS = [
    Column("model", "Model"),
    Column("calls", "Calls", "int"),
    Column("avg_quality", "Mean quality", "score"),
    Column("quality_samples", "Scored", "int"),
    Column("below_floor", "Below floor", "int"),
    Column("below_floor_share", "Below floor share", "rate"),
    Column("cost_per_call_usd", "Cost / call", "usd"),
]
SHADOW_COLUMNS = [
    Column("live_model", "Live model"),
    Column("shadow_model", "Shadow model"),
    Column("requests", "Requests", "int"),
    Column("live_quality", "Live quality", "score"),
    Column("shadow_quality", "Shadow quality", "score"),
    Column("quality_delta", "Δ quality", "score"),
    Column("live_cost_per_call_usd", "Live cost / call", "usd"),
    Column("shadow_cost_per_call_usd", "Shadow cost / call", "usd"),
    Column("cost_delta_pct", "Δ cost", "pct"),
]


def routes_table(rows: list[RouteRow]) -> Table:
    """The routes list in the page's order (its `sort`)."""
    return Table(
        "routes",
        ROUTE_COLUMNS,
        [
            {
                "route": r.name,
                "requests": r.requests,
                "cost_usd": r.money("cost_nanos"),
                "cost_per_request_usd": r.money("cost_per_request_nanos"),
                "savings_usd": r.money("savings_nanos"),
                "savings_pct": r.savings_pct,
                "fallback_rate": r.fallback_rate,
                "fallback_budget": r.fallback_budget,
                "over_budget": r.over_budget,
                "wasted_cost_usd": r.money("wasted_nanos"),
                "error_rate": r.error_rate,
                "avg_quality": r.avg_quality,
                "psi": r.psi,
                "drift": r.drift,
                "compared_to": r.compared_to,
            }
            for r in rows
        ],
        "Did routing save money?",
    )


def route_detail_tables(
    *, bands: list[dict], steps: list[dict], reasons: list[dict], quality: list[dict], shadow: list[dict]
) -> dict[str, Table]:
    """A route's detail tables, from the rows of the selectors the page shows them from."""
    tables = [
        Table(
            "bands",
            BAND_COLUMNS,
            [
                {
                    "confidence_band": b["band"],
                    "requests": b["requests"],
                    # Requests whose first attempt was superseded: fallback_rate = fallbacks / requests.
                    "fallbacks": b["escalated"],
                    "fallback_rate": b["fallback_rate"],
                }
                for b in bands
            ],
            "Fallback rate by router confidence",
        ),
        Table(
            "chain_steps",
            CHAIN_STEP_COLUMNS,
            [
                {
                    "from_attempt": s["from_attempt"],
                    "to_attempt": s["from_attempt"] + 1,
                    "from_model": s["from_model"],
                    "to_model": s["to_model"],
                    "fallbacks": s["steps"],
                    "wasted_cost_usd": nanos_to_str(s["wasted_cost_nanos"]),
                }
                for s in steps
            ],
            "Fallbacks by chain step",
        ),
        Table(
            "reasons",
            REASON_COLUMNS,
            [
                {
                    "fallback_reason": r["reason"],
                    "fallbacks": r["steps"],
                    "wasted_cost_usd": nanos_to_str(r["wasted_cost_nanos"]),
                }
                for r in reasons
            ],
            "Fallbacks by reason",
        ),
        Table(
            "quality",
            QUALITY_COLUMNS,
            [
                {
                    "model": q["model"],
                    "calls": q["calls"],
                    "avg_quality": q["avg_quality"],
                    "quality_samples": q["quality_samples"],
                    "below_floor": q["below_floor"],
                    "below_floor_share": q["below_floor_share"],
                    "cost_per_call_usd": nanos_to_str(q["cost_per_call_nanos"]),
                }
                for q in quality
            ],
            "Quality by model on this route",
        ),
        Table(
            "shadow",
            SHADOW_COLUMNS,
            [
                {
                    "live_model": s["live_model"],
                    "shadow_model": s["shadow_model"],
                    "requests": s["pairs"],
                    "live_quality": s["live_quality"],
                    "shadow_quality": s["shadow_quality"],
                    "quality_delta": s["quality_delta"],
                    "live_cost_per_call_usd": nanos_to_str(s["live_cost_per_call_nanos"]),
                    "shadow_cost_per_call_usd": nanos_to_str(s["shadow_cost_per_call_nanos"]),
                    "cost_delta_pct": s["cost_delta_pct"],
                }
                for s in shadow
            ],
            "Shadow evaluation",
        ),
    ]
    return {t.name: t for t in tables}

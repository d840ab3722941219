"""Plotly figure builders for the route pages: one builder per chart, plain figure JSON."""

from __future__ import annotations

from decimal import Decimal

from costlens.dashboard.charts import PALETTE  # one palette across the app
from routing.selectors import DRIFT_THRESHOLD

GOOD, BAD, MUTED = "#12805c", "#c4320a", "#98a2b3"


def model_colors(models: list[str]) -> dict[str, str]:
    """Colours by model name, so a model keeps its colour whatever the window's ranking."""
    return {m: PALETTE[i % len(PALETTE)] for i, m in enumerate(sorted(set(models)))}


def _usd(nanos: int | None) -> float | None:
    # Plotly needs numbers; display only — the exact figures are in the tables and API.
    return None if nanos is None else float(Decimal(nanos) / 10**9)


def _layout(**extra) -> dict:
    layout = {
        "hovermode": "x unified",
        "legend": {"orientation": "h", "y": -0.18},
        "margin": {"l": 56, "r": 16, "t": 16, "b": 40},
        "xaxis": {"showgrid": False},
        "yaxis": {"gridcolor": "#eef0f3", "zeroline": False},
    }
    layout.update(extra)
    return layout


def split_figure(split: dict, colors: dict[str, str]) -> dict:
    """Stacked shares of requests by model per bucket; the target split drawn as dashed boundaries."""
    x = [b["bucket"] for b in split["buckets"]]
    # Stack the target's models first (largest target share at the bottom), then the rest.
    models = sorted(split["models"], key=lambda m: -(split["models"][m].get("target_share") or -1))
    data = []
    for m in models:
        data.append(
            {
                "type": "bar",
                "name": m,
                "x": x,
                "y": [b["models"].get(m, {}).get("share") for b in split["buckets"]],
                "marker": {"color": colors.get(m, MUTED)},
                "hovertemplate": "%{y:.1%}",
            }
        )
    # Targets as cumulative boundaries, in the stacking order, so each band can be read against them.
    cumulative = 0.0
    for m in models[:-1]:  # the last boundary is always 100%
        share = split["models"][m].get("target_share")
        if split["compared_to"] != "target" or share is None:
            continue
        cumulative += share
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": f"target {m} {share:.0%}",
                "x": x,
                "y": [round(cumulative, 6)] * len(x),
                "line": {"color": "#101828", "dash": "dash", "width": 2},
                "hovertemplate": f"target through {m}: " + "%{y:.1%}<extra></extra>",
            }
        )
    return {
        "data": data,
        "layout": _layout(barmode="stack", bargap=0.08, yaxis={"tickformat": ".0%", "range": [0, 1.02]}),
    }


def psi_figure(split: dict) -> dict:
    x = [b["bucket"] for b in split["buckets"]]
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": "PSI",
                "x": x,
                "y": [b["psi"] for b in split["buckets"]],
                "line": {"color": "#3b5bdb"},
                "connectgaps": False,
            },
            {
                "type": "scatter",
                "mode": "lines",
                "name": f"drift threshold {DRIFT_THRESHOLD}",
                "x": x,
                "y": [DRIFT_THRESHOLD] * len(x),
                "line": {"color": BAD, "dash": "dot"},
            },
        ],
        "layout": _layout(yaxis={"rangemode": "tozero", "title": {"text": "PSI"}}),
    }


def fallback_rate_figure(series: list[dict], budget: float | None) -> dict:
    x = [s["bucket"].isoformat() for s in series]
    data = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": "fallback rate",
            "x": x,
            "y": [s["metrics"]["fallback_rate"] if s["metrics"] else None for s in series],
            "line": {"color": "#f59f00"},
        }
    ]
    if budget is not None:
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": f"budget {budget:.1%}",
                "x": x,
                "y": [budget] * len(x),
                "line": {"color": BAD, "dash": "dot"},
            }
        )
    return {"data": data, "layout": _layout(yaxis={"tickformat": ".0%", "rangemode": "tozero"})}


def savings_figure(series: list[dict]) -> dict:
    """Gross savings of served calls, the wasted spend on superseded attempts, and what is left (net)."""
    x = [s["bucket"].isoformat() for s in series]

    def col(key: str, sign: int = 1) -> list:
        return [sign * _usd(s["metrics"][key]) if s["metrics"] else None for s in series]

    return {
        "data": [
            {
                "type": "bar",
                "name": "gross savings",
                "x": x,
                "y": col("gross_savings_nanos"),
                "marker": {"color": "#b2f2bb"},
            },
            {
                "type": "bar",
                "name": "wasted spend",
                "x": x,
                "y": col("wasted_nanos", -1),
                "marker": {"color": "#ffa8a8"},
            },
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": "net savings",
                "x": x,
                "y": col("savings_nanos"),
                "line": {"color": GOOD, "width": 2},
            },
        ],
        "layout": _layout(barmode="relative", yaxis={"tickprefix": "$", "gridcolor": "#eef0f3"}),
    }


def wasted_figure(series: list[dict]) -> dict:
    x = [s["bucket"].isoformat() for s in series]
    return {
        "data": [
            {
                "type": "bar",
                "name": "wasted spend",
                "x": x,
                "y": [_usd(s["metrics"]["wasted_nanos"]) if s["metrics"] else None for s in series],
                "marker": {"color": BAD},
            }
        ],
        "layout": _layout(yaxis={"tickprefix": "$", "gridcolor": "#eef0f3"}, showlegend=False),
    }


def reasons_figure(reasons: list[dict]) -> dict:
    rows = list(reversed(reasons))
    return {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "x": [r["steps"] for r in rows],
                "y": [r["reason"] or "(none given)" for r in rows],
                "marker": {"color": "#f59f00"},
                "hovertemplate": "%{y}: %{x} fallbacks<extra></extra>",
            }
        ],
        "layout": _layout(hovermode="closest", showlegend=False, margin={"l": 120, "r": 16, "t": 8, "b": 30}),
    }


def bands_figure(bands: list[dict]) -> dict:
    return {
        "data": [
            {
                "type": "bar",
                "x": [b["band"] for b in bands],
                "y": [b["fallback_rate"] for b in bands],
                "text": [f"{b['requests']} req" for b in bands],
                "textposition": "outside",
                "marker": {"color": "#7048e8"},
                "hovertemplate": "confidence %{x}: %{y:.1%} fell back<extra></extra>",
            }
        ],
        "layout": _layout(
            hovermode="closest",
            showlegend=False,
            xaxis={"title": {"text": "router confidence"}, "type": "category"},
            yaxis={"tickformat": ".0%", "rangemode": "tozero", "gridcolor": "#eef0f3"},
        ),
    }


def cost_quality_figure(quality: list[dict], colors: dict[str, str]) -> dict:
    """Each model on this route: cost per call vs mean quality, sized by calls."""
    rows = [q for q in quality if q["avg_quality"] is not None and q["cost_per_call_nanos"] is not None]
    biggest = max((q["calls"] for q in rows), default=1)
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "markers+text",
                "name": q["model"],
                "x": [_usd(q["cost_per_call_nanos"])],
                "y": [q["avg_quality"]],
                "text": [q["model"]],
                "textposition": "top center",
                "cliponaxis": False,
                "marker": {
                    "size": 12 + 28 * (q["calls"] / biggest) ** 0.5,
                    "color": colors.get(q["model"], MUTED),
                },
                "hovertemplate": f"{q['model']}<br>$%{{x:.6f}} per call<br>quality %{{y:.3f}}"
                f"<br>{q['calls']} calls<extra></extra>",
            }
            for q in rows
        ],
        "layout": _layout(
            hovermode="closest",
            showlegend=False,
            margin={"l": 56, "r": 24, "t": 28, "b": 44},
            xaxis={
                "title": {"text": "cost per call (USD)"},
                "tickprefix": "$",
                "gridcolor": "#eef0f3",
                "rangemode": "tozero",
            },
            yaxis={"title": {"text": "mean quality"}, "gridcolor": "#eef0f3"},
        ),
    }


def whatif_figure(result) -> dict:
    """Current vs scenario cost by model, and the baseline for scale."""
    models = sorted({c.model for c in result.current} | {c.model for c in result.scenario})
    colors = model_colors(models)
    current = {c.model: c.cost_nanos for c in result.current}
    scenario = {c.model: c.cost_nanos for c in result.scenario}
    data = [
        {
            "type": "bar",
            "name": m,
            "x": ["current split", "scenario"],
            "y": [_usd(current.get(m, 0)), _usd(scenario.get(m, 0))],
            "marker": {"color": colors[m]},
            "hovertemplate": f"{m}: $%{{y:,.2f}}<extra></extra>",
        }
        for m in models
    ]
    data.append(
        {
            "type": "bar",
            "name": f"baseline: all {result.baseline_model}",
            "x": ["baseline"],
            "y": [_usd(result.baseline_nanos)],
            "marker": {"color": MUTED},
            "hovertemplate": "$%{y:,.2f}<extra></extra>",
        }
    )
    return {
        "data": data,
        "layout": _layout(
            barmode="stack", hovermode="closest", yaxis={"tickprefix": "$", "gridcolor": "#eef0f3"}
        ),
    }

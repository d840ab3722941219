"""Plotly figure builders for the customer and margin pages (plain figure JSON, no chart logic in templates).

Money reaches the chart as USD floats only here, for plotting; every number shown as text stays exact.
"""

from __future__ import annotations

from costlens.customers.selectors import MARGIN_BINS, MarginOverview, Series
from costlens.money import NANOS_PER_USD

GOOD = "#12805c"
BAD = "#c4320a"
ACCENT = "#3b5bdb"
MUTED = "#98a2b3"


def _usd(nanos: int) -> float:
    return nanos / NANOS_PER_USD


def revenue_cost_figure(series: Series) -> dict:
    margin = [r - c for r, c in zip(series.revenue_nanos, series.cost_nanos)]
    return {
        "data": [
            {
                "type": "bar",
                "name": "Margin",
                "x": series.buckets,
                "y": [_usd(m) for m in margin],
                "marker": {"color": [GOOD if m >= 0 else BAD for m in margin]},
                "opacity": 0.35,
                "hovertemplate": "%{x}<br>Margin $%{y:,.2f}<extra></extra>",
            },
            {
                "type": "scatter",
                "mode": "lines",
                "name": "Revenue",
                "x": series.buckets,
                "y": [_usd(v) for v in series.revenue_nanos],
                "line": {"color": GOOD, "width": 2},
                "hovertemplate": "%{x}<br>Revenue $%{y:,.2f}<extra></extra>",
            },
            {
                "type": "scatter",
                "mode": "lines",
                "name": "Cost",
                "x": series.buckets,
                "y": [_usd(v) for v in series.cost_nanos],
                "line": {"color": BAD, "width": 2},
                "hovertemplate": "%{x}<br>Cost $%{y:,.2f}<extra></extra>",
            },
        ],
        "layout": {
            "height": 300,
            "legend": {"orientation": "h", "y": 1.12},
            "yaxis": {"tickformat": "$,.2~f", "zeroline": True, "zerolinecolor": "#d0d5dd"},
            "xaxis": {"type": "date"},
            "bargap": 0.3,
        },
    }


def margin_histogram_figure(overview: MarginOverview) -> dict:
    """Customers per margin-% bin; losing bins red, earning bins green, no-revenue customers grey."""
    labels = ["no<br>revenue"] + [
        label.replace(" to ", "<br>to ").replace("below ", "below<br>") for label, _ in overview.histogram
    ]
    counts = [overview.no_revenue] + [count for _, count in overview.histogram]
    losing = sum(1 for edge in MARGIN_BINS if edge <= 0)  # bins below 0 %: "below −100 %" … "−25 % to 0 %"
    colors = [MUTED] + [BAD if i < losing else GOOD for i in range(len(overview.histogram))]
    return {
        "data": [
            {
                "type": "bar",
                "x": labels,
                "y": counts,
                "marker": {"color": colors},
                "hovertemplate": "%{x}: %{y} customers<extra></extra>",
            }
        ],
        "layout": {
            "height": 300,
            "margin": {"l": 40, "r": 10, "t": 10, "b": 60},
            "xaxis": {"type": "category", "tickangle": 0, "tickfont": {"size": 11}},
            "yaxis": {"title": {"text": "Customers"}, "rangemode": "tozero"},
        },
    }


def spend_by_figure(rows: list[dict], key: str, *, label_none: str) -> dict:
    """Horizontal bars of cost per value of `key` (feature, model)."""
    rows = [r for r in rows if r.get("events")]
    rows = sorted(rows, key=lambda r: float(r["cost_usd"]))[-12:]
    return {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "x": [float(r["cost_usd"]) for r in rows],
                "y": [r[key] or label_none for r in rows],
                "marker": {"color": ACCENT},
                "hovertemplate": "%{y}<br>$%{x:,.4f}<extra></extra>",
            }
        ],
        "layout": {
            "height": max(180, 36 * len(rows) + 60),
            "margin": {"l": 160, "r": 20, "t": 10, "b": 30},
            "xaxis": {"tickformat": "$,.2~f"},
            "yaxis": {"automargin": True},
        },
    }


def sparkline_svg_points(values: list[int], *, width: int = 120, height: int = 28) -> dict:
    """Polyline points for an inline SVG sparkline, and where zero sits (to draw the baseline)."""
    if not values:
        return {"points": "", "zero_y": None}
    lo, hi = min(*values, 0), max(*values, 0)
    span = (hi - lo) or 1
    step = width / max(len(values) - 1, 1)

    def y(v: int) -> float:
        return round(height - 2 - (v - lo) * (height - 4) / span, 1)

    points = " ".join(f"{round(i * step, 1)},{y(v)}" for i, v in enumerate(values))
    return {"points": points, "zero_y": y(0)}

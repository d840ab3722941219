"""Plotly figure builders for the dashboard pages: one builder per chart, fed by one selector's rows.

Each returns Plotly figure JSON (a dict); `embed()` serialises it for the
`<script type="application/json">` that static/js/charts.js renders. Money becomes float here only
for the chart axes; every number shown as text or exported stays an exact decimal string.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import plotly.graph_objects as go
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from plotly.utils import PlotlyJSONEncoder

from costlens.dashboard.tables import usd_float
from costlens.dashboard.templatetags.costlens_format import format_usd

# Calm, distinguishable; the first is the app's accent.
PALETTE = [
    "#3b5bdb",
    "#0ca678",
    "#f08c00",
    "#ae3ec9",
    "#1098ad",
    "#e8590c",
    "#5c940d",
    "#d6336c",
    "#495057",
    "#74c0fc",
]
OTHER = "other"
OTHER_COLOR = "#c1c7d0"
MAX_SERIES = 8
_JSON_ESCAPES = {ord(">"): "\\u003E", ord("<"): "\\u003C", ord("&"): "\\u0026"}


def embed(figure: dict) -> SafeString:
    """Figure JSON safe inside <script type="application/json"> (model names are client data)."""
    return mark_safe(json.dumps(figure, cls=PlotlyJSONEncoder).translate(_JSON_ESCAPES))  # noqa: S308


def _layout(**extra) -> dict:
    layout = {
        "height": 300,
        "margin": {"l": 60, "r": 16, "t": 10, "b": 40},
        "legend": {"orientation": "h", "y": -0.18},
        "hoverlabel": {"namelength": -1},
    }
    layout.update(extra)
    return layout


def _label(value: str | None) -> str:
    return value if value else "(none)"


def bucket_starts(start: datetime, end: datetime, granularity: str) -> list[datetime]:
    """Every hour or UTC day in [start, end), so empty buckets show as gaps of zero."""
    step = timedelta(hours=1) if granularity == "hour" else timedelta(days=1)
    cursor = start.astimezone(UTC)
    if granularity != "hour":
        cursor = cursor.replace(hour=0, minute=0, second=0, microsecond=0)
    out = []
    while cursor < end:
        out.append(cursor)
        cursor += step
    return out


def bucket_key(value: datetime, granularity: str) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if granularity == "hour" else value.strftime("%Y-%m-%d")


def spend_over_time_figure(
    rows: Sequence[dict], *, granularity: str, start: datetime, end: datetime, series_key: str = "model"
) -> dict:
    """Stacked bars of spend per hour/day, one series per model (the biggest ones; the rest as 'other').

    `rows` come from usage_report(group_by=[granularity, series_key]).
    """
    time_key = "hour" if granularity == "hour" else "day"
    buckets = [bucket_key(b, granularity) for b in bucket_starts(start, end, granularity)]
    totals: dict[str | None, float] = defaultdict(float)
    for row in rows:
        totals[row[series_key]] += usd_float(row["cost_usd"])
    ranked = sorted(totals, key=lambda k: (-totals[k], _label(k)))
    shown = set(ranked[:MAX_SERIES]) if len(ranked) > MAX_SERIES + 1 else set(ranked)
    values: dict[str, dict[str, float]] = defaultdict(lambda: dict.fromkeys(buckets, 0.0))
    for row in rows:
        name = _label(row[series_key]) if row[series_key] in shown else OTHER
        if row[time_key] in values[name]:
            values[name][row[time_key]] += usd_float(row["cost_usd"])
    order = [_label(k) for k in ranked if k in shown] + ([OTHER] if OTHER in values else [])
    fig = go.Figure(
        data=[
            go.Bar(
                name=name,
                x=buckets,
                y=[values[name][b] for b in buckets],
                marker_color=OTHER_COLOR if name == OTHER else PALETTE[i % len(PALETTE)],
                hovertemplate="%{x}<br>" + name.replace("%", "%%") + ": $%{y:,.4f}<extra></extra>",
            )
            for i, name in enumerate(order)
        ],
        layout=_layout(
            barmode="stack",
            bargap=0.15,
            xaxis={"type": "date"},
            yaxis={"tickprefix": "$", "tickformat": ",.2~f", "rangemode": "tozero"},
        ),
    )
    return fig.to_plotly_json()


def _cost_per_request_label(row: dict) -> str:
    """The bar's text: a model whose events are all unpriced cost $0 only because no price is known."""
    unpriced = row.get("unpriced_events") or 0
    if unpriced and unpriced >= (row.get("events") or 0):
        return "unpriced"
    text = format_usd(row["cost_per_request_usd"])
    return f"{text} + unpriced" if unpriced else text


def cost_per_request_figure(rows: Sequence[dict]) -> dict:
    """Horizontal bars: cost per request by model. `rows` carry `model` and `cost_per_request_usd`."""
    ranked = [r for r in rows if r.get("cost_per_request_usd") is not None]
    ranked.sort(key=lambda r: usd_float(r["cost_per_request_usd"]))
    fig = go.Figure(
        data=[
            go.Bar(
                orientation="h",
                x=[usd_float(r["cost_per_request_usd"]) for r in ranked],
                y=[_label(r["model"]) for r in ranked],
                text=[_cost_per_request_label(r) for r in ranked],
                textposition="outside",
                cliponaxis=False,
                marker_color=PALETTE[0],
                hovertemplate="%{y}: $%{x:,.6f} per request<extra></extra>",
            )
        ],
        layout=_layout(
            height=max(220, 40 + 28 * len(ranked)),
            margin={"l": 170, "r": 70, "t": 10, "b": 40},
            xaxis={"tickprefix": "$", "tickformat": ",.4~f", "rangemode": "tozero"},
            yaxis={"automargin": True},
            showlegend=False,
        ),
    )
    return fig.to_plotly_json()


def spend_by_model_figure(rows: Sequence[dict]) -> dict:
    """Bars of spend by model, largest first. `rows` come from usage_report(group_by=["model"])."""
    ranked = sorted(rows, key=lambda r: -usd_float(r["cost_usd"]))
    fig = go.Figure(
        data=[
            go.Bar(
                x=[_label(r["model"]) for r in ranked],
                y=[usd_float(r["cost_usd"]) for r in ranked],
                marker_color=[PALETTE[i % len(PALETTE)] for i in range(len(ranked))],
                hovertemplate="%{x}: $%{y:,.4f}<extra></extra>",
            )
        ],
        layout=_layout(
            yaxis={"tickprefix": "$", "tickformat": ",.2~f", "rangemode": "tozero"},
            xaxis={"automargin": True},
            showlegend=False,
        ),
    )
    return fig.to_plotly_json()


def sparkline_svg(values: Sequence[float], *, width: int = 120, height: int = 28) -> SafeString:
    """A tiny inline SVG line (one per table row; cheaper than a Plotly chart each)."""
    if not values:
        return mark_safe("")
    top = max(values) or 1.0
    step = width / max(1, len(values) - 1)
    points = " ".join(
        f"{i * step:.1f},{height - 2 - (v / top) * (height - 4):.1f}" for i, v in enumerate(values)
    )
    last_x = (len(values) - 1) * step
    last_y = height - 2 - (values[-1] / top) * (height - 4)
    return format_html(
        '<svg class="sparkline" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="trend">'
        '<polyline fill="none" stroke="#3b5bdb" stroke-width="1.5" points="{p}"/>'
        '<circle cx="{x}" cy="{y}" r="2" fill="#3b5bdb"/></svg>',
        w=width,
        h=height,
        p=points,
        x=f"{last_x:.1f}",
        y=f"{last_y:.1f}",
    )

"""Display formatting for dashboard numbers. Exact values stay in the title / data-exact attribute."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django import template
from django.utils import timezone
from django.utils.html import format_html

from costlens import display
from costlens.display import DASH
from costlens.display import usd as format_usd  # the readable text of a money cell (charts use it too)

register = template.Library()


@register.filter
def usd(value) -> str:
    """'$4,500.00' with the exact decimal string in the title."""
    if value is None or value == "":
        return DASH
    negative = display.is_negative(value)
    return format_html(
        '<span class="money{}" title="${}" data-exact="{}">{}</span>',
        " neg" if negative else "",
        value,
        value,
        format_usd(value),
    )


register.filter("num", display.thousands)
register.filter("rate", display.rate)
register.filter("pct", display.pct)


@register.filter
def ms(value) -> str:
    if value is None:
        return DASH
    return f"{float(value):,.0f} ms"


@register.filter
def score(value) -> str:
    if value is None:
        return DASH
    return f"{float(value):.2f}"


@register.filter
def ago(value: datetime | None) -> str:
    """'12 s ago', '4 min ago', '3 h ago' (how fresh the rollups are)."""
    if value is None:
        return "not rolled up yet"
    seconds = max(0, int((timezone.now() - value).total_seconds()))
    if seconds < 90:
        return f"{seconds} s ago"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min ago"
    if seconds < 48 * 3600:
        return f"{round(seconds / 3600)} h ago"
    return f"{round(seconds / 86400)} days ago"


@register.filter
def price(value) -> str:
    """A per-1M-token price: '$3.00', '$0.075' (exact, trailing zeros trimmed)."""
    if value is None or value == "":
        return DASH
    whole, _, frac = format(Decimal(str(value)), "f").partition(".")
    return f"${whole}.{frac.rstrip('0').ljust(2, '0')}"


@register.filter
def get(mapping, key):
    return mapping.get(key) if mapping else None


@register.filter
def tokens(value) -> str:
    """A token count, compact ('35.6M') with the exact count in the title and data-exact."""
    if value is None or value == "":
        return DASH
    exact = display.thousands(value)
    shown = display.compact(value)
    if shown == exact:
        return exact
    return format_html('<span title="{}" data-exact="{}">{}</span>', exact, int(value), shown)


FORMATTERS = {
    "tokens": tokens,
    "price": price,
    "usd": usd,
    "int": display.thousands,
    "rate": display.rate,
    "pct": display.pct,
    "ms": ms,
    "score": score,
}


@register.simple_tag
def cell(row: dict, column) -> str:
    """One table cell, formatted by the column's kind."""
    value = row.get(column.key)
    formatter = FORMATTERS.get(column.kind)
    if formatter is not None:
        return formatter(value)
    if column.kind == "date":
        return format_html("{}", value.strftime("%Y-%m-%d %H:%M") if value else DASH)
    if column.kind == "bool":
        return "yes" if value else ""
    return format_html("{}", DASH if value is None or value == "" else value)

"""Display formatting for dashboard numbers. Exact values stay in the title / data-exact attribute."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal

from django import template
from django.utils import timezone
from django.utils.html import format_html

register = template.Library()
DASH = "—"


def format_usd(value) -> str:
    if value is None or value == "":
        return DASH
    amount = Decimal(str(value))
    sign = "-" if amount < 0 else ""
    amount = abs(amount)
    if amount == 0:
        text = "0.00"
    elif amount >= 1:
        text = f"{amount.quantize(Decimal('0.01'), rounding=ROUND_HALF_EVEN):,}"
    else:
        # Small amounts (cost per request) keep 4 significant digits rather than collapsing to $0.00.
        digits = min(9, max(2, -amount.adjusted() + 3))
        text = format(amount.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_EVEN), "f")
        whole, frac = text.split(".")
        text = f"{whole}.{frac.rstrip('0').ljust(2, '0')}"
    return f"{sign}${text}"


@register.filter
def usd(value) -> str:
    """'$4,500.00' with the exact decimal string in the title."""
    if value is None or value == "":
        return DASH
    negative = str(value).startswith("-")
    return format_html(
        '<span class="money{}" title="${}" data-exact="{}">{}</span>',
        " neg" if negative else "",
        value,
        value,
        format_usd(value),
    )


@register.filter
def num(value) -> str:
    if value is None or value == "":
        return DASH
    return f"{int(value):,}"


@register.filter
def rate(value) -> str:
    """A fraction (0.125) as a percent (12.5%)."""
    if value is None:
        return DASH
    return f"{100 * float(value):.1f}%"


@register.filter
def pct(value) -> str:
    """A value already in percent (37.5) as '37.5%'."""
    if value is None:
        return DASH
    return f"{float(value):.1f}%"


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


FORMATTERS = {"price": price, "usd": usd, "int": num, "rate": rate, "pct": pct, "ms": ms, "score": score}


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

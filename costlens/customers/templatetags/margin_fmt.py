"""Money and rate formatting for people. Exact values stay in the CSV/API; pages round for reading."""

from decimal import Decimal, InvalidOperation

from django import template

from costlens.money import NANOS_PER_USD

register = template.Library()


def _decimal(value) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, int):
        return Decimal(value) / NANOS_PER_USD
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


@register.filter
def usd(value) -> str:
    """Nano-USD int or a decimal string → "$1,234.57", "−$12.30", "$0.0042"."""
    amount = _decimal(value)
    if amount is None:
        return "—"
    sign = "−" if amount < 0 else ""
    amount = abs(amount)
    if amount == 0 or amount >= 1:
        return f"{sign}${amount:,.2f}"
    if amount >= Decimal("0.01"):
        return f"{sign}${amount:.4f}"
    return f"{sign}${amount:.6f}"


@register.filter
def pct(value, digits: int = 1) -> str:
    """A percent number (37.5) → "37.5%"; None → "—"."""
    if value is None or value == "":
        return "—"
    return f"{float(value):.{int(digits)}f}%".replace("-", "−")


@register.filter
def rate(value, digits: int = 1) -> str:
    """A fraction (0.125) → "12.5%"; None → "—"."""
    if value is None or value == "":
        return "—"
    return f"{float(value) * 100:.{int(digits)}f}%"


@register.filter
def negative(value) -> bool:
    amount = _decimal(value)
    return amount is not None and amount < 0


@register.filter
def thousands(value) -> str:
    if value is None:
        return "—"
    return f"{int(value):,}"

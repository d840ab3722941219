"""Display filters for route pages. Money arrives as int nano-USD (or an exact decimal string)."""

from decimal import Decimal
from fractions import Fraction

from django import template

from costlens import display

register = template.Library()


register.filter("usd", display.usd)
register.filter("usd_unit", display.usd_unit)
register.filter("usd_exact", display.usd_exact)
register.filter("rate", display.rate)
register.filter("percent", display.pct)


@register.filter
def score(value) -> str:
    if value is None or value == "":
        return "—"
    return f"{float(value):.3f}"


@register.filter
def share_pct(value) -> str:
    """An exact Fraction (or Decimal/float) share as a percent with up to 2 decimals."""
    if value is None:
        return "—"
    if isinstance(value, Fraction):
        value = Decimal(value.numerator) / Decimal(value.denominator)
    text = f"{Decimal(value) * 100:.2f}".rstrip("0").rstrip(".")
    return f"{text}%"


@register.filter
def signed_rate(value, digits: int = 1) -> str:
    """A difference of fractions in percentage points: +1.2 pp."""
    if value is None:
        return "—"
    return f"{float(value) * 100:+.{int(digits)}f} pp"


@register.filter
def signed(value, digits: int = 3) -> str:
    if value is None or value == "":
        return "—"
    return f"{float(value):+.{int(digits)}f}"


@register.filter
def tokens(value) -> str:
    if value is None:
        return "—"
    value = int(value)
    for unit, size in (("B", 10**9), ("M", 10**6), ("k", 10**3)):
        if abs(value) >= size:
            return f"{value / size:.2f}{unit}"
    return str(value)


@register.filter
def get(mapping, key):
    return mapping.get(key) if mapping else None

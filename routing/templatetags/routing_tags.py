"""Display filters for route pages. Money arrives as int nano-USD (or an exact decimal string)."""

from decimal import Decimal
from fractions import Fraction

from django import template

register = template.Library()


def _nanos(value) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return int(Decimal(value).scaleb(9))
    return int(value)


@register.filter
def usd(value) -> str:
    """Readable dollars: cents from $1 up, four decimals below (six below $0.0001)."""
    nanos = _nanos(value)
    if nanos is None:
        return "—"
    amount = Decimal(nanos).scaleb(-9)
    sign = "−" if amount < 0 else ""
    amount = abs(amount)
    if amount >= 1 or amount == 0:
        return f"{sign}${amount:,.2f}"
    if amount >= Decimal("0.0001"):
        return f"{sign}${amount:.4f}"
    return f"{sign}${amount:.6f}"


@register.filter
def usd_unit(value) -> str:
    """Per-request / per-call costs: always six decimals, so a column lines up."""
    nanos = _nanos(value)
    if nanos is None:
        return "—"
    amount = Decimal(nanos).scaleb(-9)
    return f"{'−' if amount < 0 else ''}${abs(amount):,.6f}"


@register.filter
def usd_exact(value) -> str:
    """Exact to the nano-USD, grouped: $4,500.000000000."""
    nanos = _nanos(value)
    if nanos is None:
        return "—"
    sign = "−" if nanos < 0 else ""
    whole, frac = divmod(abs(nanos), 10**9)
    return f"{sign}${whole:,}.{frac:09d}"


@register.filter
def rate(value, digits: int = 1) -> str:
    """A fraction as a percent: 0.1234 → 12.3%."""
    if value is None or value == "":
        return "—"
    return f"{float(value) * 100:.{int(digits)}f}%"


@register.filter
def percent(value, digits: int = 1) -> str:
    """A number already in percent: 37.5 → 37.5%."""
    if value is None or value == "":
        return "—"
    return f"{float(value):.{int(digits)}f}%"


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

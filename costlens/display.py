"""How numbers read on pages and in emails: one set of rules for every app.

Pages round for reading; the exact values stay in the API, the CSV exports and the `title` of a
money cell. Money arrives as int nano-USD or as an exact decimal string (API.md §2).
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from costlens.money import NANOS_PER_USD

DASH = "—"
MINUS = "−"  # typographic minus: lines up with the digits, unlike "-"


def usd_decimal(value) -> Decimal | None:
    """An int of nano-USD, a Decimal or a decimal string as dollars; None for nothing or junk."""
    if value is None or value == "":
        return None
    if isinstance(value, int):
        return Decimal(value) / NANOS_PER_USD
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def usd(value) -> str:
    """ "$4,500.00" from $1 up; below, 4 significant digits (2 to 9 decimals) so a cost per request
    of $0.000000012 does not read as $0.00; half-even; "−$12.34"; "—" for nothing."""
    amount = usd_decimal(value)
    if amount is None:
        return DASH
    sign = MINUS if amount < 0 else ""
    amount = abs(amount)
    if amount == 0:
        text = "0.00"
    elif amount >= 1:
        text = f"{amount.quantize(Decimal('0.01'), rounding=ROUND_HALF_EVEN):,}"
    else:
        digits = min(9, max(2, -amount.adjusted() + 3))
        text = format(amount.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_EVEN), "f")
        whole, frac = text.split(".")
        text = f"{whole}.{frac.rstrip('0').ljust(2, '0')}"
    return f"{sign}${text}"


def usd_unit(value) -> str:
    """Per-request / per-call costs: always six decimals, so a column lines up."""
    amount = usd_decimal(value)
    if amount is None:
        return DASH
    return f"{MINUS if amount < 0 else ''}${abs(amount):,.6f}"


def usd_exact(value) -> str:
    """Exact to the nano-USD, grouped: $4,500.000000000."""
    amount = usd_decimal(value)
    if amount is None:
        return DASH
    nanos = int(amount.scaleb(9))
    whole, frac = divmod(abs(nanos), NANOS_PER_USD)
    return f"{MINUS if nanos < 0 else ''}${whole:,}.{frac:09d}"


def is_negative(value) -> bool:
    amount = usd_decimal(value)
    return amount is not None and amount < 0


def rate(value, digits: int = 1) -> str:
    """A fraction as a percent: 0.1234 → "12.3%"."""
    if value is None or value == "":
        return DASH
    return f"{float(value) * 100:.{int(digits)}f}%".replace("-", MINUS)


def pct(value, digits: int = 1) -> str:
    """A number already in percent: 37.5 → "37.5%"."""
    if value is None or value == "":
        return DASH
    return f"{float(value):.{int(digits)}f}%".replace("-", MINUS)


def thousands(value) -> str:
    if value is None or value == "":
        return DASH
    return f"{int(value):,}"


def compact(value) -> str:
    """A count for a wide table: 35,603,934 → "35.6M", 887,404 → "887.4K", below 10,000 in full."""
    if value is None or value == "":
        return DASH
    n = int(value)
    for at_least, unit, suffix in ((10**9, 10**9, "B"), (10**6, 10**6, "M"), (10**4, 10**3, "K")):
        if abs(n) >= at_least:
            return f"{n / unit:,.1f}{suffix}"
    return f"{n:,}"

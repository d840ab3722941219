"""Money is integer nano-USD inside and a decimal string at the edges. Never float."""

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation, localcontext

NANOS_PER_USD = 1_000_000_000
_NANO = Decimal("0.000000001")


def round_half_even_div(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half-to-even, exact for any non-negative ints."""
    quotient, remainder = divmod(numerator, denominator)
    twice = 2 * remainder
    if twice > denominator or (twice == denominator and quotient % 2 == 1):
        quotient += 1
    return quotient


def usd_to_nanos(value: Decimal) -> int:
    """A USD amount rounded half-even to whole nano-USD."""
    with localcontext() as ctx:
        ctx.prec = 60
        return int((value * NANOS_PER_USD).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def nanos_to_str(nanos: int | None) -> str | None:
    """4500000000000 -> "4500.000000000" (exact, 9 fractional digits)."""
    if nanos is None:
        return None
    nanos = int(nanos)
    # '%' of the divmod tuple: one C call (a report formats tens of thousands of these).
    if nanos >= 0:
        return "%d.%09d" % divmod(nanos, NANOS_PER_USD)  # noqa: UP031
    return "-%d.%09d" % divmod(-nanos, NANOS_PER_USD)  # noqa: UP031


def nanos_to_decimal(nanos: int) -> Decimal:
    return (Decimal(int(nanos)) * _NANO).quantize(_NANO)


def parse_usd(value: object) -> Decimal:
    """A decimal string or JSON number as an exact Decimal; raises ValueError when it is not one.

    JSON numbers arrive as float from the parser; their shortest repr is the literal the client
    wrote, so Decimal(repr(x)) recovers it without binary error.
    """
    if isinstance(value, bool):
        raise ValueError("must be a decimal string or number")
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("must be a finite number")
        text = repr(value)
    elif isinstance(value, int | str):
        text = str(value).strip()
    else:
        raise ValueError("must be a decimal string or number")
    if len(text) > 40:
        raise ValueError("is too long for an amount")
    try:
        amount = Decimal(text)
    except InvalidOperation as exc:
        raise ValueError("must be a decimal string or number") from exc
    if not amount.is_finite():
        raise ValueError("must be a finite number")
    return amount

"""Recurring revenue prorated by time (API.md §3): every split of a period adds up to its amount."""

from datetime import datetime

from costlens.money import round_half_even_div


def _micros(delta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def cumulative_nanos(amount_nanos: int, period_start: datetime, period_end: datetime, t: datetime) -> int:
    """R(t) = round_half_even(A · clamp(t − p_start, 0, P) / P)."""
    period = _micros(period_end - period_start)
    if period <= 0:
        return amount_nanos if t >= period_end else 0
    elapsed = min(max(_micros(t - period_start), 0), period)
    sign = -1 if amount_nanos < 0 else 1
    return sign * round_half_even_div(abs(amount_nanos) * elapsed, period)


def prorated_nanos(
    amount_nanos: int, period_start: datetime, period_end: datetime, start: datetime, end: datetime
) -> int:
    """The share of the entry that falls in the window [start, end)."""
    return cumulative_nanos(amount_nanos, period_start, period_end, end) - cumulative_nanos(
        amount_nanos, period_start, period_end, start
    )

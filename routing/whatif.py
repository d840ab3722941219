"""What-if: re-price a route's actual token volumes under another split or another catalog date.

Pure arithmetic on token volumes (so 1,000,000 requests are priced exactly, without events):
a scenario sends share s_m of the total volume to model m, and costs Σ_m s_m · price_m(volume),
computed with exact fractions and rounded half-even to nano-USD once per model (API.md §2).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from fractions import Fraction

from costlens.money import round_half_even_div
from costlens.pricing.cost import Price, PriceBook
from routing.selectors import ModelVolume, TokenVolume

_COST_DIVISOR = 10**9  # tokens × (USD per 1M tokens × 1e12) / 1e9 = nano-USD


class WhatIfError(ValueError):
    pass


def _numerator(price: Price, tokens: TokenVolume) -> int:
    return (
        tokens.input_uncached * price.input
        + tokens.cache_read * price.cache_read
        + tokens.cache_write * price.cache_write
        + tokens.output_non_reasoning * price.output
        + tokens.reasoning * price.reasoning
    )


def cost_of(price: Price, tokens: TokenVolume, share: Fraction = Fraction(1)) -> int:
    """Exact nano-USD of `share` of `tokens` at `price`, rounded half-even once."""
    exact = share * _numerator(price, tokens)
    return round_half_even_div(exact.numerator, exact.denominator * _COST_DIVISOR)


def shares_from_weights(weights: dict[str, Decimal]) -> dict[str, Fraction]:
    """Non-negative weights (percentages, ratios) to exact fractions of their total."""
    clean = {m: Fraction(w) for m, w in weights.items() if w > 0}
    total = sum(clean.values(), Fraction(0))
    if total == 0:
        raise WhatIfError("Give at least one model a share above 0.")
    return {m: w / total for m, w in clean.items()}


@dataclass
class ModelCost:
    model: str
    share: Fraction
    cost_nanos: int


@dataclass
class WhatIfResult:
    priced_at: datetime
    tokens: TokenVolume
    baseline_model: str
    baseline_nanos: int
    current: list[ModelCost] = field(default_factory=list)
    scenario: list[ModelCost] = field(default_factory=list)

    @property
    def current_nanos(self) -> int:
        return sum(c.cost_nanos for c in self.current)

    @property
    def scenario_nanos(self) -> int:
        return sum(c.cost_nanos for c in self.scenario)

    @property
    def difference_nanos(self) -> int:
        return self.scenario_nanos - self.current_nanos

    def by_model(self) -> list[dict]:
        current = {c.model: c for c in self.current}
        scenario = {c.model: c for c in self.scenario}
        models = sorted(set(current) | set(scenario), key=lambda m: (m not in current, m))
        return [{"model": m, "current": current.get(m), "scenario": scenario.get(m)} for m in models]

    @property
    def current_savings_nanos(self) -> int:
        return self.baseline_nanos - self.current_nanos

    @property
    def scenario_savings_nanos(self) -> int:
        return self.baseline_nanos - self.scenario_nanos


def _price(book: PriceBook, model: str, at: datetime) -> Price:
    price = book.price_at(model, at)
    if price is None:
        raise WhatIfError(
            f"{model} has no price on {at:%Y-%m-%d}; add it under Prices or pick another model."
        )
    return price


def whatif_price(
    *,
    volumes: list[ModelVolume],
    shares: dict[str, Fraction],
    baseline_model: str,
    book: PriceBook,
    at: datetime,
) -> WhatIfResult:
    """Current split and scenario split of the same token volumes, both at the catalog in force at `at`."""
    total = TokenVolume()
    for v in volumes:
        total = total + v.tokens
    calls = sum(v.calls for v in volumes)
    current = [ModelCost(v.model, Fraction(v.calls, calls) if calls else Fraction(0), 0) for v in volumes]
    for cost, volume in zip(current, volumes, strict=True):
        cost.cost_nanos = cost_of(_price(book, volume.model, at), volume.tokens)
    scenario = [
        ModelCost(model, share, cost_of(_price(book, model, at), total, share))
        for model, share in sorted(shares.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    return WhatIfResult(
        priced_at=at,
        tokens=total,
        baseline_model=baseline_model,
        baseline_nanos=cost_of(_price(book, baseline_model, at), total),
        current=current,
        scenario=scenario,
    )

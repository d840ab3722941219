"""Event cost, exactly (API.md §2), and the per-request price book that finds the price in force."""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from costlens.money import round_half_even_div

# Prices are held as integers in units of 1e-12 USD per 1M tokens, so cost is integer math:
# cost_usd = Σ tokens·p/1e6  →  cost_nanos = Σ tokens·p·1e3 = Σ tokens·P12 / 1e9.
PRICE_SCALE = 10**12
_COST_DIVISOR = 10**9


def scale_price(per_mtok: Decimal) -> int:
    scaled = per_mtok * PRICE_SCALE
    if scaled != scaled.to_integral_value():
        raise ValueError(f"price {per_mtok} has more than 12 decimal places per 1M tokens")
    return int(scaled)


@dataclass(frozen=True, slots=True)
class Price:
    """USD per 1M tokens, scaled by PRICE_SCALE; fallbacks already applied."""

    input: int
    output: int
    cache_read: int
    cache_write: int
    reasoning: int

    @classmethod
    def from_decimals(
        cls,
        *,
        input_per_mtok: Decimal,
        output_per_mtok: Decimal,
        cache_read_per_mtok: Decimal | None = None,
        cache_write_per_mtok: Decimal | None = None,
        reasoning_per_mtok: Decimal | None = None,
    ) -> Price:
        p_in = scale_price(input_per_mtok)
        p_out = scale_price(output_per_mtok)
        return cls(
            input=p_in,
            output=p_out,
            cache_read=p_in if cache_read_per_mtok is None else scale_price(cache_read_per_mtok),
            cache_write=p_in if cache_write_per_mtok is None else scale_price(cache_write_per_mtok),
            reasoning=p_out if reasoning_per_mtok is None else scale_price(reasoning_per_mtok),
        )

    def discounted(self, discount_pct: Decimal) -> Price:
        factor = (Decimal(100) - discount_pct) / Decimal(100)

        def apply(v: int) -> int:
            return int((Decimal(v) * factor).to_integral_value())

        return Price(
            *(apply(v) for v in (self.input, self.output, self.cache_read, self.cache_write, self.reasoning))
        )


def cost_nanos(
    price: Price,
    input_tokens: int,
    output_tokens: int,
    cache_read_tokens: int = 0,
    cache_write_tokens: int = 0,
    reasoning_tokens: int = 0,
) -> int:
    """The exact cost in nano-USD, rounded half-even once, at the end."""
    uncached_in = input_tokens - cache_read_tokens - cache_write_tokens
    numerator = (
        uncached_in * price.input
        + cache_read_tokens * price.cache_read
        + cache_write_tokens * price.cache_write
        + (output_tokens - reasoning_tokens) * price.output
        + reasoning_tokens * price.reasoning
    )
    return round_half_even_div(numerator, _COST_DIVISOR)


class PriceBook:
    """Every price an organization can see, loaded once (per request, per reprice run).

    `price_at(model, ts)` returns the org override in force at `ts` if there is one, else the
    catalog row in force (latest effective_from ≤ ts), else None (unpriced).
    """

    def __init__(
        self,
        catalog: dict[str, list[tuple[datetime, Price]]],
        overrides: dict[str, list[tuple[datetime, Price | None, Decimal | None]]],
        aliases: dict[str, str],
        providers: dict[str, str],
    ):
        self._catalog = catalog
        self._overrides = overrides
        self.aliases = aliases
        self.providers = providers
        self._catalog_keys = {m: [row[0] for row in rows] for m, rows in catalog.items()}
        self._override_keys = {m: [row[0] for row in rows] for m, rows in overrides.items()}

    def catalog_price_at(self, model: str, ts: datetime) -> Price | None:
        rows = self._catalog.get(model)
        if not rows:
            return None
        i = bisect.bisect_right(self._catalog_keys[model], ts) - 1
        return rows[i][1] if i >= 0 else None

    def price_at(self, model: str, ts: datetime) -> Price | None:
        rows = self._overrides.get(model)
        if rows:
            i = bisect.bisect_right(self._override_keys[model], ts) - 1
            if i >= 0:
                _, explicit, discount = rows[i]
                if explicit is not None:
                    return explicit
                base = self.catalog_price_at(model, ts)
                return base.discounted(discount) if base is not None and discount is not None else base
        return self.catalog_price_at(model, ts)

    def price_span(self, model: str, ts: datetime) -> tuple[Price | None, datetime | None, datetime | None]:
        """`price_at(model, ts)` and the half-open span [lo, hi) around `ts` where it stays the same
        (None: unbounded), so a caller pricing many events of one model can reuse it."""
        lo = hi = None
        for keys in (self._override_keys.get(model), self._catalog_keys.get(model)):
            if keys:
                i = bisect.bisect_right(keys, ts)
                if i > 0 and (lo is None or keys[i - 1] > lo):
                    lo = keys[i - 1]
                if i < len(keys) and (hi is None or keys[i] < hi):
                    hi = keys[i]
        return self.price_at(model, ts), lo, hi

    def knows(self, model: str) -> bool:
        return model in self._catalog or model in self._overrides

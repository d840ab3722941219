"""PriceBook.price_span: ingest reuses a price while events fall in its span; it must be the
span over which price_at really does not change (catalog changes and org overrides included)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from costlens.pricing.cost import Price, PriceBook


def _p(n: int) -> Price:
    return Price.from_decimals(input_per_mtok=Decimal(n), output_per_mtok=Decimal(n * 2))


T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _book() -> PriceBook:
    catalog = {
        "m": [(T0, _p(1)), (T0 + timedelta(days=10), _p(2)), (T0 + timedelta(days=20), _p(3))],
        "only-catalog": [(T0 + timedelta(days=5), _p(7))],
    }
    overrides = {
        # an explicit price from day 4, then a 50% discount on the catalog from day 15
        "m": [
            (T0 + timedelta(days=4), _p(9), None),
            (T0 + timedelta(days=15), None, Decimal(50)),
        ],
    }
    return PriceBook(catalog, overrides, aliases={}, providers={})


def test_price_at_is_constant_over_every_span_and_the_span_holds_the_time():
    book = _book()
    times = [T0 + timedelta(hours=h) for h in range(-48, 30 * 24, 7)]
    for model in ("m", "only-catalog", "unknown"):
        for ts in times:
            price, lo, hi = book.price_span(model, ts)
            assert price == book.price_at(model, ts)
            assert (lo is None or lo <= ts) and (hi is None or ts < hi)
            inside = [t for t in times if (lo is None or lo <= t) and (hi is None or t < hi)]
            assert {book.price_at(model, t) for t in inside} == {price}


def test_spans_end_where_the_catalog_or_the_override_changes():
    book = _book()
    assert book.price_span("m", T0 + timedelta(days=12))[1:] == (
        T0 + timedelta(days=10),
        T0 + timedelta(days=15),
    )
    assert book.price_span("m", T0 + timedelta(days=1))[1:] == (T0, T0 + timedelta(days=4))
    assert book.price_span("only-catalog", T0) == (None, None, T0 + timedelta(days=5))
    assert book.price_span("unknown", T0) == (None, None, None)

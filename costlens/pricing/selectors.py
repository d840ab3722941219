from collections import defaultdict

from costlens.accounts.models import Organization
from costlens.pricing.cost import Price, PriceBook
from costlens.pricing.models import ModelAlias, ModelPrice, OrgPriceOverride
from costlens.pricing.normalize import normalize_model


def price_book_for(org: Organization) -> PriceBook:
    catalog: dict = defaultdict(list)
    providers: dict[str, str] = {}
    for row in ModelPrice.objects.order_by("model", "effective_from"):
        catalog[row.model].append(
            (
                row.effective_from,
                Price.from_decimals(
                    input_per_mtok=row.input_per_mtok,
                    output_per_mtok=row.output_per_mtok,
                    cache_read_per_mtok=row.cache_read_per_mtok,
                    cache_write_per_mtok=row.cache_write_per_mtok,
                    reasoning_per_mtok=row.reasoning_per_mtok,
                ),
            )
        )
        if row.provider:
            providers[row.model] = row.provider
    overrides: dict = defaultdict(list)
    for o in OrgPriceOverride.objects.filter(org=org).order_by("model", "effective_from"):
        explicit = None
        if o.input_per_mtok is not None and o.output_per_mtok is not None:
            explicit = Price.from_decimals(
                input_per_mtok=o.input_per_mtok,
                output_per_mtok=o.output_per_mtok,
                cache_read_per_mtok=o.cache_read_per_mtok,
                cache_write_per_mtok=o.cache_write_per_mtok,
                reasoning_per_mtok=o.reasoning_per_mtok,
            )
        overrides[o.model].append((o.effective_from, explicit, o.discount_pct))
    aliases = dict(ModelAlias.objects.values_list("alias", "model"))
    return PriceBook(dict(catalog), dict(overrides), aliases, providers)


def normalized_model_name(org: Organization, raw: str) -> str:
    return normalize_model(raw, dict(ModelAlias.objects.values_list("alias", "model")))


def unpriced_models(org: Organization, *, limit: int = 100) -> list[dict]:
    """Models seen in events with no price in force, with their volume (API.md §2)."""
    from django.db.models import Count, Max, Min, Sum

    from costlens.usage.models import Event

    rows = (
        Event.objects.filter(org=org, unpriced=True)
        .values("model")
        .annotate(
            events=Count("id"),
            input_tokens=Sum("input_tokens"),
            output_tokens=Sum("output_tokens"),
            first_seen=Min("timestamp"),
            last_seen=Max("timestamp"),
        )
        .order_by("-events", "model")[:limit]
    )
    return list(rows)

from collections import defaultdict
from datetime import datetime

from django.db.models import Q, QuerySet

from costlens.accounts.models import Organization
from costlens.pricing.cost import Price, PriceBook
from costlens.pricing.models import ModelAlias, ModelPrice, OrgPriceOverride
from costlens.pricing.normalize import canonical_model, normalize_model


def alias_table() -> dict[str, str]:
    """ModelAlias rows keyed by both the raw spelling (lower-cased) and its canonical form.

    Aliases are global (like the catalog); targets are normalised so an alias can be written
    the way people say it (`my-deploy` -> `GPT-4o`).
    """
    table: dict[str, str] = {}
    for alias, target in ModelAlias.objects.values_list("alias", "model"):
        resolved = normalize_model(target)
        table[alias.strip().lower()] = resolved
        table.setdefault(canonical_model(alias), resolved)
    return table


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
    return PriceBook(dict(catalog), dict(overrides), alias_table(), providers)


def normalized_model_name(org: Organization, raw: str) -> str:
    return normalize_model(raw, alias_table())


def catalog_prices(org: Organization, *, model: str | None = None) -> list[ModelPrice]:
    """The global catalog (the same for every org), optionally one model's rows, oldest first."""
    rows = ModelPrice.objects.order_by("model", "effective_from")
    return list(rows.filter(model=model) if model else rows)


def price_overrides(org: Organization, *, model: str | None = None) -> list[OrgPriceOverride]:
    rows = OrgPriceOverride.objects.filter(org=org).order_by("model", "effective_from")
    return list(rows.filter(model=model) if model else rows)


def priced_model_names(org: Organization) -> list[str]:
    """Every model with a price for this org (the catalog's and its overrides'), sorted."""
    catalog = ModelPrice.objects.values_list("model", flat=True).distinct()
    overrides = OrgPriceOverride.objects.filter(org=org).values_list("model", flat=True).distinct()
    return sorted(set(catalog) | set(overrides))


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


def reprice_candidates(
    org: Organization, *, model: str | None = None, since: datetime | None = None
) -> QuerySet:
    """The org's events a `reprice --model M --since T` run looks at.

    `model` matches events stored under its normalised name, under the name it normalises to
    without aliases (events stored before an alias was added) or sent with exactly that raw name.
    `since` is event time, inclusive.
    """
    from costlens.usage.models import Event

    events = Event.objects.filter(org=org)
    if model:
        spellings = {normalize_model(model, alias_table()), canonical_model(model), model.strip().lower()}
        events = events.filter(Q(model__in=spellings) | Q(model_raw=model))
    if since is not None:
        events = events.filter(timestamp__gte=since)
    return events

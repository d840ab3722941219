"""HTTP API for prices (API.md §4): the catalog, the org's own overrides, unpriced models.

Prices are decimal strings in USD per 1M tokens; a null cache/reasoning price falls back to the
input/input/output price (API.md §2). Overrides are the key's org's only.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from itertools import groupby

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from costlens.pricing.models import ModelPrice, OrgPriceOverride
from costlens.pricing.normalize import normalize_model
from costlens.pricing.selectors import (
    alias_table,
    catalog_prices,
    price_overrides,
    unpriced_models,
)
from costlens.pricing.services import PRICE_COLUMNS, parse_effective_from, price_override_create
from costlens.usage.selectors import rfc3339


def price_str(value: Decimal | None) -> str | None:
    """Exact, without trailing zeros beyond the cents: 3 -> "3.00", 0.000125 -> "0.000125"."""
    if value is None:
        return None
    text = format(value.normalize(), "f")
    whole, _, frac = text.partition(".")
    return f"{whole}.{frac.ljust(2, '0')}"


def _current_ids(rows: list, now: datetime) -> set[int]:
    """The row of each model in force now (latest effective_from ≤ now)."""
    current = set()
    for _, history in groupby(rows, key=lambda r: r.model):
        started = [r for r in history if r.effective_from <= now]
        if started:
            current.add(started[-1].pk)
    return current


def catalog_json(p: ModelPrice, current: bool) -> dict:
    return {
        "model": p.model,
        "provider": p.provider or None,
        "effective_from": rfc3339(p.effective_from),
        **{c: price_str(getattr(p, c)) for c in PRICE_COLUMNS},
        "source": p.source,
        "current": current,
    }


def override_json(o: OrgPriceOverride, current: bool) -> dict:
    return {
        "id": o.pk,
        "model": o.model,
        "effective_from": rfc3339(o.effective_from),
        **{c: price_str(getattr(o, c)) for c in PRICE_COLUMNS},
        "discount_pct": price_str(o.discount_pct),
        "note": o.note,
        "current": current,
        "created_at": rfc3339(o.created_at),
    }


@extend_schema_field(OpenApiTypes.DATETIME)
class _RFC3339OrDate(serializers.Field):
    default_error_messages = {"invalid": "must be an RFC 3339 datetime or an ISO date (UTC)"}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        try:
            return parse_effective_from(data)
        except ValueError:
            self.fail("invalid")

    def to_representation(self, value):
        return rfc3339(value)


def _price_field(**kwargs):
    return serializers.DecimalField(
        max_digits=24, decimal_places=12, min_value=Decimal(0), required=False, allow_null=True, **kwargs
    )


class PriceOverrideInput(serializers.Serializer):
    model = serializers.CharField(max_length=200, help_text="Any spelling; stored normalised.")
    effective_from = _RFC3339OrDate(
        required=False, help_text="When the override starts (event time). Default: now."
    )
    input_per_mtok = _price_field(help_text="USD per 1M input tokens (explicit prices).")
    output_per_mtok = _price_field(help_text="USD per 1M output tokens (explicit prices).")
    cache_read_per_mtok = _price_field(help_text="Default: input_per_mtok.")
    cache_write_per_mtok = _price_field(help_text="Default: input_per_mtok.")
    reasoning_per_mtok = _price_field(help_text="Default: output_per_mtok.")
    discount_pct = serializers.DecimalField(
        max_digits=7,
        decimal_places=4,
        min_value=Decimal(0),
        max_value=Decimal(100),
        required=False,
        allow_null=True,
        help_text="Percent off every component of the catalog price in force (instead of prices).",
    )
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")

    def validate(self, attrs):
        unknown = sorted(set(self.initial_data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({k: ["unknown field"] for k in unknown})
        return attrs


class CatalogPriceOutput(serializers.Serializer):
    model = serializers.CharField()
    provider = serializers.CharField(allow_null=True)
    effective_from = serializers.DateTimeField()
    input_per_mtok = serializers.CharField()
    output_per_mtok = serializers.CharField()
    cache_read_per_mtok = serializers.CharField(allow_null=True)
    cache_write_per_mtok = serializers.CharField(allow_null=True)
    reasoning_per_mtok = serializers.CharField(allow_null=True)
    source = serializers.CharField()
    current = serializers.BooleanField(help_text="The row in force now for this model.")


class PriceOverrideOutput(serializers.Serializer):
    id = serializers.IntegerField()
    model = serializers.CharField()
    effective_from = serializers.DateTimeField()
    input_per_mtok = serializers.CharField(allow_null=True)
    output_per_mtok = serializers.CharField(allow_null=True)
    cache_read_per_mtok = serializers.CharField(allow_null=True)
    cache_write_per_mtok = serializers.CharField(allow_null=True)
    reasoning_per_mtok = serializers.CharField(allow_null=True)
    discount_pct = serializers.CharField(allow_null=True)
    note = serializers.CharField()
    current = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class PriceListOutput(serializers.Serializer):
    catalog = CatalogPriceOutput(many=True)
    overrides = PriceOverrideOutput(many=True)


class UnpricedModelOutput(serializers.Serializer):
    model = serializers.CharField()
    events = serializers.IntegerField()
    input_tokens = serializers.IntegerField()
    output_tokens = serializers.IntegerField()
    first_seen = serializers.DateTimeField()
    last_seen = serializers.DateTimeField()


class UnpricedListOutput(serializers.Serializer):
    models = UnpricedModelOutput(many=True)


class PricesView(APIView):
    @extend_schema(
        operation_id="prices_list",
        summary="List prices: the catalog and your organization's overrides",
        description=(
            "Prices are exact decimal strings in USD per 1M tokens; a null cache/reasoning price "
            "falls back to the input/input/output price. The price applied to an event is your "
            "override in force at the event's timestamp, else the catalog row in force then."
        ),
        parameters=[OpenApiParameter("model", str, description="Only this model (any spelling).")],
        responses={200: PriceListOutput},
    )
    def get(self, request):
        model = request.query_params.get("model")
        name = normalize_model(model, alias_table()) if model else None
        now = timezone.now()
        catalog = catalog_prices(request.org, model=name)
        overrides = price_overrides(request.org, model=name)
        current_catalog = _current_ids(catalog, now)
        current_overrides = _current_ids(overrides, now)
        return Response(
            {
                "catalog": [catalog_json(p, p.pk in current_catalog) for p in catalog],
                "overrides": [override_json(o, o.pk in current_overrides) for o in overrides],
            }
        )

    @extend_schema(
        operation_id="prices_override_create",
        summary="Create a price override for your organization",
        description=(
            "Either explicit prices (`input_per_mtok` and `output_per_mtok` required, cache and "
            "reasoning optional) or `discount_pct` off the catalog price in force — not both. "
            "Applies to events at or after `effective_from` (default: now). Events already stored "
            "keep their cost until `manage.py reprice`."
        ),
        request=PriceOverrideInput,
        responses={
            201: PriceOverrideOutput,
            400: OpenApiResponse(description="Field errors: {field: [message]}."),
        },
        examples=[
            OpenApiExample(
                "Negotiated prices",
                value={
                    "model": "claude-sonnet-4-6",
                    "effective_from": "2026-05-01T00:00:00Z",
                    "input_per_mtok": "2.40",
                    "output_per_mtok": "12.00",
                    "note": "2026 enterprise agreement",
                },
                request_only=True,
            ),
            OpenApiExample("Discount", value={"model": "gpt-4o", "discount_pct": "15"}, request_only=True),
        ],
    )
    def post(self, request):
        if not isinstance(request.data, dict):
            return Response({"detail": "Send a JSON object."}, status=status.HTTP_400_BAD_REQUEST)
        form = PriceOverrideInput(data=request.data)
        form.is_valid(raise_exception=True)
        data = dict(form.validated_data)
        data.setdefault("effective_from", timezone.now().replace(microsecond=0))
        try:
            override = price_override_create(org=request.org, **data)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from exc
        current = _current_ids(price_overrides(request.org, model=override.model), timezone.now())
        return Response(override_json(override, override.pk in current), status=status.HTTP_201_CREATED)


class UnpricedPricesView(APIView):
    @extend_schema(
        operation_id="prices_unpriced",
        summary="Models seen in events without a price",
        description=(
            "Their events are stored with cost 0 and counted as `unpriced_events`. Add a price "
            "(import_prices or an override), then `manage.py reprice` fixes their history."
        ),
        responses={200: UnpricedListOutput},
    )
    def get(self, request):
        rows = unpriced_models(request.org)
        return Response(
            {
                "models": [
                    {
                        "model": r["model"],
                        "events": r["events"],
                        "input_tokens": r["input_tokens"],
                        "output_tokens": r["output_tokens"],
                        "first_seen": rfc3339(r["first_seen"]),
                        "last_seen": rfc3339(r["last_seen"]),
                    }
                    for r in rows
                ]
            }
        )

"""GET|PATCH /api/v1/settings (API.md §4): the org's settings, JSON in and out, org-scoped."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from costlens.accounts.models import Organization
from costlens.pricing.normalize import normalize_model
from costlens.pricing.selectors import price_book_for
from costlens.usage.services import organization_settings_update

EDITABLE = ("name", "baseline_model", "quality_floor")


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """Documents the API key (Bearer) auth of every /api/v1/ endpoint in the OpenAPI schema."""

    target_class = "costlens.accounts.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An organization's API key: `Authorization: Bearer cl_...`.",
        }


READ_ONLY = ("slug",)


def settings_json(org: Organization) -> dict:
    return {
        "name": org.name,
        "slug": org.slug,
        "baseline_model": org.baseline_model,
        "quality_floor": float(org.quality_floor),
    }


def validate_settings(org: Organization, data: object) -> tuple[dict, dict[str, list[str]]]:
    """(changes, errors) for a PATCH body; every field's errors at once."""
    if not isinstance(data, dict):
        return {}, {"non_field_errors": ["Send a JSON object."]}
    errors: dict[str, list[str]] = {}
    changes: dict = {}
    for key in data:
        if key in READ_ONLY:
            if data[key] != getattr(org, key):
                errors[key] = ["Read-only."]
        elif key not in EDITABLE:
            errors[key] = [f"Unknown setting; the settings are {', '.join(EDITABLE)}."]

    if "name" in data:
        name = data["name"]
        if not isinstance(name, str) or not name.strip() or len(name.strip()) > 200:
            errors["name"] = ["A string of 1 to 200 characters."]
        else:
            changes["name"] = name.strip()

    if "baseline_model" in data:
        raw = data["baseline_model"]
        if not isinstance(raw, str) or not raw.strip() or len(raw) > 200:
            errors["baseline_model"] = ["A model name of 1 to 200 characters."]
        else:
            book = price_book_for(org)
            model = normalize_model(raw.strip(), book.aliases)
            if not book.knows(model):
                # A baseline without a price would silently zero every saving.
                errors["baseline_model"] = [
                    f"No price for {model!r}; add it to the catalog or as an org price first."
                ]
            else:
                changes["baseline_model"] = model

    if "quality_floor" in data:
        raw = data["quality_floor"]
        try:
            if isinstance(raw, bool) or not isinstance(raw, int | float | str):
                raise InvalidOperation
            value = Decimal(repr(raw) if isinstance(raw, float) else str(raw).strip())
            if not value.is_finite() or not 0 <= value <= 1 or value != value.quantize(Decimal("0.001")):
                raise InvalidOperation
        except InvalidOperation:
            errors["quality_floor"] = ["A number from 0 to 1 with at most 3 decimals."]
        else:
            changes["quality_floor"] = value
    return changes, errors


_settings = inline_serializer(
    "OrgSettings",
    {
        "name": serializers.CharField(),
        "slug": serializers.CharField(read_only=True),
        "baseline_model": serializers.CharField(
            help_text="Normalised model that savings are measured against (routes may set their own)."
        ),
        "quality_floor": serializers.FloatField(help_text="Quality scores below it count as low quality."),
    },
)


class SettingsView(APIView):
    @extend_schema(
        operation_id="settings_retrieve", summary="The organization's settings", responses={200: _settings}
    )
    def get(self, request):
        return Response(settings_json(request.org))

    @extend_schema(
        operation_id="settings_update",
        summary="Change settings",
        description="Send only the settings to change. A new `baseline_model` recomputes the baseline cost "
        "of the events whose route has no baseline of its own, in the background; `GET /api/v1/usage` "
        "shows the new savings once its `as_of` is past the change.",
        request=OpenApiTypes.OBJECT,
        responses={200: _settings, 400: OpenApiResponse(description='Field errors: {"field": ["message"]}.')},
        examples=[OpenApiExample("Baseline", value={"baseline_model": "claude-opus-4-6"}, request_only=True)],
    )
    def patch(self, request):
        changes, errors = validate_settings(request.org, request.data)
        if errors:
            return Response(errors, status=400)
        org = organization_settings_update(org=request.org, changes=changes)
        return Response(settings_json(org))

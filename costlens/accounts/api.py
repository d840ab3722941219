"""GET|PATCH /api/v1/settings (API.md §4): the org's settings, JSON in and out, org-scoped."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from costlens.accounts.models import Organization
from costlens.accounts.validation import validate_settings
from costlens.usage.services import organization_settings_update


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


def settings_json(org: Organization) -> dict:
    return {
        "name": org.name,
        "slug": org.slug,
        "baseline_model": org.baseline_model,
        "quality_floor": float(org.quality_floor),
    }


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

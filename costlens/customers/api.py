"""HTTP API for customers and recurring revenue (API.md §4). Org-scoped; another org's customer is a 404."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from costlens.customers.models import Customer, RevenueEntry
from costlens.customers.selectors import customer_get, customers_list, revenue_entries_list
from costlens.customers.services import customer_upsert, revenue_entry_create
from costlens.customers.validation import (
    InvalidInput,
    validate_customer,
    validate_customer_id,
    validate_revenue,
)
from costlens.money import nanos_to_str
from costlens.usage.selectors import rfc3339

NOT_FOUND = {"detail": "No such customer."}

_customer = inline_serializer(
    "Customer",
    {
        "customer_id": serializers.CharField(),
        "name": serializers.CharField(),
        "plan": serializers.CharField(),
        "segment": serializers.CharField(),
        "metadata": serializers.DictField(),
        "created_at": serializers.DateTimeField(),
    },
)
_revenue = inline_serializer(
    "RevenueEntry",
    {
        "id": serializers.IntegerField(),
        "customer_id": serializers.CharField(),
        "amount_usd": serializers.CharField(),
        "period_start": serializers.DateTimeField(),
        "period_end": serializers.DateTimeField(),
        "description": serializers.CharField(),
        "created_at": serializers.DateTimeField(),
    },
)


def customer_json(c: Customer) -> dict:
    return {
        "customer_id": c.external_id,
        "name": c.name,
        "plan": c.plan,
        "segment": c.segment,
        "metadata": c.metadata or {},
        "created_at": rfc3339(c.created_at),
    }


def revenue_json(e: RevenueEntry, external_id: str) -> dict:
    return {
        "id": e.pk,
        "customer_id": external_id,
        "amount_usd": nanos_to_str(e.amount_nanos),
        "period_start": rfc3339(e.period_start),
        "period_end": rfc3339(e.period_end),
        "description": e.description,
        "created_at": rfc3339(e.created_at),
    }


def _json_body(request) -> object:
    # DRF's JSON parser raises ParseError (400) on malformed bodies already.
    return request.data


class CustomersView(APIView):
    @extend_schema(
        operation_id="customers_list",
        summary="List customers",
        parameters=[
            OpenApiParameter("plan", str, description="Only customers on this plan."),
            OpenApiParameter("segment", str, description="Only customers in this segment."),
        ],
        responses={
            200: inline_serializer("CustomerList", {"customers": serializers.ListField(child=_customer)})
        },
    )
    def get(self, request):
        rows = customers_list(
            request.org,
            plan=request.query_params.get("plan", ""),
            segment=request.query_params.get("segment", ""),
        )
        return Response({"customers": [customer_json(c) for c in rows]})


class CustomerView(APIView):
    @extend_schema(
        operation_id="customers_retrieve",
        summary="One customer",
        responses={
            200: _customer,
            404: OpenApiResponse(description="No such customer in this organization."),
        },
    )
    def get(self, request, customer_id: str):
        customer = customer_get(request.org, customer_id)
        if customer is None:
            return Response(NOT_FOUND, status=404)
        return Response(customer_json(customer))

    @extend_schema(
        operation_id="customers_update",
        summary="Create or update a customer",
        description=(
            "Sets the fields that are sent (`name`, `plan`, `segment`, `metadata`); others keep their value. "
            "`plan`/`segment` may also be sent inside `metadata` (top-level fields win). "
            "Creates the customer (201) if no event has named it yet."
        ),
        request=OpenApiTypes.OBJECT,
        responses={200: _customer, 201: _customer, 400: OpenApiResponse(description="Field errors.")},
        examples=[
            OpenApiExample(
                "Name and plan",
                value={"name": "Initech", "plan": "pro", "segment": "smb", "metadata": {"crm_id": "0013"}},
                request_only=True,
            )
        ],
    )
    def put(self, request, customer_id: str):
        try:
            external_id = validate_customer_id(customer_id)
            data = validate_customer(_json_body(request))
        except ValueError as exc:
            errors = exc.errors if isinstance(exc, InvalidInput) else {"customer_id": [str(exc)]}
            return Response(errors, status=400)
        customer, created = customer_upsert(org=request.org, external_id=external_id, data=data)
        return Response(customer_json(customer), status=201 if created else 200)


class CustomerRevenueView(APIView):
    @extend_schema(
        operation_id="customers_revenue_list",
        summary="Recurring revenue entries of a customer",
        responses={
            200: inline_serializer("RevenueList", {"revenue": serializers.ListField(child=_revenue)}),
            404: OpenApiResponse(description="No such customer in this organization."),
        },
    )
    def get(self, request, customer_id: str):
        customer = customer_get(request.org, customer_id)
        if customer is None:
            return Response(NOT_FOUND, status=404)
        entries = revenue_entries_list(request.org, customer)
        return Response({"revenue": [revenue_json(e, customer.external_id) for e in entries]})

    @extend_schema(
        operation_id="customers_revenue_create",
        summary="Record recurring revenue",
        description=(
            "Revenue of `amount_usd` over `[period_start, period_end)`, prorated by time in every report "
            "(API.md §3): $300 over a 30-day month is exactly $10 a day. The customer is created if new."
        ),
        request=OpenApiTypes.OBJECT,
        responses={201: _revenue, 400: OpenApiResponse(description="Field errors.")},
        examples=[
            OpenApiExample(
                "A monthly subscription",
                value={
                    "amount_usd": "300.00",
                    "period_start": "2026-04-01T00:00:00Z",
                    "period_end": "2026-05-01T00:00:00Z",
                    "description": "Pro plan, April",
                },
                request_only=True,
            )
        ],
    )
    def post(self, request, customer_id: str):
        try:
            external_id = validate_customer_id(customer_id)
            data = validate_revenue(_json_body(request))
        except ValueError as exc:
            errors = exc.errors if isinstance(exc, InvalidInput) else {"customer_id": [str(exc)]}
            return Response(errors, status=400)
        entry = revenue_entry_create(org=request.org, external_id=external_id, data=data)
        return Response(revenue_json(entry, external_id), status=201)

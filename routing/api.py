"""HTTP API for routes and their split (API.md §4). Org-scoped; another org's route is a 404."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from costlens.usage.selectors import truncate_hour
from routing.models import Route
from routing.selectors import route_as_json, route_get, routes_list, split_report
from routing.services import RouteConfigError, parse_route_config, route_delete, route_upsert

NOT_FOUND = {"detail": "No such route."}
MAX_WINDOW = timedelta(days=400)
MAX_HOURLY_WINDOW = timedelta(days=31)

_route_example = {
    "target_split": {"claude-haiku-4-5": 7, "claude-sonnet-4-6": 3},
    "baseline_model": "claude-sonnet-4-6",
    "fallback_chain": ["claude-haiku-4-5", "claude-sonnet-4-6"],
    "fallback_budget": 0.1,
}


class RoutesView(APIView):
    @extend_schema(
        operation_id="routes_list",
        summary="List routes",
        description="Every route of the organization: configured ones and those auto-created by events.",
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request):
        return Response({"routes": [route_as_json(r) for r in routes_list(request.org)]})


class RouteView(APIView):
    @extend_schema(
        operation_id="routes_get", summary="Get a route", responses={200: OpenApiTypes.OBJECT, 404: None}
    )
    def get(self, request, name: str):
        try:
            return Response(route_as_json(route_get(request.org, name)))
        except Route.DoesNotExist:
            return Response(NOT_FOUND, status=404)

    @extend_schema(
        operation_id="routes_put",
        summary="Create or replace a route's configuration",
        description=(
            "`target_split` weights are normalised to shares of their total, exact decimals rounded to "
            "4 places (5, 3, 1 → 0.5556, 0.3333, 0.1111). Weights must be ≥ 0 and not all 0; unknown "
            "fields are rejected. `fallback_budget` is the acceptable fallback rate, a fraction (0.1 = 10%). "
            "Changing `baseline_model` recomputes the baseline cost of the route's events. Fields left out "
            "are reset (PUT replaces the whole configuration)."
        ),
        request=OpenApiTypes.OBJECT,
        responses={
            200: OpenApiTypes.OBJECT,
            201: OpenApiResponse(OpenApiTypes.OBJECT, description="Route created."),
            400: OpenApiResponse(description='Field errors: {"field": ["message"]}.'),
        },
        examples=[OpenApiExample("Route", value=_route_example, request_only=True)],
    )
    def put(self, request, name: str):
        try:
            config = parse_route_config(request.org, request.data, name=name)
            route, created = route_upsert(org=request.org, name=name, config=config)
        except RouteConfigError as exc:
            return Response(exc.errors, status=400)
        return Response(route_as_json(route), status=201 if created else 200)

    @extend_schema(
        operation_id="routes_delete", summary="Delete a route's configuration", responses={204: None}
    )
    def delete(self, request, name: str):
        try:
            route_delete(org=request.org, name=name)
        except Route.DoesNotExist:
            return Response(NOT_FOUND, status=404)
        return Response(status=204)


def parse_instant(value: str) -> datetime:
    ts = datetime.fromisoformat(value.strip().replace("z", "Z"))
    if ts.tzinfo is None:
        raise ValueError("needs a UTC offset (RFC 3339), e.g. 2026-04-10T00:00:00Z")
    return ts.astimezone(UTC)


def parse_window(params, *, now: datetime | None = None) -> tuple[datetime, datetime, dict]:
    """[start, end) from the query string, default the last 7 days; both truncated to the hour."""
    errors: dict[str, list[str]] = {}
    now = now or datetime.now(UTC)
    values = {}
    for key in ("start", "end"):
        raw = params.get(key)
        if raw:
            try:
                values[key] = parse_instant(raw)
            except ValueError as exc:
                errors[key] = [str(exc) if "offset" in str(exc) else "must be an RFC 3339 timestamp"]
    end = truncate_hour(values.get("end") or (now + timedelta(hours=1)))
    start = truncate_hour(values.get("start") or (end - timedelta(days=7)))
    if not errors:
        if end <= start:
            errors["end"] = ["must be after start (at least one whole hour later)"]
        elif end - start > MAX_WINDOW:
            errors["start"] = [f"the window may span at most {MAX_WINDOW.days} days"]
    return start, end, errors


class RouteSplitView(APIView):
    @extend_schema(
        operation_id="routes_split",
        summary="A route's split by model, with drift (PSI)",
        description=(
            "Requests (non-shadow first attempts) by model over `[start, end)` (RFC 3339, truncated to the "
            "hour; default the last 7 days), with shares as fractions. Drift is measured against the route's "
            "target split or, with no target, against the previous window of equal length: "
            "PSI = Σ (a − e)·ln(a / e) over the union of models, shares floored at 1e-4; drift when "
            "PSI > 0.2. `psi` is null when there are no requests. Buckets are UTC hours or days; each bucket "
            "is compared "
            "with the same expected split as the whole window."
        ),
        parameters=[
            OpenApiParameter("start", OpenApiTypes.DATETIME),
            OpenApiParameter("end", OpenApiTypes.DATETIME),
            OpenApiParameter(
                "granularity", str, enum=["hour", "day"], description="Default: hour up to 3 days."
            ),
        ],
        responses={200: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT, 404: None},
    )
    def get(self, request, name: str):
        try:
            route = route_get(request.org, name)
        except Route.DoesNotExist:
            return Response(NOT_FOUND, status=404)
        start, end, errors = parse_window(request.query_params)
        granularity = request.query_params.get("granularity") or ""
        if granularity not in ("", "hour", "day"):
            errors["granularity"] = ['must be "hour" or "day"']
        if not errors:
            granularity = granularity or ("hour" if end - start <= timedelta(hours=72) else "day")
            if granularity == "hour" and end - start > MAX_HOURLY_WINDOW:
                errors["granularity"] = [
                    f"hourly buckets are limited to {MAX_HOURLY_WINDOW.days} days; use day"
                ]
        if errors:
            return Response(errors, status=400)
        return Response(split_report(request.org, route, start=start, end=end, granularity=granularity))

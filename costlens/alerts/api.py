"""HTTP API for alert rules and incidents (API.md §4). Another org's rule or incident is a 404."""

from __future__ import annotations

from django.db.models import prefetch_related_objects
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

from costlens.alerts.models import AlertRule, Incident
from costlens.alerts.rules import RuleInvalid, rule_values, validate_rule
from costlens.alerts.selectors import alert_rule_get, alert_rules_list, incident_get, incidents_list
from costlens.alerts.services import alert_rule_create, alert_rule_delete, alert_rule_update
from costlens.usage.selectors import rfc3339

RULE_NOT_FOUND = {"detail": "No such alert rule."}
INCIDENT_NOT_FOUND = {"detail": "No such incident."}

_rule = inline_serializer(
    "AlertRule",
    {
        "id": serializers.IntegerField(),
        "name": serializers.CharField(),
        "kind": serializers.ChoiceField(choices=[k for k, _ in AlertRule.Kind.choices]),
        "window": serializers.CharField(),
        "threshold": serializers.CharField(),
        "group_by": serializers.CharField(),
        "filters": serializers.DictField(),
        "min_cost_usd": serializers.CharField(),
        "cooldown": serializers.CharField(),
        "recipients": serializers.ListField(child=serializers.EmailField()),
        "enabled": serializers.BooleanField(),
        "open_incidents": serializers.IntegerField(),
        "last_evaluated_at": serializers.DateTimeField(allow_null=True),
        "created_at": serializers.DateTimeField(),
    },
)
_incident = inline_serializer(
    "Incident",
    {
        "id": serializers.IntegerField(),
        "rule_id": serializers.IntegerField(),
        "kind": serializers.CharField(),
        "status": serializers.ChoiceField(choices=["open", "resolved"]),
        "group": serializers.DictField(),
        "group_label": serializers.CharField(),
        "opened_at": serializers.DateTimeField(),
        "resolved_at": serializers.DateTimeField(allow_null=True),
        "last_value": serializers.CharField(),
        "figures": serializers.DictField(),
        "observations": serializers.ListField(child=serializers.DictField()),
    },
)
_EXAMPLE = {
    "kind": "negative_margin",
    "window": "7d",
    "threshold": "0",
    "group_by": "customer",
    "filters": {},
    "min_cost_usd": "1.00",
    "cooldown": "24h",
    "recipients": ["finance@example.com"],
    "enabled": True,
}


def rule_json(rule: AlertRule, open_incidents: int | None = None) -> dict:
    if open_incidents is None:
        open_incidents = getattr(rule, "open_incidents", None)
        if open_incidents is None:
            open_incidents = rule.incidents.filter(resolved_at__isnull=True).count()
    return {
        "id": rule.pk,
        **rule_values(rule),
        "open_incidents": open_incidents,
        "last_evaluated_at": rfc3339(rule.last_evaluated_at) if rule.last_evaluated_at else None,
        "created_at": rfc3339(rule.created_at),
    }


def incident_json(incident: Incident) -> dict:
    return {
        "id": incident.pk,
        "rule_id": incident.rule_id,
        "kind": incident.rule.kind,
        "status": "open" if incident.resolved_at is None else "resolved",
        "group": incident.group,
        "group_label": incident.group_label,
        "opened_at": rfc3339(incident.opened_at),
        "resolved_at": rfc3339(incident.resolved_at) if incident.resolved_at else None,
        "last_value": incident.last_value,
        "figures": incident.last_figures,
        "observations": [
            {
                "observed_at": rfc3339(o.observed_at),
                "value": o.value,
                "firing": o.firing,
                "figures": o.figures,
            }
            for o in incident.observations.all()
        ],
    }


class AlertRulesView(APIView):
    @extend_schema(
        operation_id="alert_rules_list",
        summary="List alert rules",
        responses={200: inline_serializer("AlertRuleList", {"rules": serializers.ListField(child=_rule)})},
    )
    def get(self, request):
        return Response({"rules": [rule_json(r) for r in alert_rules_list(request.org)]})

    @extend_schema(
        operation_id="alert_rules_create",
        summary="Create an alert rule",
        description=(
            "Kinds: negative_margin (USD threshold, per customer), fallback_rate (fraction, per route; "
            "empty threshold = each route's fallback budget), split_drift (PSI, per route), spend_spike "
            "(multiple of the trailing 7-day average), quality_drop (score floor), cost_per_request (USD), "
            "unpriced_model (events). "
            "window like 24h or 7d; cooldown between repeat emails for a still-open incident, like 24h."
        ),
        request=OpenApiTypes.OBJECT,
        responses={201: _rule, 400: OpenApiResponse(description="Field errors.")},
        examples=[OpenApiExample("Negative margin per customer", value=_EXAMPLE, request_only=True)],
    )
    def post(self, request):
        try:
            values = validate_rule(request.data)
        except RuleInvalid as exc:
            return Response(exc.errors, status=400)
        rule = alert_rule_create(org=request.org, values=values)
        return Response(rule_json(rule, 0), status=201)


class AlertRuleView(APIView):
    def _own_rule(self, request, rule_id: int) -> AlertRule | None:
        return alert_rule_get(request.org, rule_id)

    @extend_schema(
        operation_id="alert_rules_retrieve", summary="One alert rule", responses={200: _rule, 404: None}
    )
    def get(self, request, rule_id: int):
        rule = self._own_rule(request, rule_id)
        if rule is None:
            return Response(RULE_NOT_FOUND, status=404)
        return Response(rule_json(rule))

    @extend_schema(
        operation_id="alert_rules_update",
        summary="Change an alert rule (only the fields sent)",
        request=OpenApiTypes.OBJECT,
        responses={200: _rule, 400: OpenApiResponse(description="Field errors."), 404: None},
    )
    def patch(self, request, rule_id: int):
        rule = self._own_rule(request, rule_id)
        if rule is None:
            return Response(RULE_NOT_FOUND, status=404)
        try:
            values = validate_rule(request.data, current=rule_values(rule))
        except RuleInvalid as exc:
            return Response(exc.errors, status=400)
        return Response(rule_json(alert_rule_update(rule=rule, values=values)))

    @extend_schema(
        operation_id="alert_rules_delete",
        summary="Delete an alert rule and its incidents",
        responses={204: None, 404: None},
    )
    def delete(self, request, rule_id: int):
        rule = self._own_rule(request, rule_id)
        if rule is None:
            return Response(RULE_NOT_FOUND, status=404)
        alert_rule_delete(rule=rule)
        return Response(status=204)


class IncidentsView(APIView):
    @extend_schema(
        operation_id="incidents_list",
        summary="List incidents, newest first",
        parameters=[
            OpenApiParameter(
                "status", str, enum=["open", "resolved"], description="Only open or only resolved."
            ),
            OpenApiParameter("rule", int, description="Only this rule's incidents."),
            OpenApiParameter("limit", int, description="At most this many (default 100, max 1000)."),
        ],
        responses={
            200: inline_serializer("IncidentList", {"incidents": serializers.ListField(child=_incident)}),
            400: None,
        },
    )
    def get(self, request):
        status = request.query_params.get("status", "")
        errors = {}
        if status not in ("", "open", "resolved"):
            errors["status"] = ["must be open or resolved"]
        rule_id = request.query_params.get("rule") or None
        if rule_id is not None and not rule_id.isdigit():
            errors["rule"] = ["must be a rule id"]
        limit = request.query_params.get("limit", "100")
        if not limit.isdigit() or not 1 <= int(limit) <= 1000:
            errors["limit"] = ["must be between 1 and 1000"]
        if errors:
            return Response(errors, status=400)
        rows = incidents_list(
            request.org, status=status, rule_id=int(rule_id) if rule_id else None, limit=int(limit)
        )
        prefetch_related_objects(rows, "observations")
        return Response({"incidents": [incident_json(i) for i in rows]})


class IncidentView(APIView):
    @extend_schema(
        operation_id="incidents_retrieve", summary="One incident", responses={200: _incident, 404: None}
    )
    def get(self, request, incident_id: int):
        incident = incident_get(request.org, incident_id)
        if incident is None:
            return Response(INCIDENT_NOT_FOUND, status=404)
        return Response(incident_json(incident))

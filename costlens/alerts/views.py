"""Alert pages: rules (admins create/edit/disable, with a live preview), incidents, notification log."""

from __future__ import annotations

import orjson
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from costlens.accounts.decorators import org_admin_required, org_required
from costlens.alerts.evaluation import evaluate
from costlens.alerts.forms import AlertRuleForm
from costlens.alerts.models import Notification
from costlens.alerts.rules import ALLOWED_GROUP_BY, THRESHOLD_HELP, rule_values, spec_from_values
from costlens.alerts.selectors import (
    alert_rule_get,
    alert_rules_list,
    incident_get,
    incidents_list,
    notifications_list,
)
from costlens.alerts.services import (
    alert_rule_create,
    alert_rule_delete,
    alert_rule_update,
    notification_retry,
    rule_evaluate,
    rule_test_send,
    rules_evaluate_all,
)

PREVIEW_ROWS = 25


def _rule_or_404(request, rule_id: int):
    rule = alert_rule_get(request.org, rule_id)
    if rule is None:
        raise Http404("No such alert rule.")
    return rule


def _form_context(form: AlertRuleForm, **extra) -> dict:
    return {
        "form": form,
        "threshold_help": orjson.dumps(THRESHOLD_HELP).decode(),
        "allowed_group_by": orjson.dumps(ALLOWED_GROUP_BY).decode(),
        "filter_fields": [form[f"filter_{d}"] for d in ("customer", "feature", "model", "route", "provider")],
        **extra,
    }


@org_required
def rules_page(request):
    rules = alert_rules_list(request.org)
    return render(
        request,
        "alerts/rules.html",
        {
            "rules": rules,
            "open_count": sum(r.open_incidents for r in rules),
            "pending_count": Notification.objects.filter(org=request.org, status="pending").count(),
        },
    )


@require_http_methods(["GET", "POST"])
@org_admin_required
def rule_new(request):
    form = AlertRuleForm(
        request.POST or None,
        initial={
            "kind": "negative_margin",
            "window": "7d",
            "threshold": "0",
            "group_by": "customer",
            "cooldown": "24h",
            "enabled": True,
            "min_cost_usd": "0",
            "recipients": request.user.email,
        },
    )
    if request.method == "POST" and form.is_valid():
        rule = alert_rule_create(org=request.org, values=form.values)
        result = rule_evaluate(rule_id=rule.pk)
        messages.success(request, f"Rule created and evaluated: {result.firing} group(s) firing now.")
        return redirect("alerts:incidents" if result.firing else "alerts:rules")
    return render(
        request, "alerts/rule_form.html", _form_context(form, rule=None), status=400 if form.errors else 200
    )


@require_http_methods(["GET", "POST"])
@org_admin_required
def rule_edit(request, rule_id: int):
    rule = _rule_or_404(request, rule_id)
    form = AlertRuleForm(request.POST or None, initial=AlertRuleForm.initial_from(rule_values(rule)))
    if request.method == "POST" and form.is_valid():
        alert_rule_update(rule=rule, values=form.values)
        result = rule_evaluate(rule_id=rule.pk)
        messages.success(request, f"Rule saved and evaluated: {result.firing} group(s) firing now.")
        return redirect("alerts:rules")
    return render(
        request, "alerts/rule_form.html", _form_context(form, rule=rule), status=400 if form.errors else 200
    )


@require_POST
@org_admin_required
def rule_preview(request):
    """htmx: which groups would fire right now with the form's current values."""
    form = AlertRuleForm(request.POST)
    if not form.is_valid():
        return render(request, "alerts/_preview.html", {"form": form, "invalid": True})
    findings = evaluate(request.org, spec_from_values(form.values), timezone.now())
    firing = [f for f in findings if f.firing]
    return render(
        request,
        "alerts/_preview.html",
        {
            "form": form,
            "findings": findings[:PREVIEW_ROWS],
            "firing_count": len(firing),
            "evaluated": len(findings),
            "suggest_min_cost": len(firing) > 10 and not form.values["min_cost_nanos"],
        },
    )


@require_POST
@org_admin_required
def rule_toggle(request, rule_id: int):
    rule = _rule_or_404(request, rule_id)
    alert_rule_update(rule=rule, values={"enabled": not rule.enabled})
    messages.success(request, f"Rule {'enabled' if rule.enabled else 'disabled'}: {rule}.")
    return redirect("alerts:rules")


@require_POST
@org_admin_required
def rule_delete(request, rule_id: int):
    rule = _rule_or_404(request, rule_id)
    name = str(rule)
    alert_rule_delete(rule=rule)
    messages.success(request, f"Rule deleted: {name}.")
    return redirect("alerts:rules")


@require_POST
@org_admin_required
def rule_test(request, rule_id: int):
    rule = _rule_or_404(request, rule_id)
    if not rule.recipients:
        messages.error(request, "This rule has no recipients; add one to send a test email.")
        return redirect("alerts:rules")
    rule_test_send(rule=rule)
    messages.success(
        request, f"Test email queued for {', '.join(rule.recipients)}; see the notification log."
    )
    return redirect("alerts:notifications")


@require_POST
@org_admin_required
def evaluate_now(request):
    results = rules_evaluate_all(org=request.org)
    opened = sum(len(r.opened) for r in results)
    resolved = sum(len(r.resolved) for r in results)
    messages.success(
        request, f"Evaluated {len(results)} rule(s): {opened} incident(s) opened, {resolved} resolved."
    )
    return redirect("alerts:incidents")


@org_required
def incidents_page(request):
    status = request.GET.get("status") or "open"
    if status not in ("open", "resolved", "all"):
        status = "open"
    rule_id = request.GET.get("rule") or ""
    rule_id = int(rule_id) if rule_id.isdigit() else None
    rows = incidents_list(request.org, status="" if status == "all" else status, rule_id=rule_id)
    return render(
        request,
        "alerts/incidents.html",
        {"incidents": rows, "status": status, "rule_id": rule_id, "rules": alert_rules_list(request.org)},
    )


@org_required
def incident_page(request, incident_id: int):
    incident = incident_get(request.org, incident_id)
    if incident is None:
        raise Http404("No such incident.")
    return render(
        request,
        "alerts/incident.html",
        {
            "incident": incident,
            "observations": list(incident.observations.order_by("-observed_at", "-id")[:100]),
            "notifications": list(incident.notifications.order_by("-created_at", "-id")),
        },
    )


@org_required
def notifications_page(request):
    status = request.GET.get("status") or ""
    if status not in ("", "pending", "sent", "failed"):
        status = ""
    return render(
        request,
        "alerts/notifications.html",
        {"notifications": notifications_list(request.org, status=status), "status": status},
    )


@require_POST
@org_admin_required
def notification_retry_view(request, notification_id: int):
    if notification_retry(org=request.org, notification_id=notification_id) is None:
        raise Http404("No such failed notification.")
    messages.success(request, "Queued for another attempt.")
    return redirect("alerts:notifications")

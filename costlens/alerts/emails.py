"""The alert emails: subject, plain text and HTML, rendered when the outbox row is written."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.template.loader import render_to_string

from costlens.alerts.evaluation import Finding
from costlens.alerts.rules import KIND_LABELS
from costlens.display import usd

SUBJECT_PREFIX = "[CostLens]"


@dataclass(frozen=True)
class Email:
    subject: str
    text: str
    html: str


def absolute_url(path: str) -> str:
    return settings.COSTLENS_BASE_URL.rstrip("/") + path


def _money_rows(figures: dict, group: dict) -> list[tuple[str, str]]:
    # Recurring revenue has no route, model or feature: margin is shown per customer or org-wide only.
    with_margin = not group or set(group) == {"customer"}
    keys = (("revenue_usd", "Revenue"), ("cost_usd", "Cost"), ("margin_usd", "Margin"))
    rows = []
    for key, label in keys:
        if figures.get(key) is not None and (with_margin or key == "cost_usd"):
            rows.append((label, usd(figures[key])))
    if with_margin and figures.get("margin_pct") is not None:
        rows.append(("Margin %", f"{figures['margin_pct']:.1f}%".replace("-", "−")))
    if figures.get("requests") is not None:
        rows.append(("Requests", f"{figures['requests']:,}"))
    return rows


def render_incident_email(*, rule, finding: Finding, event: str, org_name: str) -> Email:
    """event: "opened", "reminder" or "resolved"."""
    kind = KIND_LABELS[rule.kind]
    link = absolute_url(finding.path)
    context = {
        "org_name": org_name,
        "rule": rule,
        "rule_name": rule.name or kind,
        "kind": kind,
        "event": event,
        "group_label": finding.label,
        "value_text": finding.value_text,
        "limit_text": finding.limit_text,
        "window": rule.window,
        "figures": _money_rows(finding.figures, finding.group),
        "link": link,
        "rules_link": absolute_url("/alerts/"),
    }
    headline = {
        "opened": f"{kind}: {finding.label}",
        "reminder": f"Still firing — {kind}: {finding.label}",
        "resolved": f"Resolved — {kind}: {finding.label}",
    }[event]
    subject = f"{SUBJECT_PREFIX} {headline} — {finding.value_text}, last {rule.window}"
    return Email(
        subject=subject[:300],
        text=render_to_string("emails/alert.txt", context),
        html=render_to_string("emails/alert.html", context),
    )


def render_test_email(*, rule, findings: list[Finding], org_name: str) -> Email:
    kind = KIND_LABELS[rule.kind]
    firing = [f for f in findings if f.firing]
    context = {
        "org_name": org_name,
        "rule": rule,
        "rule_name": rule.name or kind,
        "kind": kind,
        "window": rule.window,
        "firing": [
            {
                "label": f.label,
                "value_text": f.value_text,
                "link": absolute_url(f.path),
                "figures": _money_rows(f.figures, f.group),
            }
            for f in firing[:20]
        ],
        "firing_count": len(firing),
        "evaluated": len(findings),
        "rules_link": absolute_url("/alerts/"),
    }
    return Email(
        subject=f"{SUBJECT_PREFIX} Test — {rule.name or kind} ({len(firing)} group(s) would fire now)",
        text=render_to_string("emails/test.txt", context),
        html=render_to_string("emails/test.html", context),
    )

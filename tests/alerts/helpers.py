from datetime import timedelta

from django.core.management import call_command

from costlens.alerts.models import AlertRule
from costlens.alerts.rules import validate_rule
from costlens.customers.models import Customer, RevenueEntry
from costlens.money import usd_to_nanos
from tests.conftest import at, make_event

NOW = at("2026-04-10T15:30:00Z")


def ingest(api, events):
    r = api.post_events(events)
    assert r.status_code == 200, r.json()
    call_command("rollup")


def rule(org, **fields) -> AlertRule:
    values = validate_rule({"recipients": ["fran@acme.test"], **fields})
    return AlertRule.objects.create(org=org, **values)


def revenue(org, customer_id: str, amount: str, start: str = "2026-04-09T00:00:00Z", days: int = 1):
    from decimal import Decimal

    customer, _ = Customer.objects.get_or_create(org=org, external_id=customer_id)
    return RevenueEntry.objects.create(
        org=org,
        customer=customer,
        amount_nanos=usd_to_nanos(Decimal(amount)),
        period_start=at(start),
        period_end=at(start) + timedelta(days=days),
    )


def sonnet_events(prefix: str, n: int, *, ts: str = "2026-04-10T12:00:00Z", **overrides):
    """n events of $0.0045 each (Sonnet 4.6, 500 in / 200 out)."""
    return [make_event(f"{prefix}-{i}", timestamp=ts, **overrides) for i in range(n)]

"""Reads of usage: the one place aggregates are queried. Every selector takes the org first."""

from dataclasses import dataclass

from django.db.models import Count, Sum

from costlens.accounts.models import Organization
from costlens.money import nanos_to_str
from costlens.usage.models import Event


@dataclass(frozen=True)
class SpendSoFar:
    events: int
    cost_nanos: int

    @property
    def cost_usd(self) -> str:
        return nanos_to_str(self.cost_nanos) or "0.000000000"


def spend_to_date(org: Organization) -> SpendSoFar:
    agg = Event.objects.filter(org=org).aggregate(events=Count("id"), cost=Sum("cost_nanos"))
    return SpendSoFar(events=agg["events"] or 0, cost_nanos=agg["cost"] or 0)

"""Shared fixtures of the customer and margin page tests."""

from datetime import UTC, datetime, timedelta

import pytest

from costlens.customers.models import Customer
from tests.alerts.helpers import ingest, revenue
from tests.conftest import make_event


def recent(n, **kw):
    ts = (datetime.now(UTC) - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return make_event(n, timestamp=ts, **kw)


@pytest.fixture
def seeded(acme, acme_api):
    Customer.objects.create(org=acme, external_id="loser", name="Loser Inc", plan="pro", segment="smb")
    Customer.objects.create(
        org=acme, external_id="winner", name="Winner LLC", plan="team", segment="enterprise"
    )
    ingest(
        acme_api,
        [recent(f"l{i}", customer_id="loser", feature="chat") for i in range(10)]
        + [
            recent(f"w{i}", customer_id="winner", feature="search", model="claude-haiku-4-5")
            for i in range(2)
        ]
        + [recent("u1")],
    )
    start = (datetime.now(UTC) - timedelta(days=2)).strftime("%Y-%m-%dT00:00:00Z")
    revenue(acme, "winner", "5", start=start, days=1)
    return acme

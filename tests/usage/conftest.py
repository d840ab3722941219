"""Fixtures shared by the usage tests."""

import pytest
from django.core.management import call_command

from tests.alerts.helpers import revenue
from tests.conftest import at, make_event

# Ragged at both ends: hourly rows 07:00-24:00 on the 8th, whole days 9th and 10th, hourly 00:00-05:00.
START, END = at("2026-04-08T07:00:00Z"), at("2026-04-11T05:00:00Z")
MODELS = ("claude-sonnet-4-6", "claude-haiku-4-5", "gpt-4o")


@pytest.fixture
def spread(acme, acme_api):
    """Events inside and outside the window, over three customers, features, routes and models."""
    events = []
    n = 0
    for day in ("07", "08", "09", "10", "11"):
        for hour in (3, 6, 7, 13, 23):
            for c in range(3):
                n += 1
                events.append(
                    make_event(
                        n,
                        customer_id=f"c{c}",
                        feature=("chat", "search")[(n + c) % 2],
                        route=("r-a", "r-b")[n % 2],
                        model=MODELS[n % 3],
                        input_tokens=100 + n,
                        output_tokens=7 * n,
                        latency_ms=30 * n,
                        quality_score=(n % 10) / 10,
                        revenue_usd=f"0.00{n % 7}",
                        timestamp=f"2026-04-{day}T{hour:02d}:{(7 * n) % 60:02d}:00Z",
                    )
                )
    events.append(make_event("unattributed", timestamp="2026-04-09T12:00:00Z"))
    assert acme_api.post_events(events).status_code == 200
    call_command("rollup")
    revenue(acme, "c1", "30", start="2026-04-08T00:00:00Z", days=3)
    revenue(acme, "c9", "5", start="2026-04-09T00:00:00Z", days=1)  # revenue, no usage
    return acme

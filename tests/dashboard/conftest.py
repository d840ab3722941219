import pytest
from django.core.management import call_command

from tests.conftest import make_event

# One UTC day, as a custom range: [2026-04-10 00:00, 2026-04-11 00:00).
DAY = "range=custom&start=2026-04-10&end=2026-04-10"


def acme_events() -> list[dict]:
    """Five calls with hand-computable costs (catalog: Sonnet 4.6 $3/$15, Haiku 4.5 $1/$5, GPT-4o $2.50/$10).

    c1/chat:      e1 Sonnet 500/200            = $0.004500000 (revenue $0.01)
                  e4 GPT-4o 500/200, error     = $0.003250000
    c2/summarize: e2 Haiku 500/200 (r2, try 1) = $0.001500000  superseded by
                  e3 Sonnet 500/200 (r2, try 2)= $0.004500000  a fallback
    c3/(none):    e5 mystery-model 1000/100    = $0 (unpriced)
    Total $0.013750000 over 5 events, 4 requests, 1 fallback, 1 error.
    """
    return [
        make_event(
            "e1",
            customer_id="c1",
            feature="chat",
            timestamp="2026-04-10T09:15:00Z",
            revenue_usd="0.01",
            latency_ms=800,
            quality_score=0.9,
        ),
        make_event(
            "e2",
            model="claude-haiku-4-5",
            customer_id="c2",
            feature="summarize",
            request_id="r2",
            timestamp="2026-04-10T10:00:00Z",
            latency_ms=300,
        ),
        make_event(
            "e3",
            customer_id="c2",
            feature="summarize",
            request_id="r2",
            attempt=2,
            fallback_reason="low_confidence",
            timestamp="2026-04-10T10:00:02Z",
            latency_ms=900,
        ),
        make_event(
            "e4",
            model="gpt-4o",
            customer_id="c1",
            feature="chat",
            status="error",
            timestamp="2026-04-10T15:30:00Z",
        ),
        make_event(
            "e5",
            model="mystery-model",
            customer_id="c3",
            input_tokens=1000,
            output_tokens=100,
            timestamp="2026-04-10T16:00:00Z",
        ),
    ]


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """PBKDF2's deliberate slowness costs ~1 s per persona created; tests do not need it."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def acme_data(acme_api):
    response = acme_api.post_events(acme_events())
    assert response.status_code == 200, response.content
    call_command("rollup")


@pytest.fixture
def globex_data(globex_api):
    events = [
        make_event(
            "g1",
            customer_id="globex-secret-customer",
            feature="globex-feature",
            model="claude-opus-4-6",
            timestamp="2026-04-10T11:00:00Z",
        )
    ]
    assert globex_api.post_events(events).status_code == 200
    call_command("rollup")


@pytest.fixture
def fran_client(client, fran):
    client.force_login(fran)
    return client

"""Shared fixtures: the personas (acme with fran and eli, globex for isolation) and API clients.

Tests run against the real PostgreSQL at DATABASE_URL; SQLite is refused.
"""

import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import orjson
import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from rest_framework.test import APIClient

from costlens.accounts.services import api_key_create, organization_create, user_create
from ingest.services import known_customers, known_routes


def pytest_configure(config):
    engine = settings.DATABASES["default"]["ENGINE"]
    if "postgresql" not in engine:
        raise pytest.UsageError(
            f"Tests need PostgreSQL (DATABASE_URL=postgres://...); got {engine}. Run them with `make test`."
        )


@pytest.fixture(autouse=True)
def _fresh_process_caches() -> Iterator[None]:
    known_customers.clear()
    known_routes.clear()
    cache.clear()
    yield
    known_customers.clear()
    known_routes.clear()


@pytest.fixture
def acme(db):
    return organization_create(name="Acme AI", slug="acme")


@pytest.fixture
def globex(db):
    return organization_create(name="Globex", slug="globex")


@pytest.fixture
def fran(acme):
    """Finance user, admin of acme."""
    return user_create(email="fran@acme.test", org=acme, password="fran-pass-123", admin=True)


@pytest.fixture
def eli(acme):
    """Engineer, viewer of acme."""
    return user_create(email="eli@acme.test", org=acme, password="eli-pass-123", admin=False)


class JsonClient(APIClient):
    """An API client bound to one key; post_events sends a raw {"events": [...]} body."""

    def post_events(self, events, **extra):
        return self.post(
            "/api/v1/events", orjson.dumps({"events": events}), content_type="application/json", **extra
        )

    def post_batches_at_once(self, batches: list[list[dict]]) -> list:
        """Each batch posted from its own thread (own connection), all released at the same moment;
        the responses in the batches' order. An exception in a thread is raised here."""
        start = threading.Barrier(len(batches))
        answers: list = [None] * len(batches)
        failures: list[BaseException] = []

        def post(slot: int) -> None:
            try:
                start.wait()
                answers[slot] = self.post_events(batches[slot])
            except BaseException as exc:  # re-raised in the test's thread
                failures.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=post, args=(slot,)) for slot in range(len(batches))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if failures:
            raise failures[0]
        return answers


def _client_for(org) -> JsonClient:
    client = JsonClient()
    client.raw_key = api_key_create(org=org, name="tests").raw_key
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {client.raw_key}")
    return client


@pytest.fixture
def acme_api(acme) -> JsonClient:
    return _client_for(acme)


@pytest.fixture
def globex_api(globex) -> JsonClient:
    return _client_for(globex)


def make_event(n: int | str, **overrides) -> dict:
    """A valid usage event; tests override what they exercise."""
    event = {
        "event_id": f"evt-{n}",
        "timestamp": "2026-04-10T12:00:00Z",
        "model": "claude-sonnet-4-6",
        "input_tokens": 500,
        "output_tokens": 200,
    }
    event.update(overrides)
    return event


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def _is_transactional(request) -> bool:
    marker = request.node.get_closest_marker("django_db")
    return "transactional_db" in request.fixturenames or bool(marker and marker.kwargs.get("transaction"))


@pytest.fixture(autouse=True)
def _shipped_price_catalog(request) -> None:
    """A transactional test flushes every table when it ends, the catalog that migration loaded
    included; put the shipped catalog back so a later transactional test on the same worker
    prices events as production does (whatever order xdist runs them in)."""
    if not _is_transactional(request):
        return
    request.getfixturevalue("transactional_db")
    from costlens.pricing.models import ModelPrice
    from costlens.pricing.services import catalog_load_default

    if not ModelPrice.objects.exists():
        catalog_load_default()

"""Routing test helpers: ingest through the API, roll up, read pages as a signed-in user."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.test import Client


@pytest.fixture
def ingest(acme_api):
    """Post events through the API (in batches, in the given order) and bring the rollups up to date."""

    def _ingest(events: list[dict], *, client=None, batch: int = 1000):
        api = client or acme_api
        for i in range(0, len(events), batch):
            response = api.post_events(events[i : i + batch])
            assert response.status_code == 200, response.json()
        call_command("rollup")

    return _ingest


@pytest.fixture
def fran_client(fran) -> Client:
    client = Client()
    client.force_login(fran)
    return client


@pytest.fixture
def eli_client(eli) -> Client:
    client = Client()
    client.force_login(eli)
    return client

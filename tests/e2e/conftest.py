"""Shared browser-test fixtures (Playwright sync API driving Debian's Chromium).

Use them in any tests/e2e/test_*.py:

    @pytest.mark.e2e
    def test_something(fran_page, live_server, seed_usage):
        seed_usage([recent_event(1, feature="chat"), ...])     # ingested + rolled up
        fran_page.goto(live_server.url + "/")
        expect(fran_page.get_by_test_id("tile-spend")).to_have_text("$0.004500000")

Fixtures:
- `browser`          one Chromium per test session (per xdist worker).
- `browser_context`  a fresh context (cookies, storage) per test, with downloads allowed.
- `page`             an anonymous page in that context.
- `login_as(user)`   returns a page already signed in as `user` (session cookie, no form round trip).
- `fran_page`        `login_as(fran)` — acme's finance admin.
- `seed_usage(events, org=acme)`  ingests events through the real ingest service and runs the rollup,
                     so pages show them immediately.
- `recent_event(n, hours_ago=1, **overrides)`  like `make_event`, but timestamped inside the default
                     "last 7 days" window.
- `wait_for_charts(page)`  waits until every `[data-figure]` on the page has been drawn by charts.js.

The live server needs committed data: `live_server` makes every DB fixture transactional, and the
tables are truncated after each test; an autouse fixture here reloads the shipped price catalog.
Chromium is required in CI (CI=true): a missing /usr/bin/chromium fails the test instead of skipping it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.test import Client

from costlens.pricing.models import ModelPrice
from costlens.pricing.services import catalog_load_default
from costlens.usage.rollup import rollup_all
from ingest.services import events_ingest
from tests.conftest import make_event

# Playwright's sync API runs an event loop in the test thread; Django's ORM would otherwise refuse
# synchronous queries from it (SynchronousOnlyOperation).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("COSTLENS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DEFAULT_TIMEOUT_MS = 15_000


def pytest_collection_modifyitems(config, items):
    # Keep every browser test on one xdist worker: one Chromium, one live server.
    for item in items:
        if item.get_closest_marker("e2e") and not item.get_closest_marker("xdist_group"):
            item.add_marker(pytest.mark.xdist_group("e2e"))


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """PBKDF2's deliberate slowness costs ~1 s per persona created; tests do not need it."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _price_catalog(transactional_db):
    """Live-server tests truncate every table after each test, the shipped price catalog (written by a
    data migration) included; put it back so events get priced. (Django's serialized rollback cannot
    help here: Playwright's greenlets give the test body a different connection object.)"""
    if not ModelPrice.objects.exists():
        catalog_load_default()


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        message = f"Chromium not found at {CHROMIUM}"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{message}; browser tests are required in CI.")
        pytest.skip(f"{message} (install Debian's chromium package).")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def browser_context(browser, live_server):
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1400, "height": 1000}, accept_downloads=True
    )
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def page(browser_context):
    return browser_context.new_page()


@pytest.fixture
def login_as(browser_context, live_server) -> Callable:
    """Sign `user` in by planting a real session cookie (the login form has its own test)."""

    def _login(user):
        client = Client()
        client.force_login(user)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME]
        browser_context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": live_server.url}]
        )
        return browser_context.new_page()

    return _login


@pytest.fixture
def fran_page(login_as, fran):
    return login_as(fran)


def recent_event(n: int | str, *, hours_ago: float = 1, **overrides) -> dict:
    """A valid event timestamped `hours_ago` before now (inside the default 7-day window)."""
    ts = datetime.now(UTC) - timedelta(hours=hours_ago)
    return make_event(n, timestamp=ts.strftime("%Y-%m-%dT%H:%M:%SZ"), **overrides)


@pytest.fixture
def seed_usage(acme) -> Iterator[Callable]:
    """Ingest events (through the real ingest service, as the API does) and roll them up."""

    def _seed(events: list[dict], *, org=None):
        result = events_ingest(org=org or acme, raw_events=events)
        assert not result.errors, result.errors
        rollup_all()
        return result

    return _seed


def wait_for_charts(page, *, timeout: int = DEFAULT_TIMEOUT_MS) -> None:
    """Wait until charts.js has drawn every chart on the page (each gets data-rendered="1")."""
    page.wait_for_function(
        "() => { const c = document.querySelectorAll('[data-figure]');"
        " return c.length > 0 && Array.from(c).every(e => e.dataset.rendered === '1'); }",
        timeout=timeout,
    )

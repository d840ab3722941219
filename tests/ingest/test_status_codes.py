"""Every status code of POST /api/v1/events (API.md §4), and that a refused request stores nothing."""

import gzip
import os
import threading
import time

import orjson
import psycopg
import pytest
import time_machine
from django.db import close_old_connections, connection
from django.test import override_settings
from rest_framework.test import APIClient

from costlens.accounts.services import api_key_create, api_key_revoke
from costlens.customers.models import Customer
from costlens.usage.models import DirtyBucket, Event
from tests.conftest import make_event

URL = "/api/v1/events"
FIVE_MB = 5 * 1024 * 1024


def _raw_post(client, body: bytes, content_type: str = "application/json", **extra):
    return client.generic("POST", URL, body, content_type=content_type, **extra)


def _nothing_stored(org) -> bool:
    return not Event.objects.filter(org=org).exists()


# 200 / 207 ---------------------------------------------------------------------------------------


def test_200_when_every_event_is_stored_or_a_duplicate(acme_api, acme):
    assert acme_api.post_events([make_event(1)]).json() == {
        "accepted": 1,
        "duplicates": 0,
        "rejected": 0,
        "errors": [],
    }
    response = acme_api.post_events([make_event(1), make_event(2)])
    assert response.status_code == 200
    assert response.json() == {"accepted": 1, "duplicates": 1, "rejected": 0, "errors": []}


def test_207_when_some_are_rejected(acme_api, acme):
    response = acme_api.post_events([make_event(1), make_event(2, model=None)])
    assert response.status_code == 207
    assert response.json()["accepted"] == 1


def test_content_type_with_charset_and_gzip_body_are_accepted(acme_api, acme):
    body = gzip.compress(orjson.dumps({"events": [make_event(1), make_event(2)]}))
    response = _raw_post(
        acme_api, body, content_type="application/json; charset=utf-8", HTTP_CONTENT_ENCODING="gzip"
    )
    assert response.status_code == 200, response.content
    assert Event.objects.filter(org=acme).count() == 2


# 400: the envelope -------------------------------------------------------------------------------

BAD_ENVELOPES = [
    b"",
    b"not json",
    b'{"events": [',
    b"\xff\xfe{}",  # not UTF-8
    b'{"events": ["\xc3\x28"]}',  # invalid UTF-8 inside a string
    b'{"events": [{"event_id": "\\ud800"}]}',  # lone surrogate
    b"[]",
    b'"events"',
    b"null",
    b"{}",
    b'{"evts": []}',
    b'{"events": [], "extra": 1}',
    b'{"events": {"event_id": "x"}}',
    b'{"events": "x"}',
    b'{"events": null}',
    b'{"events": []}',
    b'{"events": [{"n": NaN}]}',
    b'{"events": [{"n": 1e400}]}',
    b'{"events": [{"n": 1' + b"0" * 400 + b"}]}",
    b'{"events": [' + b"[" * 5000 + b"]" * 5000 + b"]}",
]


@pytest.mark.parametrize("body", BAD_ENVELOPES, ids=[repr(b[:30]) for b in BAD_ENVELOPES])
def test_400_for_a_bad_envelope_and_nothing_is_stored(acme_api, acme, body):
    response = _raw_post(acme_api, body)
    assert response.status_code == 400, response.content
    assert response.json()["detail"]
    assert _nothing_stored(acme)


def test_400_for_1001_events_and_nothing_is_stored(acme_api, acme):
    response = acme_api.post_events([make_event(i) for i in range(1001)])
    assert response.status_code == 400
    assert "1000" in response.json()["detail"]
    assert _nothing_stored(acme)
    assert acme_api.post_events([make_event(i) for i in range(1000)]).status_code == 200


def test_400_for_invalid_gzip(acme_api, acme):
    response = _raw_post(acme_api, b"\x1f\x8b\x08\x00garbage", HTTP_CONTENT_ENCODING="gzip")
    assert response.status_code == 400
    assert _nothing_stored(acme)


# 401 ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "Token cl_abc",
        "Bearer cl_00000000_unknownunknownunknownunknownunknownunknow",
        "Bearer " + "x" * 10_000,
        "Bearer cl_ü_ñ",
    ],
)
def test_401_for_a_missing_malformed_or_unknown_key(acme, authorization):
    client = APIClient()
    extra = {} if authorization is None else {"HTTP_AUTHORIZATION": authorization}
    response = _raw_post(client, orjson.dumps({"events": [make_event(1)]}), **extra)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert _nothing_stored(acme)


def test_401_for_a_revoked_key(acme_api, acme):
    assert acme_api.post_events([make_event(1)]).status_code == 200
    key = acme.api_keys.get()
    api_key_revoke(org=acme, key_id=key.pk)
    response = acme_api.post_events([make_event(2)])
    assert response.status_code == 401
    assert list(Event.objects.filter(org=acme).values_list("event_id", flat=True)) == ["evt-1"]


# 413 ---------------------------------------------------------------------------------------------


def _padded(size: int) -> bytes:
    """A valid one-event envelope padded with JSON whitespace to exactly `size` bytes."""
    body = orjson.dumps({"events": [make_event(1)]})
    return body[:-1] + b" " * (size - len(body)) + body[-1:]


def test_413_for_a_body_over_5_mb(acme_api, acme):
    response = _raw_post(acme_api, _padded(FIVE_MB + 1))
    assert response.status_code == 413
    assert _nothing_stored(acme)


def test_a_body_of_exactly_5_mb_is_accepted(acme_api, acme):
    assert _raw_post(acme_api, _padded(FIVE_MB)).status_code == 200


def test_413_for_a_gzip_bomb(acme_api, acme):
    bomb = gzip.compress(b"0" * (64 * 1024 * 1024), compresslevel=9)
    assert len(bomb) < 100_000
    response = _raw_post(acme_api, bomb, HTTP_CONTENT_ENCODING="gzip")
    assert response.status_code == 413
    assert _nothing_stored(acme)


def test_413_for_a_gzip_body_just_over_the_cap(acme_api, acme):
    response = _raw_post(acme_api, gzip.compress(_padded(FIVE_MB + 1)), HTTP_CONTENT_ENCODING="gzip")
    assert response.status_code == 413
    assert _nothing_stored(acme)


def test_a_gzip_body_of_exactly_5_mb_decompressed_is_accepted(acme_api, acme):
    response = _raw_post(acme_api, gzip.compress(_padded(FIVE_MB)), HTTP_CONTENT_ENCODING="gzip")
    assert response.status_code == 200


# 415 ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml", "", "json"]
)
def test_415_for_a_body_that_is_not_declared_json(acme_api, acme, content_type):
    response = _raw_post(acme_api, orjson.dumps({"events": [make_event(1)]}), content_type=content_type)
    assert response.status_code == 415
    assert _nothing_stored(acme)


@pytest.mark.parametrize("encoding", ["br", "deflate", "zstd", "gzip, br"])
def test_415_for_an_unsupported_content_encoding(acme_api, acme, encoding):
    response = _raw_post(acme_api, orjson.dumps({"events": [make_event(1)]}), HTTP_CONTENT_ENCODING=encoding)
    assert response.status_code == 415
    assert _nothing_stored(acme)


# 429 ---------------------------------------------------------------------------------------------

# One Redis database per xdist worker: cache.clear() flushes the whole database, and two workers'
# keys (same key ids in their own test databases) must never share a counter.
_WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
REDIS_CACHE = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": f"redis://127.0.0.1:6379/{11 + _WORKER}",
        "KEY_PREFIX": "costlens-ingest-tests",
    }
}


@pytest.fixture
def redis_cache():
    from django.core.cache import cache

    with override_settings(CACHES=REDIS_CACHE):
        cache.clear()
        yield cache
        cache.clear()


@time_machine.travel("2026-04-10T12:00:10Z", tick=False)
@override_settings(INGEST_RATE_LIMIT_PER_MINUTE=3)
def test_429_with_retry_after_when_a_key_is_over_its_limit(redis_cache, acme_api, acme, globex_api, globex):
    for i in range(3):
        assert acme_api.post_events([make_event(i)]).status_code == 200
    response = acme_api.post_events([make_event("over")])
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 61
    assert not Event.objects.filter(org=acme, event_id="evt-over").exists()
    # The limit is per key: another org's key is not affected.
    assert globex_api.post_events([make_event("g")]).status_code == 200
    # The counter lives in Redis, shared by every web process.
    assert any(b"ratelimit:ingest" in k for k in redis_cache._cache.get_client().keys("*"))


@override_settings(INGEST_RATE_LIMIT_PER_MINUTE=2)
def test_the_rate_limit_window_resets_after_a_minute(redis_cache, acme_api):
    with time_machine.travel("2026-04-10T12:00:05Z", tick=False) as traveller:
        assert acme_api.post_events([make_event(1)]).status_code == 200
        assert acme_api.post_events([make_event(2)]).status_code == 200
        limited = acme_api.post_events([make_event(3)])
        assert limited.status_code == 429
        assert limited["Retry-After"] == "56"
        traveller.move_to("2026-04-10T12:01:01Z")
        assert acme_api.post_events([make_event(3)]).status_code == 200


@override_settings(
    INGEST_RATE_LIMIT_PER_MINUTE=2,
    CACHES={
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
        }
    },
)
def test_an_unreachable_rate_limit_store_does_not_block_ingest(acme_api, acme):
    response = acme_api.post_events([make_event(1)])
    assert response.status_code == 200
    assert Event.objects.filter(org=acme).count() == 1


# 503 ---------------------------------------------------------------------------------------------


def _admin_connection() -> psycopg.Connection:
    """A second session on the test database, outside Django."""
    db = connection.settings_dict
    return psycopg.connect(
        dbname=db["NAME"], user=db["USER"], host=db["HOST"], port=db["PORT"] or 5432, autocommit=True
    )


@pytest.mark.django_db(transaction=True)
def test_503_and_nothing_half_stored_when_the_database_connection_dies_mid_batch(acme_api, acme):
    """A real failure: another session locks usage_dirtybucket, so the request blocks on its last
    write after the events INSERT; we then terminate the request's backend (as a failover or an
    admin would). The request must answer 503 with Retry-After and leave nothing behind."""
    batch = [make_event(i, customer_id=f"cust_{i}") for i in range(50)]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        request_pid = cursor.fetchone()[0]

    with _admin_connection() as admin:
        admin.execute("BEGIN")
        admin.execute("LOCK TABLE usage_dirtybucket IN ACCESS EXCLUSIVE MODE")
        killed = threading.Event()

        def kill_when_blocked():
            deadline = time.time() + 20
            with _admin_connection() as watcher:
                while time.time() < deadline:
                    row = watcher.execute(
                        "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [request_pid]
                    ).fetchone()
                    if row and row[0] == "Lock":
                        watcher.execute("SELECT pg_terminate_backend(%s)", [request_pid])
                        killed.set()
                        return
                    time.sleep(0.02)

        killer = threading.Thread(target=kill_when_blocked)
        killer.start()
        response = acme_api.post_events(batch)
        killer.join()
        admin.execute("ROLLBACK")

    assert killed.is_set(), "the request never blocked on the locked table"
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "nothing was stored" in response.json()["detail"]
    assert _nothing_stored(acme)
    assert not DirtyBucket.objects.filter(org=acme).exists()
    assert not Customer.objects.filter(org=acme).exists()

    # The client retries the same batch: everything is stored, once.
    retry = acme_api.post_events(batch)
    assert retry.status_code == 200, retry.content
    assert retry.json()["accepted"] == 50
    assert Event.objects.filter(org=acme).count() == 50
    assert Customer.objects.filter(org=acme).count() == 50
    assert DirtyBucket.objects.filter(org=acme).count() == 1


@pytest.mark.django_db(transaction=True)
def test_503_when_a_statement_times_out_mid_batch(acme_api, acme):
    """A real OperationalError (lock_timeout) raised by the last write of the batch."""
    with connection.cursor() as cursor:
        cursor.execute("SET lock_timeout = '300ms'")
    try:
        with _admin_connection() as admin:
            admin.execute("BEGIN")
            admin.execute("LOCK TABLE usage_dirtybucket IN ACCESS EXCLUSIVE MODE")
            response = acme_api.post_events([make_event(i) for i in range(20)])
            admin.execute("ROLLBACK")
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert _nothing_stored(acme)
    assert acme_api.post_events([make_event(i) for i in range(20)]).json()["accepted"] == 20


@pytest.mark.django_db(transaction=True)
def test_503_when_the_database_is_gone_before_the_key_is_checked(acme, acme_api):
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    with _admin_connection() as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    response = acme_api.post_events([make_event(1)])
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    # Django's request cycle drops the broken connection (the test client skips that signal).
    close_old_connections()
    assert acme_api.post_events([make_event(1)]).status_code == 200


def test_a_fresh_key_works_immediately(acme):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key_create(org=acme).raw_key}")
    assert _raw_post(client, orjson.dumps({"events": [make_event(1)]})).status_code == 200

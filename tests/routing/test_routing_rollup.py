"""The routing rollup hook: hour rows replaced, day rows always the sum of their hours."""

from django.db.models import Sum

from routing.models import RouteChainStep, RouteModelStat, RouteQualityBin, RouteShadowPair
from tests.conftest import make_event

TABLES = [
    (RouteModelStat, ["route", "model", "band"], "requests"),
    (RouteQualityBin, ["route", "model", "qbin"], "calls"),
    (RouteChainStep, ["route", "from_model", "to_model", "from_attempt", "reason"], "steps"),
    (RouteShadowPair, ["route", "live_model", "shadow_model"], "pairs"),
]


def chain(rid, hour, **kw):
    return [
        make_event(
            f"{rid}-1",
            request_id=rid,
            route="r",
            model="claude-haiku-4-5",
            quality_score=0.4,
            router_confidence=0.3,
            timestamp=f"2026-04-10T{hour:02d}:10:00Z",
            **kw,
        ),
        make_event(
            f"{rid}-2",
            request_id=rid,
            attempt=2,
            route="r",
            fallback_reason="quality",
            quality_score=0.9,
            timestamp=f"2026-04-10T{hour:02d}:11:00Z",
            **kw,
        ),
        make_event(
            f"{rid}-s",
            request_id=rid,
            shadow=True,
            route="r",
            model="gpt-4o",
            quality_score=0.8,
            timestamp=f"2026-04-10T{hour:02d}:12:00Z",
            **kw,
        ),
    ]


def assert_days_sum_their_hours(org):
    for model, dims, metric in TABLES:
        hours = {
            tuple(r[d] for d in dims): r["n"]
            for r in model.objects.filter(org=org, grain="h").values(*dims).annotate(n=Sum(metric))
        }
        days = {
            tuple(r[d] for d in dims): r["n"]
            for r in model.objects.filter(org=org, grain="d").values(*dims).annotate(n=Sum(metric))
        }
        assert hours and hours == days, model.__name__


def test_day_rows_follow_every_run_whatever_order_hours_arrive_in(ingest, acme):
    ingest(chain("a", 14))
    ingest(chain("b", 9) + chain("c", 20))  # an earlier and a later hour of the same day
    ingest(chain("d", 14) + chain("e", 3))
    assert_days_sum_their_hours(acme)
    steps = RouteChainStep.objects.filter(org=acme, grain="d").aggregate(n=Sum("steps"))["n"]
    assert steps == 5
    # Re-running the same hours replaces rows, never adds to them.
    from django.core.management import call_command

    call_command("rollup", "--rebuild")
    assert RouteChainStep.objects.filter(org=acme, grain="d").aggregate(n=Sum("steps"))["n"] == 5
    assert_days_sum_their_hours(acme)


def test_other_orgs_rows_are_their_own(ingest, acme, globex, globex_api):
    ingest(chain("a", 10))
    ingest(chain("a", 10), client=globex_api)
    assert RouteModelStat.objects.filter(org=acme, grain="d").aggregate(n=Sum("requests"))["n"] == 1
    assert RouteModelStat.objects.filter(org=globex, grain="d").aggregate(n=Sum("requests"))["n"] == 1


def test_deleting_an_org_deletes_its_routing_rows_and_no_other(ingest, acme, globex, globex_api):
    # The routing rollup tables carry no database FK to the org (one check per inserted row at
    # commit); Django's CASCADE still removes an org's rows.
    ingest(chain("a", 10))
    ingest(chain("a", 10), client=globex_api)
    globex.delete()
    for model, _, _ in TABLES:
        assert not model.objects.filter(org_id=globex.id).exists(), model.__name__
        assert model.objects.filter(org=acme).exists(), model.__name__


def _hour_rows(org) -> dict[str, list[tuple]]:
    """Every hour row of the routing tables (floats rounded: the two paths may add in another order)."""
    rows = {}
    for model, _, _ in TABLES:
        fields = [f.attname for f in model._meta.concrete_fields if f.attname != "id"]
        rows[model.__name__] = sorted(
            tuple(round(v, 9) if isinstance(v, float) else v for v in r)
            for r in model.objects.filter(org=org, grain="h").values_list(*fields)
        )
    return rows


def test_the_portable_statements_give_the_postgresql_statements_rows(ingest, acme):
    """SPECS (what the SQLite demo runs) against the one-statement PostgreSQL hour, on the same events:
    first attempts with the default request_id (their own event_id, no entry in the partial
    (org_id, request_id) index) and with request_ids of their own, attempts out of order across
    batches, shadow calls of both kinds of request."""
    from django.db import connection

    from routing.rollup import SPECS, _replace_hour
    from tests.routing.test_route_analytics import generate

    events = generate(seed=3, n=60, default_ids=True)
    ingest(events, batch=13)
    by_postgresql = _hour_rows(acme)
    assert by_postgresql["RouteChainStep"] and by_postgresql["RouteShadowPair"]
    hours = {r[2] for r in by_postgresql["RouteModelStat"]}  # (org_id, grain, bucket, ...)
    with connection.cursor() as cursor:
        for hour in sorted(hours):
            for spec in SPECS:
                _replace_hour(cursor, spec, acme.id, hour)
    assert _hour_rows(acme) == by_postgresql

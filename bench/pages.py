"""Read-path benchmark: server time of GET /api/v1/usage (several shapes) and the dashboard pages.

Not a test (pytest never collects bench/). Needs the data set of bench/gen_dataset.py with its
rollups built (bench/rollup.py or `manage.py rollup --rebuild` against that database):

    .venv/bin/python bench/pages.py                       # costlens_usage_bench, 20 timed requests each
    .venv/bin/python bench/pages.py --runs 40 --db costlens_usage_bench

Requests go through Django's test Client in-process (logged in as the bench user for pages,
with an API key for the API), so the time is server time: URL routing, auth, selectors, SQL,
rendering — no network. Pages that answer 404 (not built yet) are reported as skipped.
Also times usage_report with the narrow rollups (slices) switched off, for comparison.
Target: p95 < 150 ms for every page and usage shape.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PAGES = ["/", "/models/", "/features/", "/customers/", "/routes/", "/margin/", "/prices/"]
TARGET_MS = 150


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", default="costlens_usage_bench")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = f"postgres://root@127.0.0.1:5432/{args.db}"
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "costlens.settings")
    import django

    django.setup()
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.db import connection, reset_queries
    from django.test import Client
    from django.utils import timezone

    from costlens.accounts.models import Organization
    from costlens.accounts.services import api_key_create
    from costlens.usage.selectors import truncate_hour, usage_report

    # Rollups are rewritten (DELETE + INSERT) by every rollup; without autovacuum (it is off on the dev
    # box) their dead rows would be read by every report. Production runs autovacuum.
    with connection.cursor() as cursor:
        for table in (
            "usage_hourlyrollup",
            "usage_dailyrollup",
            "usage_hourlyslice",
            "usage_dailyslice",
            "usage_dailyrendered",
            # routing's hook rewrites these in the same rollups
            "routing_routemodelstat",
            "routing_routequalitybin",
            "routing_routechainstep",
            "routing_routeshadowpair",
        ):
            cursor.execute(f"VACUUM ANALYZE {table}")
    org = Organization.objects.get(slug="bench")
    user = get_user_model().objects.get(username="bench@bench.test")
    web = Client()
    web.force_login(user)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {api_key_create(org=org, name='bench-pages').raw_key}")
    end = truncate_hour(timezone.now()) + timedelta(hours=1)
    d30 = {"start": (end - timedelta(days=30)).isoformat(), "end": end.isoformat()}
    d1 = {"start": (end - timedelta(days=1)).isoformat(), "end": end.isoformat()}

    usage_shapes = [
        ("default (7 days, totals)", {}),
        ("7d group_by=customer", {"group_by": "customer"}),
        ("7d group_by=model", {"group_by": "model"}),
        ("7d group_by=route,model", {"group_by": "route,model"}),
        ("7d group_by=feature", {"group_by": "feature"}),
        ("7d group_by=day", {"group_by": "day"}),
        ("7d group_by=hour", {"group_by": "hour"}),
        ("30d totals", d30),
        ("30d group_by=customer", {**d30, "group_by": "customer"}),
        ("30d group_by=customer,day", {**d30, "group_by": "customer,day"}),
        ("30d group_by=model,day", {**d30, "group_by": "model,day"}),
        ("30d customer=cust_0001 group_by=model", {**d30, "customer": "cust_0001", "group_by": "model"}),
        ("30d group_by=customer,feature", {**d30, "group_by": "customer,feature"}),
        ("24h group_by=hour,model", {**d1, "group_by": "hour,model"}),
    ]

    def measure(client, url, params=None) -> tuple[int, list[float]]:
        status = 0
        for _ in range(2):  # warm-up
            status = client.get(url, params or {}).status_code
        if status == 404:
            return status, []
        times = []
        for _ in range(args.runs):
            reset_queries()
            t = time.perf_counter()
            status = client.get(url, params or {}).status_code
            times.append((time.perf_counter() - t) * 1000)
        return status, times

    results = []

    def report(label: str, status: int, times: list[float], *, compare: bool = False) -> None:
        if not times:
            print(f"  {label:<48} SKIPPED (HTTP {status}: page not built yet)")
            return
        p50, p95 = statistics.median(times), pct(times, 95)
        ok = "ok" if p95 < TARGET_MS and status == 200 else "OVER" if status == 200 else f"HTTP {status}"
        print(f"  {label:<48} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms   {ok}")
        if not compare:
            results.append((label, status, p50, p95))

    n_events = org.event_set.count() if hasattr(org, "event_set") else None
    # The machine is shared: the load average says how far to trust the absolute figures. With
    # --runs 20 the p95 is the slowest request, so one stall anywhere on the machine sets it.
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(f"# {stamp}, db {args.db}, {n_events or '?'} events, load {load}")
    print("GET /api/v1/usage")
    for label, params in usage_shapes:
        status, times = measure(api, "/api/v1/usage", params)
        report(label, status, times)
    print("GET /api/v1/usage.csv")
    status, times = measure(api, "/api/v1/usage.csv", {**d30, "group_by": "customer"})
    report("30d group_by=customer", status, times)
    print("Dashboard pages")
    for page in PAGES:
        status, times = measure(web, page)
        report(page, status, times)
    print("usage_report without the narrow rollups (full 5-dimension rows only), for comparison")
    start7 = end - timedelta(days=7)
    for label, group_by, start in (
        ("7d totals", [], start7),
        ("7d group_by=customer", ["customer"], start7),
        ("30d group_by=customer", ["customer"], end - timedelta(days=30)),
        ("30d group_by=model", ["model"], end - timedelta(days=30)),
    ):
        for slices in (True, False):
            times = []
            for _ in range(max(5, args.runs // 2)):
                t = time.perf_counter()
                usage_report(org, start=start, end=end, group_by=group_by, use_slices=slices)
                times.append((time.perf_counter() - t) * 1000)
            report(f"{label} ({'slices' if slices else 'full rollup only'})", 200, times, compare=True)
    over = [r for r in results if r[3] >= TARGET_MS]
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"RESULT measured={len(results)} over_target={len(over)} target_p95_ms={TARGET_MS} load {load}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Rollup benchmark: dirty-bucket recompute throughput and a full rebuild, vs the raw scan ceiling.

Not a test (pytest never collects bench/). Needs the data set of bench/gen_dataset.py:

    .venv/bin/python bench/gen_dataset.py                      # 10M events into costlens_usage_bench
    .venv/bin/python bench/rollup.py                           # recompute ~1M events + full rebuild
    .venv/bin/python bench/rollup.py --events 1000000 --no-rebuild

1. Ceiling: a plain `SELECT count(*), sum(cost_nanos) ... GROUP BY <5 dimensions>` over the same
   rows (the cheapest GROUP BY that reads them), in events/s.
2. Recompute: marks the most recent hours holding ~`--events` events dirty and times rollup_org
   (targets: >= 150,000 events/s), with every registered hour hook (e.g. routing's) and without.
3. Rebuild: `rollup --rebuild` of every event (target: 10M in < 90 s), and the ceiling over all rows.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", default="costlens_usage_bench")
    parser.add_argument("--events", type=int, default=1_000_000, help="events to recompute as dirty buckets")
    parser.add_argument("--no-rebuild", action="store_true")
    parser.add_argument("--no-recompute", action="store_true")
    parser.add_argument(
        "--rebuild-without-hooks",
        action="store_true",
        help="rebuild the usage rollups only (other apps' hooks off)",
    )
    parser.add_argument(
        "--workers", type=int, default=2, help="connections recomputing at once (rollup --workers)"
    )
    args = parser.parse_args()

    os.environ["DATABASE_URL"] = f"postgres://root@127.0.0.1:5432/{args.db}"
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "costlens.settings")
    import django

    django.setup()
    from django.db import connection, transaction

    from costlens.accounts.models import Organization
    from costlens.usage import rollup
    from costlens.usage.services import buckets_mark_all_dirty, buckets_mark_dirty

    org = Organization.objects.get(slug="bench")
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT date_trunc('hour', timestamp) AS h, count(*) FROM usage_event WHERE org_id = %s
               GROUP BY h ORDER BY h DESC""",
            [org.id],
        )
        per_hour = cursor.fetchall()
    total_events = sum(n for _, n in per_hour)
    hours, picked = [], 0
    for hour, n in per_hour:
        if picked >= args.events:
            break
        hours.append(hour)
        picked += n
    lo, hi = min(hours), max(hours) + rollup.HOUR
    log(
        f"{total_events:,} events in {len(per_hour)} hours; "
        f"recomputing {len(hours)} hours = {picked:,} events"
    )

    def ceiling(where: str, params: list) -> float:
        with connection.cursor() as cursor:
            t = time.perf_counter()
            # Counted in the database: the rollup writes its groups there too, and fetching the
            # 2.5M groups of a rebuild made this process, not the rollup, the one near 650 MB.
            cursor.execute(
                f"""SELECT count(*) FROM (
                        SELECT count(*), sum(cost_nanos) FROM usage_event WHERE org_id = %s {where}
                        GROUP BY date_trunc('hour', timestamp), customer, feature, model, route, provider
                    ) AS groups""",
                [org.id, *params],
            )
            cursor.fetchone()
            return time.perf_counter() - t

    def recompute(label: str) -> float:
        with transaction.atomic():
            buckets_mark_dirty(org_id=org.id, hours=hours)
        t = time.perf_counter()
        done = rollup.rollup_all(workers=args.workers).buckets
        elapsed = time.perf_counter() - t
        assert done == len(hours), (done, len(hours))
        log(f"recompute {label}: {elapsed:.1f} s → {picked / elapsed:,.0f} events/s")
        return elapsed

    rollup_tables = (
        "usage_hourlyrollup",
        "usage_dailyrollup",
        "usage_hourlyslice",
        "usage_dailyslice",
        "usage_dailyrendered",
    )
    routing_tables = tuple(
        f"routing_{name}"
        for name in ("routemodelstat", "routequalitybin", "routechainstep", "routeshadowpair")
    )
    for table in rollup_tables + routing_tables:
        # Every rollup rewrites (DELETE + INSERT) its rows. Production runs autovacuum; on the dev box it
        # is off, and after a few runs the tables were more than half dead rows (2.5 GB for the hourly
        # rollup's 2.5M live rows), which every INSERT and index probe then paid for. Vacuumed first,
        # as autovacuum would have, and fresh statistics.
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM ANALYZE {table}")
    if args.no_recompute:
        hours = []
    ceiling("AND timestamp >= %s AND timestamp < %s", [lo, hi])  # warm the cache like the others
    scan = ceiling("AND timestamp >= %s AND timestamp < %s", [lo, hi])
    log(f"workers: {args.workers}")
    log(f"ceiling (plain GROUP BY scan, same rows): {scan:.2f} s → {picked / scan:,.0f} events/s")
    if not hours:
        return rebuild(args, org, total_events, ceiling, rollup, buckets_mark_all_dirty)
    with_hooks = recompute(f"with hooks {[h.__module__ for h in rollup.HOUR_HOOKS]}")
    saved, saved_days = list(rollup.HOUR_HOOKS), list(rollup.DAY_HOOKS)
    rollup.HOUR_HOOKS[:], rollup.DAY_HOOKS[:] = [], []
    try:
        usage_only = recompute("usage rollups only (no hooks)")
    finally:
        rollup.HOUR_HOOKS[:], rollup.DAY_HOOKS[:] = saved, saved_days
    print(
        f"RESULT recompute events={picked} with_hooks_eps={picked / with_hooks:.0f} "
        f"usage_only_eps={picked / usage_only:.0f} ceiling_eps={picked / scan:.0f} "
        f"ratio_with_hooks={scan / with_hooks:.2f} target_eps=150000"
    )

    if not args.no_rebuild:
        rebuild(args, org, total_events, ceiling, rollup, buckets_mark_all_dirty)
    return 0


def rebuild(args, org, total_events, ceiling, rollup, buckets_mark_all_dirty) -> int:
    full_scan = ceiling("", [])
    rate = total_events / full_scan
    log(f"ceiling over all {total_events:,} events: {full_scan:.1f} s → {rate:,.0f} events/s")
    saved, saved_days = list(rollup.HOUR_HOOKS), list(rollup.DAY_HOOKS)
    if args.rebuild_without_hooks:
        rollup.HOUR_HOOKS[:], rollup.DAY_HOOKS[:] = [], []
    try:
        t = time.perf_counter()
        marked = buckets_mark_all_dirty()
        mark_s = time.perf_counter() - t
        run = rollup.rollup_all(workers=args.workers)
        elapsed = time.perf_counter() - t
    finally:
        rollup.HOUR_HOOKS[:], rollup.DAY_HOOKS[:] = saved, saved_days
    hooks = "without hooks" if args.rebuild_without_hooks else f"with hooks {[h.__module__ for h in saved]}"
    log(f"rebuild {hooks}: marked {marked} hours in {mark_s:.1f} s; {run.buckets} hours; {elapsed:.1f} s")
    print(
        f"RESULT rebuild events={total_events} seconds={elapsed:.1f} eps={total_events / elapsed:.0f} "
        f"ceiling_seconds={full_scan:.1f} target_seconds=90 hooks={not args.rebuild_without_hooks}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

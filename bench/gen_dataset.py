"""Build the benchmark data set: N usage events (default 10M) COPY'd straight into usage_event.

Not a test (pytest never collects bench/). Run from the project root:

    .venv/bin/python bench/gen_dataset.py                          # 10,000,000 events
    .venv/bin/python bench/gen_dataset.py --events 1000000 --db costlens_usage_bench_1m

It drops and recreates its own database (`--db`, default costlens_usage_bench), migrates it,
creates the org `bench` (with user bench@bench.test / bench-pass-123), then writes the events
from `--workers` processes with COPY, with usage_event's indexes and constraints dropped during
the load and rebuilt afterwards. Shape (DESIGN.md "Performance"): 30 days ending at the current
hour, 500 customers (skewed volume), 25 models (one unpriced), 12 routes, 15 features. Each
customer uses 2–4 features, each feature goes through one route, each route splits its requests
over 2–3 models with fixed weights; ~8% of requests fall back to a second attempt (the first is
marked superseded), ~3% get a shadow call on the route's baseline model, ~1.5% error.
Costs are computed with the real price arithmetic (costlens.pricing.cost). Rollups are NOT
built: run `manage.py rollup --rebuild` (bench/rollup.py times it).
"""

from __future__ import annotations

import argparse
import io
import math
import multiprocessing
import os
import random
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from costlens.pricing.cost import Price, cost_nanos  # noqa: E402

PYTHON = str(ROOT / ".venv" / "bin" / "python")
DAYS = 30
N_CUSTOMERS = 500
N_FEATURES = 15
N_ROUTES = 12
FALLBACK_SHARE = 0.08
SHADOW_SHARE = 0.03
ERROR_SHARE = 0.015
BASELINE = "claude-sonnet-4-6"

# (model, provider, input $/1M, output $/1M); prices of catalog models are the catalog's.
CATALOG_MODELS = [
    ("gemini-2-0-flash", "google", "0.10", "0.40"),
    ("gpt-4o-mini", "openai", "0.15", "0.60"),
    ("claude-haiku-3-5", "anthropic", "1.00", "5.00"),
    ("gpt-4o", "openai", "2.50", "10.00"),
    ("claude-sonnet-3-5", "anthropic", "3.00", "15.00"),
    ("claude-opus-4", "anthropic", "15.00", "75.00"),
    ("claude-sonnet-4", "anthropic", "3.00", "15.00"),
    ("gpt-5-nano", "openai", "0.05", "0.40"),
    ("gemini-2-5-flash-lite", "google", "0.10", "0.40"),
    ("deepseek-v3-2", "deepseek", "0.28", "0.42"),
    ("gemini-2-5-pro", "google", "1.00", "10.00"),
    ("claude-sonnet-4-6", "anthropic", "3.00", "15.00"),
    ("claude-opus-4-6", "anthropic", "5.00", "25.00"),
    ("claude-haiku-4-5", "anthropic", "1.00", "5.00"),
]
EXTRA_MODELS = [
    ("mistral-large-3", "mistral", "2.00", "6.00"),
    ("mistral-small-3-2", "mistral", "0.10", "0.30"),
    ("llama-4-maverick", "meta", "0.27", "0.85"),
    ("llama-4-scout", "meta", "0.18", "0.59"),
    ("qwen3-235b", "qwen", "0.22", "0.88"),
    ("command-r-plus", "cohere", "2.50", "10.00"),
    ("gpt-5", "openai", "1.25", "10.00"),
    ("gpt-5-mini", "openai", "0.25", "2.00"),
    ("gemini-2-5-flash", "google", "0.30", "2.50"),
    ("grok-4", "xai", "3.00", "15.00"),
]
UNPRICED_MODEL = ("acme-finetune-7b", "self-hosted", None, None)
ALL_MODELS = CATALOG_MODELS + EXTRA_MODELS + [UNPRICED_MODEL]
FALLBACK_REASONS = ("low_confidence", "error", "timeout", "quality", "rate_limited")

COLUMNS = (
    "org_id",
    "event_id",
    "timestamp",
    "received_at",
    "model_raw",
    "model",
    "provider",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "customer",
    "feature",
    "route",
    "request_id",
    "attempt",
    "fallback_reason",
    "is_error",
    "latency_ms",
    "router_confidence",
    "quality_score",
    "shadow",
    "superseded",
    "unpriced",
    "cost_nanos",
    "computed_cost_nanos",
    "client_cost_nanos",
    "baseline_cost_nanos",
    "revenue_nanos",
    "metadata",
)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def admin_url() -> str:
    return "postgresql://root@127.0.0.1:5432/postgres"


def db_url(name: str) -> str:
    return f"postgres://root@127.0.0.1:5432/{name}"


def prices() -> dict[str, Price | None]:
    out: dict[str, Price | None] = {}
    for model, _, p_in, p_out in ALL_MODELS:
        out[model] = (
            None
            if p_in is None
            else Price.from_decimals(input_per_mtok=Decimal(p_in), output_per_mtok=Decimal(p_out))
        )
    return out


class World:
    """The fixed, seeded shape of the org: who uses what, which route splits how."""

    def __init__(self, seed: int = 42):
        rng = random.Random(seed)
        self.models = [m for m, *_ in ALL_MODELS]
        self.provider = {m: p for m, p, *_ in ALL_MODELS}
        self.customers = [f"cust_{i:04d}" for i in range(N_CUSTOMERS)]
        # Skewed volume: a few big customers, a long tail.
        self.customer_weights = [1.0 / (rank + 1) ** 0.8 for rank in range(N_CUSTOMERS)]
        self.features = [
            "chat",
            "summarize",
            "search",
            "extract",
            "classify",
            "translate",
            "code-review",
            "autocomplete",
            "agent",
            "email-draft",
            "support-reply",
            "sql-gen",
            "rerank",
            "moderation",
            "report",
        ][:N_FEATURES]
        self.customer_features = [rng.sample(self.features, rng.randint(2, 4)) for _ in range(N_CUSTOMERS)]
        self.routes = [
            f"route-{name}"
            for name in (
                "default",
                "cheap-first",
                "quality",
                "code",
                "long-ctx",
                "batch",
                "realtime",
                "eu",
                "support",
                "agentic",
                "extraction",
                "search",
            )
        ][:N_ROUTES]
        self.feature_route = {f: self.routes[i % N_ROUTES] for i, f in enumerate(self.features)}
        priced = [m for m, _, p, _ in ALL_MODELS if p is not None and m != BASELINE]
        self.route_models: dict[str, list[str]] = {}
        self.route_weights: dict[str, list[float]] = {}
        self.route_fallback: dict[str, str] = {}
        for i, route in enumerate(self.routes):
            k = rng.randint(2, 3)
            models = rng.sample(priced, k)
            if i == 0:
                models[-1] = UNPRICED_MODEL[0]  # one route still sends some traffic to an unpriced model
            weights = sorted((rng.uniform(0.1, 1.0) for _ in range(k)), reverse=True)
            total = sum(weights)
            self.route_models[route] = models
            self.route_weights[route] = [w / total for w in weights]
            self.route_fallback[route] = BASELINE if i % 3 else "claude-opus-4-6"
        # Usage-billed customers earn per-request revenue; the rest pay a monthly fee.
        self.usage_billed = {c for c in self.customers if rng.random() < 0.2}


_second_text: dict[int, str] = {}


def fmt_epoch(epoch: float) -> str:
    """COPY text of a UTC instant; strftime is the generator's hot spot, so seconds are cached."""
    whole = int(epoch)
    text = _second_text.get(whole)
    if text is None:
        if len(_second_text) > 100_000:
            _second_text.clear()
        text = _second_text[whole] = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(whole))
    return f"{text}.{int((epoch - whole) * 1e6):06d}+00"


def generate_chunk(args: tuple) -> int:
    """One worker: events [first, last) of the time line, COPY'd in 50k-row pieces."""
    db, org_id, first, last, total, start_ts, seed = args
    world = World()
    price = prices()
    baseline_price = price[BASELINE]
    rng = random.Random(seed)
    span = DAYS * 86400.0
    start_epoch = start_ts.timestamp()
    cum_customer = list(_cumulative(world.customer_weights))
    written = 0
    i = first
    with psycopg.connect(db_url(db).replace("postgres://", "postgresql://"), autocommit=True) as conn:
        conn.execute("SET synchronous_commit = off")
        buf = io.StringIO()
        rows_in_buf = 0
        while i < last:
            ts = start_epoch + span * i / total + rng.random() * span / total
            customer_idx = _pick(cum_customer, rng.random())
            customer = world.customers[customer_idx]
            feature = rng.choice(world.customer_features[customer_idx])
            route = world.feature_route[feature]
            model = rng.choices(world.route_models[route], world.route_weights[route])[0]
            inp = int(math.exp(rng.uniform(math.log(200), math.log(6000))))
            out = int(math.exp(rng.uniform(math.log(40), math.log(1200))))
            cache_read = inp // 2 if rng.random() < 0.3 else 0
            reasoning = out // 3 if rng.random() < 0.1 else 0
            request_id = f"r{i}"
            r = rng.random()
            fallback = r < FALLBACK_SHARE
            shadow = FALLBACK_SHARE <= r < FALLBACK_SHARE + SHADOW_SHARE
            attempts = [(1, model, fallback, "", False)]
            if fallback:
                attempts.append((2, world.route_fallback[route], False, rng.choice(FALLBACK_REASONS), False))
            if shadow:
                attempts.append((1, BASELINE, False, "", True))
            for n, (attempt, m, superseded, reason, is_shadow) in enumerate(attempts):
                p = price[m]
                tokens = {
                    "input_tokens": inp,
                    "output_tokens": out,
                    "cache_read_tokens": cache_read,
                    "reasoning_tokens": reasoning,
                }
                cost = cost_nanos(p, **tokens) if p is not None else 0
                baseline = cost_nanos(baseline_price, **tokens)
                revenue = (
                    2_000_000 if customer in world.usage_billed and attempt == 1 and not is_shadow else 0
                )
                event_ts = ts + 0.9 * n
                latency = round(
                    math.exp(6.6 + 0.7 * (rng.random() + rng.random() + rng.random() - 1.5) * 2), 1
                )
                quality = f"{0.6 + 0.4 * rng.random():.3f}" if rng.random() < 0.3 else "\\N"
                buf.write(
                    "\t".join(
                        (
                            str(org_id),
                            f"e{i}-{n}",
                            fmt_epoch(event_ts),
                            fmt_epoch(event_ts + 2),
                            m,
                            m,
                            world.provider[m],
                            str(inp),
                            str(out),
                            str(cache_read),
                            "0",
                            str(reasoning),
                            customer,
                            feature,
                            route,
                            request_id,
                            str(attempt),
                            reason,
                            "t" if rng.random() < ERROR_SHARE else "f",
                            str(latency),
                            f"{rng.random():.3f}",
                            quality,
                            "t" if is_shadow else "f",
                            "t" if superseded else "f",
                            "t" if p is None else "f",
                            str(cost),
                            str(cost),
                            "\\N",
                            str(baseline),
                            str(revenue),
                            "\\N",
                        )
                    )
                )
                buf.write("\n")
                rows_in_buf += 1
                i += 1
            if rows_in_buf >= 50_000 or i >= last:
                with (
                    conn.cursor() as cur,
                    cur.copy(f"COPY usage_event ({', '.join(COLUMNS)}) FROM STDIN") as cp,
                ):
                    cp.write(buf.getvalue())
                written += rows_in_buf
                buf = io.StringIO()
                rows_in_buf = 0
    return written


def _cumulative(weights: list[float]):
    total = sum(weights)
    acc = 0.0
    for w in weights:
        acc += w / total
        yield acc


def _pick(cumulative: list[float], x: float) -> int:
    import bisect

    return min(bisect.bisect_left(cumulative, x), len(cumulative) - 1)


def manage(db: str, *args: str) -> str:
    env = dict(os.environ, DATABASE_URL=db_url(db), DEBUG="1")
    out = subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}")
    return out.stdout


def create_database(name: str) -> None:
    with psycopg.connect(admin_url(), autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            [name],
        )
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def seed_reference_rows(conn: psycopg.Connection, org_id: int, world: World, start: datetime) -> None:
    """Extra priced models, customers with monthly fees, routes with target splits."""
    for model, provider, p_in, p_out in EXTRA_MODELS:
        conn.execute(
            """INSERT INTO pricing_modelprice (model, provider, effective_from, input_per_mtok,
                   output_per_mtok,
                   source, created_at) VALUES (%s, %s, '2025-01-01', %s, %s, 'bench', now())
               ON CONFLICT DO NOTHING""",
            [model, provider, p_in, p_out],
        )
    rng = random.Random(7)
    for c in world.customers:
        cur = conn.execute(
            """INSERT INTO customers_customer (org_id, external_id, name, plan, segment, metadata, created_at)
               VALUES (%s, %s, %s, '', '', '{}', now()) RETURNING id""",
            [org_id, c, c.replace("cust_", "Customer ")],
        )
        customer_pk = cur.fetchone()[0]
        if c not in world.usage_billed:
            month_start = start.replace(day=1, hour=0)
            for m in range(2):
                p_start = (month_start + timedelta(days=32 * m)).replace(day=1)
                p_end = (p_start + timedelta(days=32)).replace(day=1)
                conn.execute(
                    """INSERT INTO customers_revenueentry (org_id, customer_id, amount_nanos, period_start,
                           period_end, description, created_at)
                       VALUES (%s, %s, %s, %s, %s, 'monthly', now())""",
                    [org_id, customer_pk, rng.choice((49, 99, 299, 999)) * 10**9, p_start, p_end],
                )
    import json

    for route in world.routes:
        split = {m: str(round(w, 4)) for m, w in zip(world.route_models[route], world.route_weights[route])}
        conn.execute(
            """INSERT INTO routing_route (org_id, name, target_split, baseline_model, fallback_chain,
                   auto_created, created_at, updated_at)
               VALUES (%s, %s, %s, NULL, %s, false, now(), now())""",
            [org_id, route, json.dumps(split), json.dumps([world.route_fallback[route]])],
        )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--db", default="costlens_usage_bench")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    t0 = time.perf_counter()
    log(f"creating database {args.db}")
    create_database(args.db)
    manage(args.db, "migrate", "--noinput")
    slug = manage(args.db, "create_org", "Bench").strip().splitlines()[-1]
    manage(
        args.db, "create_user", "bench@bench.test", "--org", slug, "--admin", "--password", "bench-pass-123"
    )
    url = db_url(args.db).replace("postgres://", "postgresql://")
    now_hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    start = now_hour - timedelta(days=DAYS)
    with psycopg.connect(url, autocommit=True) as conn:
        org_id = conn.execute("SELECT id FROM accounts_organization WHERE slug = %s", [slug]).fetchone()[0]
        seed_reference_rows(conn, org_id, World(), start)
        constraints = conn.execute(
            """SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
               WHERE conrelid = 'usage_event'::regclass AND contype <> 'p'"""
        ).fetchall()
        indexes = conn.execute(
            """SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'usage_event'
               AND indexname NOT IN (
                   SELECT conname FROM pg_constraint WHERE conrelid = 'usage_event'::regclass)"""
        ).fetchall()
        for name, _ in constraints:
            conn.execute(f'ALTER TABLE usage_event DROP CONSTRAINT "{name}"')
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')
    log(f"org {slug} (id {org_id}); loading {args.events:,} events with {args.workers} COPY workers")

    t_load = time.perf_counter()
    # Each worker owns a contiguous stretch of the time line (events are generated in time order).
    step = math.ceil(args.events / args.workers)
    jobs = [
        (args.db, org_id, w * step, min(args.events, (w + 1) * step), args.events, start, 1000 + w)
        for w in range(args.workers)
    ]
    with multiprocessing.get_context("fork").Pool(args.workers) as pool:
        written = sum(pool.map(generate_chunk, jobs))
    load_s = time.perf_counter() - t_load
    log(f"COPY done: {written:,} rows in {load_s:.1f} s ({written / load_s:,.0f} rows/s)")

    t_idx = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '1GB'")
        for _, definition in indexes:
            conn.execute(definition)
        for name, definition in constraints:
            conn.execute(f'ALTER TABLE usage_event ADD CONSTRAINT "{name}" {definition}')
        conn.execute("VACUUM ANALYZE usage_event")
        count = conn.execute("SELECT count(*) FROM usage_event").fetchone()[0]
    log(f"indexes and constraints rebuilt, vacuumed in {time.perf_counter() - t_idx:.1f} s")
    log(
        f"{count:,} events in {args.db}, window {start:%Y-%m-%d %H:%M} → {now_hour:%Y-%m-%d %H:%M} UTC; "
        f"total {time.perf_counter() - t0:.1f} s"
    )
    print(f"DATABASE_URL={db_url(args.db)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Ingest benchmark: POST /api/v1/events over real HTTP (gunicorn, real PostgreSQL) vs raw COPY.

Not a test (pytest never collects bench/). Run from the project root:

    .venv/bin/python bench/ingest.py                 # 1,000,000 events, 4 client threads
    .venv/bin/python bench/ingest.py --events 100000 --clients 4 --workers 2

It creates (drops first) its own database, migrates it, creates an org and an API key with the
operator commands, starts gunicorn, posts `--events` events in 1,000-event batches of which 20%
re-send event_ids of earlier batches (duplicates), from `--clients` keep-alive connections, and
then measures the ceiling: raw COPY of the same unique rows, in 1,000-row transactions from the
same number of connections, into a table of the same shape with a unique (org_id, event_id) index.
"""

from __future__ import annotations

import argparse
import http.client
import os
import queue
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import psycopg

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")
BATCH = 1000
DUPLICATE_SHARE = 0.2

MODELS = [
    "claude-sonnet-4-6",
    "claude-haiku-4-5",
    "claude-opus-4-6",
    "gpt-4o",
    "gpt-4o-mini",
    "gpt-5-nano",
    "gemini-2-5-pro",
    "gemini-2-5-flash-lite",
    "deepseek-v3-2",
    "anthropic/claude-sonnet-4-6",
    "openai/gpt-4o-2024-08-06",
]
ROUTES = [f"route-{i}" for i in range(12)]
FEATURES = [f"feature-{i}" for i in range(15)]
CUSTOMERS = [f"cust_{i:04d}" for i in range(500)]


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def make_events(n_unique: int, seed: int = 7) -> list[dict]:
    """Realistic events: ~5% of requests fall back to a second attempt (same request_id)."""
    rng = random.Random(seed)
    start = datetime(2026, 4, 3, tzinfo=UTC)
    events: list[dict] = []
    i = 0
    while len(events) < n_unique:
        ts = start + timedelta(milliseconds=250 * i)
        inp = rng.randint(50, 4000)
        out = rng.randint(10, 1500)
        cache_read = rng.choice((0, 0, 0, inp // 2))
        event = {
            "event_id": f"evt-{i:08d}",
            "timestamp": ts.isoformat().replace("+00:00", "Z"),
            "model": rng.choice(MODELS),
            "input_tokens": inp,
            "output_tokens": out,
            "cache_read_tokens": cache_read,
            "customer_id": rng.choice(CUSTOMERS),
            "feature": rng.choice(FEATURES),
            "route": rng.choice(ROUTES),
            "latency_ms": rng.randint(80, 9000),
            "router_confidence": round(rng.random(), 3),
        }
        if rng.random() < 0.3:
            event["quality_score"] = round(rng.random(), 2)
        if rng.random() < 0.2:
            event["metadata"] = {"region": rng.choice(("eu", "us")), "tier": rng.randint(1, 3)}
        events.append(event)
        if rng.random() < 0.05 and len(events) < n_unique:
            retry = dict(event)
            retry.update(
                event_id=f"evt-{i:08d}-a2",
                request_id=event["event_id"],
                attempt=2,
                fallback_reason="low_confidence",
                model="claude-sonnet-4-6",
                timestamp=(ts + timedelta(milliseconds=900)).isoformat().replace("+00:00", "Z"),
            )
            events.append(retry)
        i += 1
    return events


def make_batches(total: int, seed: int = 11) -> tuple[list[bytes], int]:
    """Batches of 1,000 events; 20% of each batch re-send events of earlier, acknowledged batches.

    A re-send is what a client does after a timeout or a lost answer, so the re-sent events come
    from batches 8 to 20 back (already committed), not from batches still in flight.
    """
    rng = random.Random(seed)
    n_batches = max(1, total // BATCH)
    dups_per_batch = int(BATCH * DUPLICATE_SHARE)
    unique = make_events(n_batches * BATCH)
    bodies = []
    cursor = 0
    for k in range(n_batches):
        if k < 10:
            batch = unique[cursor : cursor + BATCH]
            cursor += BATCH
        else:
            fresh = unique[cursor : cursor + BATCH - dups_per_batch]
            lo, hi = max(0, cursor - 20 * BATCH), cursor - 8 * BATCH
            resent = [unique[i] for i in rng.sample(range(lo, hi), dups_per_batch)]
            cursor += len(fresh)
            batch = fresh + resent
            rng.shuffle(batch)
        bodies.append(orjson.dumps({"events": batch}))
    return bodies, cursor


def admin_url(db: str) -> str:
    return f"postgresql://root@127.0.0.1:5432/{db}"


def create_database(name: str) -> None:
    with psycopg.connect(admin_url("postgres"), autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [name])
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def manage(env: dict, *args: str) -> str:
    out = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )
    return out.stdout.strip()


def wait_for_port(port: int, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/api/schema/")
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not start")


def cpu_seconds(pids) -> float:
    """user + system CPU of these processes so far (Linux /proc), so that the figures can be read
    independently of whatever else the machine runs at the same time."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / tick


def peak_rss_mb(pids) -> list[float]:
    """Each process's peak resident memory so far (VmHWM), in MB."""
    peaks = []
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except FileNotFoundError:
            continue
        kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))
        peaks.append(kb / 1024)
    return peaks


def children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def backend_pids(db: str) -> list[int]:
    with psycopg.connect(admin_url("postgres"), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND backend_type = 'client backend'", [db]
        ).fetchall()
    return [r[0] for r in rows]


class BackendCpu:
    """CPU of every PostgreSQL backend of the database during a run, sampled twice a second, so
    backends that come and go (Django reconnects after CONN_MAX_AGE) are all counted."""

    def __init__(self, db: str):
        self.db = db
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        for pid in backend_pids(self.db):
            cpu = cpu_seconds([pid])
            self.first.setdefault(pid, cpu)
            self.last[pid] = cpu

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            self._sample()

    def __enter__(self) -> BackendCpu:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    @property
    def seconds(self) -> float:
        return sum(self.last[pid] - self.first[pid] for pid in self.last)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1))))
    return ordered[k]


def post_all(port: int, key: str, bodies: list[bytes], clients: int) -> dict:
    work: queue.Queue = queue.Queue()
    for body in bodies:
        work.put(body)
    latencies: list[float] = []
    totals = {"accepted": 0, "duplicates": 0, "rejected": 0, "non_200": 0}
    lock = threading.Lock()
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        while True:
            try:
                body = work.get_nowait()
            except queue.Empty:
                break
            t0 = time.perf_counter()
            conn.request("POST", "/api/v1/events", body=body, headers=headers)
            response = conn.getresponse()
            payload = response.read()
            elapsed = time.perf_counter() - t0
            result = orjson.loads(payload) if response.status in (200, 207) else {}
            with lock:
                latencies.append(elapsed)
                if response.status != 200:
                    totals["non_200"] += 1
                    if totals["non_200"] <= 3:
                        log(f"status {response.status}: {payload[:200]!r}")
                for k in ("accepted", "duplicates", "rejected"):
                    totals[k] += result.get(k, 0)
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    return {"wall": wall, "latencies": latencies, **totals}


def copy_text(rows: list[tuple]) -> bytes:
    """Rows as COPY text format, encoded up front so the client costs nothing while timing."""

    def cell(v) -> str:
        if v is None:
            return "\\N"
        if isinstance(v, bool):
            return "t" if v else "f"
        return str(v).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")

    return "".join("\t".join(cell(v) for v in row) + "\n" for row in rows).encode()


RAW_COLUMNS = (
    "org_id, event_id, timestamp, received_at, model_raw, model, provider, input_tokens, output_tokens, "
    "cache_read_tokens, cache_write_tokens, reasoning_tokens, customer, feature, route, request_id, "
    "attempt, fallback_reason, is_error, latency_ms, router_confidence, quality_score, shadow, superseded, "
    "unpriced, cost_nanos, computed_cost_nanos, client_cost_nanos, baseline_cost_nanos, revenue_nanos, "
    "metadata"
)


def raw_copy(db: str, org_id: int, n_unique: int, clients: int) -> dict:
    """COPY the same unique rows (as stored by ingest) in 1,000-row transactions: the ceiling."""
    with psycopg.connect(admin_url(db), autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_raw")
        conn.execute("CREATE TABLE bench_raw (LIKE usage_event INCLUDING DEFAULTS INCLUDING IDENTITY)")
        conn.execute("ALTER TABLE bench_raw ADD PRIMARY KEY (id)")
        conn.execute("CREATE UNIQUE INDEX bench_raw_org_event ON bench_raw (org_id, event_id)")
        with conn.cursor() as cur:
            select = RAW_COLUMNS.replace("metadata", "metadata::text")
            cur.execute(
                f"SELECT {select} FROM usage_event WHERE org_id = %s AND event_id LIKE 'evt-%%' ORDER BY id",
                [org_id],
            )
            rows = cur.fetchall()
    # A fresh org id so the rows do not collide with anything; same shape, same values.
    rows = [(org_id + 1, *r[1:]) for r in rows[:n_unique]]
    batches = [copy_text(rows[i : i + BATCH]) for i in range(0, len(rows), BATCH)]
    work: queue.Queue = queue.Queue()
    for b in batches:
        work.put(b)
    failures: list[BaseException] = []

    def worker() -> None:
        try:
            copy_batches()
        except BaseException as exc:
            failures.append(exc)
            raise

    backend_cpu: list[float] = []

    def copy_batches() -> None:
        with psycopg.connect(admin_url(db)) as conn:
            pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
            conn.commit()
            before = cpu_seconds([pid])
            while True:
                try:
                    data = work.get_nowait()
                except queue.Empty:
                    break
                with conn.cursor() as cur, cur.copy(f"COPY bench_raw ({RAW_COLUMNS}) FROM STDIN") as copy:
                    copy.write(data)
                conn.commit()
            backend_cpu.append(cpu_seconds([pid]) - before)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    if failures:
        raise RuntimeError("raw COPY failed") from failures[0]
    return {"rows": len(rows), "wall": wall, "rows_per_s": len(rows) / wall, "pg_cpu": sum(backend_cpu)}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--db", default="costlens_bench")
    parser.add_argument("--port", type=int, default=0, help="default: a free port")
    parser.add_argument("--keep-server", action="store_true", help="leave gunicorn running (for py-spy)")
    args = parser.parse_args()

    log(f"building {args.events:,} events in batches of {BATCH} ({DUPLICATE_SHARE:.0%} re-sent)")
    bodies, n_unique = make_batches(args.events)
    n_events = len(bodies) * BATCH
    kib = sum(map(len, bodies)) / len(bodies) / 1024
    log(f"{len(bodies)} batches, {kib:.0f} KiB each, {n_unique:,} unique")

    create_database(args.db)
    env = {
        **os.environ,
        "DATABASE_URL": admin_url(args.db).replace("postgresql://", "postgres://"),
        "DEBUG": "0",
        "SECRET_KEY": "bench-only-secret-key",
        "INGEST_RATE_LIMIT_PER_MINUTE": "0",
        "REDIS_URL": "",
    }
    if not args.port:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            args.port = probe.getsockname()[1]
    manage(env, "migrate", "--noinput")
    slug = manage(env, "create_org", "Bench Org").splitlines()[-1]
    key = manage(env, "create_api_key", slug).splitlines()[-1]
    with psycopg.connect(admin_url(args.db)) as conn:
        org_id = conn.execute("SELECT id FROM accounts_organization WHERE slug = %s", [slug]).fetchone()[0]
    log(f"database {args.db} migrated; org {slug} (id {org_id})")

    server = subprocess.Popen(
        [
            GUNICORN,
            "costlens.wsgi",
            "-w",
            str(args.workers),
            "--threads",
            "1",
            "-b",
            f"127.0.0.1:{args.port}",
            "--keep-alive",
            "30",
            "--timeout",
            "120",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    try:
        wait_for_port(args.port)
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited ({server.returncode}); is port {args.port} taken?")
        # Warm up each worker (imports, price book, connections) with events of their own, then
        # ANALYZE: without column statistics (a fresh table) the planner turns the superseded-
        # attempts probe into a scan of all the org's events, an artefact of the empty database.
        warm_bodies = [b.replace(b'"evt-', b'"warm-') for b in bodies[:4]]
        warm = post_all(args.port, key, warm_bodies, args.workers)
        with psycopg.connect(admin_url(args.db), autocommit=True) as conn:
            conn.execute("ANALYZE usage_event")
        if warm["non_200"]:
            raise RuntimeError("warm-up requests failed; see the log above")
        log(f"warm-up done ({warm['wall']:.2f} s); posting with {args.clients} clients")
        workers = children(server.pid)
        load_before = os.getloadavg()[0]
        web_cpu = cpu_seconds(workers)
        client_cpu = time.process_time()
        with BackendCpu(args.db) as backends:
            result = post_all(args.port, key, bodies, args.clients)
        client_cpu = time.process_time() - client_cpu
        load_after = os.getloadavg()[0]
        web_cpu = cpu_seconds(workers) - web_cpu
        db_cpu = backends.seconds
        peak_rss = peak_rss_mb(workers)
    finally:
        if not args.keep_server:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)

    with psycopg.connect(admin_url(args.db)) as conn:
        stored = conn.execute(
            "SELECT count(*) FROM usage_event WHERE org_id = %s AND event_id LIKE 'evt-%%'", [org_id]
        ).fetchone()[0]
    lat = result["latencies"]
    ingest_eps = n_events / result["wall"]
    log("measuring raw COPY ceiling")
    raw = raw_copy(args.db, org_id, n_unique, args.clients)

    print()
    print(f"machine: {os.cpu_count()} cores; gunicorn -w {args.workers} --threads 1; {args.clients} clients")
    print(f"load average (1 min): {load_before:.1f} before, {load_after:.1f} after the ingest run")
    print(f"events posted:        {n_events:,} in {len(bodies):,} batches of {BATCH}")
    print(f"accepted/duplicates:  {result['accepted']:,} / {result['duplicates']:,}", end="")
    print(f" (rejected {result['rejected']})")
    print(f"stored in usage_event:{stored:,} (expected {n_unique:,})")
    print(f"non-200 answers:      {result['non_200']}")
    print(f"wall time:            {result['wall']:.2f} s")
    print(f"ingest events/s:      {ingest_eps:,.0f}  (stored rows/s {stored / result['wall']:,.0f})")
    print(f"batch latency p50:    {statistics.median(lat) * 1000:.1f} ms")
    print(f"batch latency p99:    {percentile(lat, 99) * 1000:.1f} ms")
    print(f"raw COPY rows/s:      {raw['rows_per_s']:,.0f}  ({raw['rows']:,} rows in {raw['wall']:.2f} s)")
    print(f"ratio ingest/raw:     {ingest_eps / raw['rows_per_s']:.2f}", end="")
    print("  (targets: ratio >= 0.35, events/s >= 25,000)")
    per_k = 1000 / n_events * 1000
    print(
        f"CPU per 1,000 events: web {web_cpu * per_k:.1f} ms + postgres {db_cpu * per_k:.1f} ms"
        f" (+ client {client_cpu * per_k:.1f} ms);"
        f" raw COPY postgres {raw['pg_cpu'] * 1000 / raw['rows'] * 1000:.1f} ms"
    )
    print(f"peak RSS per worker:  {', '.join(f'{mb:.0f} MB' for mb in peak_rss)}  (target < 400 MB)")
    capacity = os.cpu_count() / ((web_cpu + db_cpu) / n_events)
    print(f"=> on {os.cpu_count()} otherwise idle cores, ingest could sustain ~{capacity:,.0f} events/s")
    ok = stored == n_unique and result["non_200"] == 0 and result["accepted"] == n_unique
    if not ok:
        print("CHECK FAILED: stored/accepted counts do not match the unique events sent")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

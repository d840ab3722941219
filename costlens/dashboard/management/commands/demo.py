"""`python manage.py demo`: migrate, seed the "Acme AI" demo org once, print how to get in, serve.

Run by `make demo` with COSTLENS_DEMO=1 (SQLite at ./demo.sqlite3, Celery tasks in-process). While
serving, the periodic jobs of costlens/schedules.py run in a background thread, so events posted to
the API reach the dashboard just as they would with a Celery beat and worker.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from datetime import UTC, datetime

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections, connection
from django.test.utils import override_settings
from django.utils.module_loading import import_string
from tqdm import tqdm

from costlens import demo
from costlens.schedules import beat_schedule
from costlens.usage.models import DirtyBucket

log = logging.getLogger(__name__)


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as runserver does
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class PeriodicJobs(threading.Thread):
    """The demo's stand-in for `celery beat` + a worker: calls each scheduled task at its interval."""

    def __init__(self) -> None:
        super().__init__(name="costlens-periodic-jobs", daemon=True)
        self.stop = threading.Event()
        self.jobs = []
        for name, entry in beat_schedule().items():
            try:
                task = import_string(entry["task"])
            except ImportError:
                log.info("demo: scheduled task %s (%s) is not available; skipped", name, entry["task"])
                continue
            self.jobs.append((name, task, float(entry["schedule"])))

    def run(self) -> None:
        due = {name: time.monotonic() + interval for name, _, interval in self.jobs}
        while not self.stop.wait(1.0):
            for name, task, interval in self.jobs:
                if time.monotonic() < due[name]:
                    continue
                due[name] = time.monotonic() + interval
                try:
                    close_old_connections()
                    task()
                except Exception:
                    log.exception("demo: periodic job %s failed", name)
                finally:
                    connection.close()


class Command(BaseCommand):
    help = "Seed a demo organization with ~30 days of realistic LLM traffic (once) and serve CostLens."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=demo.DEFAULT_DAYS, help="days of history (30)")
        parser.add_argument("--customers", type=int, default=demo.DEFAULT_CUSTOMERS, help="customers (300)")
        parser.add_argument(
            "--events", type=int, default=demo.DEFAULT_EVENTS, help="approximate number of events (150000)"
        )
        parser.add_argument("--seed", type=int, default=demo.DEFAULT_SEED, help="random seed (deterministic)")
        parser.add_argument("--reseed", action="store_true", help="delete the demo org and seed it again")
        parser.add_argument("--no-serve", action="store_true", help="seed and print, but do not serve")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args, days, customers, events, seed, reseed, no_serve, port, **options):
        if not (settings.DEMO or settings.DEBUG):
            raise CommandError(
                "The demo seeds a fake organization; run it with COSTLENS_DEMO=1 (`make demo`), "
                "never against a production configuration."
            )
        if min(days, customers, events) < 1:
            raise CommandError("--days, --customers and --events must be at least 1.")
        if settings.DEMO and "EMAIL_BACKEND" not in os.environ:
            # No SMTP server comes with the demo: alert emails are printed to the console instead.
            settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"

        if not no_serve and not _port_free(port):
            raise CommandError(f"Port {port} is already in use; stop what runs there or pass --port N.")

        db = settings.DATABASES["default"]
        self.stdout.write(f"Database: {db['ENGINE'].rsplit('.', 1)[-1]} {db['NAME']}")
        self.stdout.write("Applying migrations (the default price catalog is loaded by one)...")
        call_command("migrate", interactive=False, verbosity=0)

        if reseed and demo.demo_org_get() is not None:
            self.stdout.write(f"Deleting the existing {demo.ORG_NAME!r} demo organization...")
            demo.demo_org_delete()
        org = demo.demo_org_get()
        if org is None:
            access = self.seed(days=days, customers=customers, events=events, seed=seed)
        else:
            self.stdout.write(
                f"{demo.ORG_NAME!r} already exists: keeping its data (use --reseed to start over)."
            )
            access = demo.demo_access_grant(org=org)
        self.print_access(access, port)
        if no_serve:
            return
        jobs = PeriodicJobs()
        jobs.start()
        try:
            call_command("runserver", f"127.0.0.1:{port}", use_reloader=False)
        finally:
            jobs.stop.set()

    def seed(self, *, days: int, customers: int, events: int, seed: int) -> demo.DemoAccess:
        self.stdout.write(
            f"Seeding {demo.ORG_NAME!r}: {customers} customers, ~{events:,} events over {days} days..."
        )
        started = time.monotonic()
        bars: dict[str, tqdm] = {
            "ingest": tqdm(total=events, unit="event", desc="ingest", dynamic_ncols=True)
        }

        def rollup_progress(n: int) -> None:
            if "rollup" not in bars:  # first call: ingest is over, the rollup starts
                bars["ingest"].close()
                pending = DirtyBucket.objects.count() + n
                bars["rollup"] = tqdm(total=pending, unit="hour", desc="rollup", dynamic_ncols=True)
            bars["rollup"].update(n)

        try:
            # The replayed alert history's emails are kept in memory, not printed over the progress bars.
            with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
                result = demo.demo_seed(
                    days=days,
                    customers=customers,
                    events=events,
                    seed=seed,
                    progress=bars["ingest"].update,
                    rollup_progress=rollup_progress,
                )
        finally:
            for bar in bars.values():
                bar.close()
        elapsed = time.monotonic() - started
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {result.accepted:,} events ({result.requests:,} requests, {result.customers} "
                f"customers) and {result.buckets} hourly rollup buckets in {elapsed:.0f} s "
                f"({', '.join(f'{phase} {s:.0f} s' for phase, s in result.seconds.items())})."
            )
        )
        return result.access

    def print_access(self, access: demo.DemoAccess, port: int) -> None:
        base = f"http://127.0.0.1:{port}"
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        event = (
            f'{{"events": [{{"event_id": "hello-{int(time.time())}", "timestamp": "{now}", '
            '"model": "claude-haiku-4-5", "input_tokens": 500, "output_tokens": 200, '
            '"customer_id": "cus_0001", "feature": "chat", "route": "support-chat"}]}'
        )
        lines = [
            "",
            "=" * 72,
            " CostLens demo",
            f"   URL       {base}",
            f"   Login     {access.email}  /  {access.password}",
            f"   API key   {access.api_key}",
            "             (a new key each start; earlier demo keys are revoked)",
            "",
            " Send an event:",
            f"   curl -s {base}/api/v1/events \\",
            f'     -H "Authorization: Bearer {access.api_key}" \\',
            '     -H "Content-Type: application/json" \\',
            f"     -d '{event}'",
            "",
            " Read usage by model for the last 7 days:",
            f'   curl -s -H "Authorization: Bearer {access.api_key}" "{base}/api/v1/usage?group_by=model"',
            "=" * 72,
            "",
        ]
        self.stdout.write("\n".join(lines))

from datetime import UTC, datetime, time

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from costlens.usage.models import DirtyBucket
from costlens.usage.rollup import rollup_all
from costlens.usage.services import buckets_mark_all_dirty


def parse_since(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise CommandError(f"--since {text!r} is not an ISO date or datetime") from exc
    if len(text.strip()) <= 10:
        value = datetime.combine(value.date(), time.min)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Command(BaseCommand):
    help = (
        "Bring every rollup up to date synchronously, then exit. With --rebuild, first mark every "
        "(org, hour) that has events dirty (since --since, a date or datetime in UTC), i.e. recompute all."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--rebuild", action="store_true", help="recompute every hour, not only dirty ones"
        )
        parser.add_argument("--since", help="with --rebuild: only hours from this date/datetime (UTC) on")
        parser.add_argument(
            "--workers",
            type=int,
            default=1,
            help="database connections recomputing one org's hours at once (default 1; 2-4 for rebuilds)",
        )

    def handle(self, *args, **options):
        if options["workers"] < 1:
            raise CommandError("--workers must be at least 1")
        if options["since"] and not options["rebuild"]:
            raise CommandError("--since only applies with --rebuild")
        if options["rebuild"]:
            since = parse_since(options["since"]) if options["since"] else None
            marked = buckets_mark_all_dirty(since=since)
            if options["verbosity"]:
                self.stdout.write(f"Marked {marked} hour bucket(s) dirty for a rebuild.")
        pending = DirtyBucket.objects.count()
        with tqdm(
            total=pending, unit="bucket", desc="rollup", disable=pending == 0 or options["verbosity"] == 0
        ) as bar:
            run = rollup_all(progress=bar.update, workers=options["workers"])
        if options["verbosity"]:
            self.stdout.write(f"Rolled up {run.buckets} hour bucket(s) for {run.orgs} organization(s).")

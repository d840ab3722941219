import sys

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from costlens.accounts.models import Organization
from costlens.pricing.selectors import reprice_candidates
from costlens.pricing.services import REPRICE_CHUNK, events_reprice, parse_effective_from
from costlens.usage.rollup import rollup_org


class Command(BaseCommand):
    help = (
        "Recompute the cost, unpriced flag and baseline cost of stored events with the prices in "
        "force now (catalog, org overrides, aliases), then bring the touched rollups up to date."
    )

    def add_arguments(self, parser):
        parser.add_argument("--model", help="only events of this model (any spelling of it)")
        parser.add_argument(
            "--since", metavar="DATE", help="only events at or after this ISO date/datetime (UTC)"
        )
        parser.add_argument("--org", metavar="SLUG", help="only this organization (default: all)")
        parser.add_argument(
            "--chunk-size",
            type=int,
            default=REPRICE_CHUNK,
            help=f"events per transaction (default {REPRICE_CHUNK:,})",
        )
        parser.add_argument(
            "--no-rollup",
            action="store_true",
            help="only mark the touched hours dirty; the periodic rollup picks them up",
        )

    def handle(self, *args, model, since, org, chunk_size, no_rollup, verbosity, **options):
        orgs = Organization.objects.order_by("pk")
        if org:
            orgs = orgs.filter(slug=org)
            if not orgs.exists():
                raise CommandError(f"no organization with slug {org!r}")
        since_at = None
        if since:
            try:
                since_at = parse_effective_from(since)
            except ValueError as exc:
                raise CommandError(f"--since {since!r} is not an ISO date or datetime") from exc
        if chunk_size < 1:
            raise CommandError("--chunk-size must be at least 1")
        orgs = list(orgs)
        total = sum(reprice_candidates(o, model=model, since=since_at).count() for o in orgs)
        changed = buckets = 0
        with tqdm(total=total, unit="event", desc="reprice", file=sys.stderr, disable=verbosity == 0) as bar:
            for o in orgs:
                n = events_reprice(
                    org=o, model=model, since=since_at, progress=bar.update, chunk_size=chunk_size
                )
                changed += n
                if n and not no_rollup:
                    buckets += rollup_org(o.id)
        self.stdout.write(f"Repriced {changed} of {total} event(s) in {len(orgs)} organization(s).")
        if changed:
            if no_rollup:
                self.stdout.write("Their hours are marked for the next rollup.")
            else:
                self.stdout.write(f"Rolled up {buckets} hour bucket(s).")

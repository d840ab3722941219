from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from costlens.accounts.models import Organization
from costlens.customers.services import ImportFailed, revenue_import_csv


class Command(BaseCommand):
    help = (
        "Import recurring revenue from a CSV (customer_id,amount_usd,period_start,period_end,description). "
        "All rows or none; rows identical to existing entries are skipped."
    )

    def add_arguments(self, parser):
        parser.add_argument("org_slug")
        parser.add_argument("path")

    def handle(self, *args, org_slug: str, path: str, **options):
        org = Organization.objects.filter(slug=org_slug).first()
        if org is None:
            raise CommandError(f"No organization with slug {org_slug!r}.")
        try:
            result = revenue_import_csv(org=org, content=Path(path).read_bytes())
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc}") from exc
        except ImportFailed as exc:
            raise CommandError(f"Nothing imported; {len(exc.errors)} bad row(s):\n{exc}") from exc
        self.stdout.write(
            f"Imported {result.rows} revenue row(s): {result.created} created, "
            f"{result.skipped} already present."
        )

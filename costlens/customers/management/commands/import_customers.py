from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from costlens.accounts.models import Organization
from costlens.customers.services import ImportFailed, customers_import_csv


class Command(BaseCommand):
    help = "Import customers from a CSV (customer_id,name,plan,segment). All rows or none."

    def add_arguments(self, parser):
        parser.add_argument("org_slug")
        parser.add_argument("path")

    def handle(self, *args, org_slug: str, path: str, **options):
        org = Organization.objects.filter(slug=org_slug).first()
        if org is None:
            raise CommandError(f"No organization with slug {org_slug!r}.")
        try:
            result = customers_import_csv(org=org, content=Path(path).read_bytes())
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc}") from exc
        except ImportFailed as exc:
            raise CommandError(f"Nothing imported; {len(exc.errors)} bad row(s):\n{exc}") from exc
        self.stdout.write(
            f"Imported {result.rows} customer row(s): {result.created} created, {result.updated} updated, "
            f"{result.skipped} unchanged."
        )

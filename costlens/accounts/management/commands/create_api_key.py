from django.core.management.base import BaseCommand, CommandError

from costlens.accounts.models import Organization
from costlens.accounts.services import api_key_create


class Command(BaseCommand):
    help = "Create an API key for an organization. The key is the last line printed; it is shown only once."

    def add_arguments(self, parser):
        parser.add_argument("org_slug")
        parser.add_argument("--name", default="default")

    def handle(self, *args, org_slug: str, name: str, **options):
        try:
            org = Organization.objects.get(slug=org_slug)
        except Organization.DoesNotExist as exc:
            raise CommandError(f"No organization with slug {org_slug!r}.") from exc
        created = api_key_create(org=org, name=name)
        self.stderr.write(f"Created key {created.api_key.prefix}… ({name}) for {org.name}. Store it now:")
        self.stdout.write(created.raw_key)

from django.core.management.base import BaseCommand

from costlens.accounts.services import organization_create


class Command(BaseCommand):
    help = "Create an organization and print its slug."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--slug", default=None)

    def handle(self, *args, name: str, slug: str | None, **options):
        org = organization_create(name=name, slug=slug)
        self.stdout.write(org.slug)

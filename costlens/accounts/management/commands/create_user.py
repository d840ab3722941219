import getpass

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email

from costlens.accounts.models import Organization
from costlens.accounts.services import user_create


class Command(BaseCommand):
    help = "Create (or update) a user and make them a member of an organization."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--org", required=True, dest="org_slug")
        parser.add_argument("--admin", action="store_true")
        parser.add_argument("--password", default=None)

    def handle(self, *args, email: str, org_slug: str, admin: bool, password: str | None, **options):
        try:
            validate_email(email)
        except ValidationError as exc:
            raise CommandError(f"{email!r} is not an email address.") from exc
        try:
            org = Organization.objects.get(slug=org_slug)
        except Organization.DoesNotExist as exc:
            raise CommandError(f"No organization with slug {org_slug!r}.") from exc
        if password is None:
            password = getpass.getpass("Password: ")
        if not password:
            raise CommandError("A password is required.")
        user_create(email=email, org=org, password=password, admin=admin)
        role = "admin" if admin else "viewer"
        self.stdout.write(f"{email} is now {role} of {org.slug}")

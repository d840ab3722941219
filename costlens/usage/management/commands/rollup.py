from django.core.management.base import BaseCommand
from tqdm import tqdm

from costlens.usage.models import DirtyBucket
from costlens.usage.rollup import rollup_all


class Command(BaseCommand):
    help = "Bring every rollup up to date synchronously, then exit."

    def handle(self, *args, **options):
        pending = DirtyBucket.objects.count()
        with tqdm(total=pending, unit="bucket", desc="rollup", disable=pending == 0) as bar:
            run = rollup_all(progress=bar.update)
        self.stdout.write(f"Rolled up {run.buckets} hour bucket(s) for {run.orgs} organization(s).")

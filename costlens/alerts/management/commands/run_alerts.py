from django.core.management.base import BaseCommand

from costlens.alerts.services import notifications_send_due, rules_evaluate_all


class Command(BaseCommand):
    help = "Evaluate every enabled alert rule now, send pending notifications, then exit."

    def handle(self, *args, **options):
        results = rules_evaluate_all()
        opened = sum(len(r.opened) for r in results)
        resolved = sum(len(r.resolved) for r in results)
        firing = sum(r.firing for r in results)
        self.stdout.write(
            f"Evaluated {sum(r.evaluated for r in results)} rule(s): {firing} group(s) firing, "
            f"{opened} incident(s) opened, {resolved} resolved."
        )
        run = notifications_send_due()
        self.stdout.write(f"Notifications: {run.sent} sent, {run.retrying} to retry, {run.failed} failed.")

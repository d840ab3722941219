from django.db import models

from costlens.accounts.models import Organization


class OrphanRetry(models.Model):
    """A request whose retry (attempt > 1) was stored before its first attempt.

    Only for first attempts whose request_id is their own event_id (the API's default): at most one
    such event can ever be stored per request, so when it arrives it looks for its request here, in
    a table that is empty most of the time, instead of probing the index of every stored retry
    (~95% of events are first attempts, and almost none has a retry stored yet). A retry is
    recorded when no event with its request_id as event_id is stored; the row is deleted when that
    first attempt arrives. Ingest's chain-marking statement (ingest/services.py) keeps it.
    """

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, db_index=False)
    request_id = models.CharField(max_length=128)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["org", "request_id"], name="uniq_orphanretry_org_request")
        ]

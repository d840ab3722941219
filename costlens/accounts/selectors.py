from functools import cache

from django.db import connection

from costlens.accounts.models import ApiKey, Membership, Organization
from costlens.accounts.services import hash_api_key


@cache
def _key_with_org_sql() -> tuple[str, list[str], list[str]]:
    key_cols = [f.column for f in ApiKey._meta.concrete_fields]
    org_cols = [f.column for f in Organization._meta.concrete_fields]
    select = ", ".join([*(f"k.{c}" for c in key_cols), *(f"o.{c}" for c in org_cols)])
    sql = (
        f"SELECT {select} FROM {ApiKey._meta.db_table} k"
        f" JOIN {Organization._meta.db_table} o ON o.id = k.org_id"
        " WHERE k.key_hash = %s AND k.revoked_at IS NULL"
    )
    return (
        sql,
        [f.attname for f in ApiKey._meta.concrete_fields],
        [f.attname for f in Organization._meta.concrete_fields],
    )


def api_key_for_raw(raw_key: str) -> ApiKey | None:
    """The active key matching a raw bearer token, with its org; None if unknown or revoked.

    Every API request runs it: on PostgreSQL one hand-written SQL statement instead of the ORM's
    `select_related` `.get()`, whose query compilation was about half of a small ingest request's CPU.
    """
    if connection.vendor != "postgresql":
        # SQLite (the demo) hands back datetimes as text; the ORM converts them.
        try:
            return ApiKey.objects.select_related("org").get(key_hash=hash_api_key(raw_key), revoked_at=None)
        except ApiKey.DoesNotExist:
            return None
    sql, key_names, org_names = _key_with_org_sql()
    with connection.cursor() as cursor:
        cursor.execute(sql, [hash_api_key(raw_key)])
        row = cursor.fetchone()
    if row is None:
        return None
    n = len(key_names)
    key = ApiKey.from_db(connection.alias, key_names, row[:n])
    ApiKey.org.field.set_cached_value(key, Organization.from_db(connection.alias, org_names, row[n:]))
    return key


def api_keys_list(org: Organization) -> list[ApiKey]:
    return list(ApiKey.objects.filter(org=org).order_by("revoked_at", "-created_at"))


def membership_for(user, org_slug: str | None = None) -> Membership | None:
    qs = Membership.objects.select_related("org").filter(user=user).order_by("created_at")
    if org_slug:
        qs = qs.filter(org__slug=org_slug)
    return qs.first()

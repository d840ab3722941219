from costlens.accounts.models import ApiKey, Membership, Organization
from costlens.accounts.services import hash_api_key


def api_key_for_raw(raw_key: str) -> ApiKey | None:
    """The active key matching a raw bearer token, with its org; None if unknown or revoked."""
    try:
        return ApiKey.objects.select_related("org").get(key_hash=hash_api_key(raw_key), revoked_at=None)
    except ApiKey.DoesNotExist:
        return None


def api_keys_list(org: Organization) -> list[ApiKey]:
    return list(ApiKey.objects.filter(org=org).order_by("revoked_at", "-created_at"))


def membership_for(user, org_slug: str | None = None) -> Membership | None:
    qs = Membership.objects.select_related("org").filter(user=user).order_by("created_at")
    if org_slug:
        qs = qs.filter(org__slug=org_slug)
    return qs.first()

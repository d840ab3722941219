import hashlib
import secrets
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from costlens.accounts.models import ApiKey, Membership, Organization

KEY_PREFIX = "cl_"


def hash_api_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def organization_create(*, name: str, slug: str | None = None) -> Organization:
    base = slugify(slug or name)[:50] or "org"
    candidate, n = base, 1
    while Organization.objects.filter(slug=candidate).exists():
        n += 1
        candidate = f"{base}-{n}"
    return Organization.objects.create(name=name, slug=candidate)


@dataclass(frozen=True)
class CreatedKey:
    api_key: ApiKey
    raw_key: str  # shown once, never stored


def api_key_create(*, org: Organization, name: str = "default") -> CreatedKey:
    public = secrets.token_hex(4)
    raw = f"{KEY_PREFIX}{public}_{secrets.token_urlsafe(32)}"
    key = ApiKey.objects.create(
        org=org, name=name, prefix=f"{KEY_PREFIX}{public}", key_hash=hash_api_key(raw)
    )
    return CreatedKey(api_key=key, raw_key=raw)


def api_key_revoke(*, org: Organization, key_id: int) -> ApiKey:
    key = ApiKey.objects.get(org=org, pk=key_id)
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
    return key


def api_key_touch(*, key: ApiKey) -> None:
    """Record use at most once a minute, so the hot path does not write on every request."""
    now = timezone.now()
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now


@transaction.atomic
def user_create(*, email: str, org: Organization, password: str, admin: bool = False):
    User = get_user_model()
    user, _ = User.objects.get_or_create(username=email, defaults={"email": email})
    user.email = email
    user.set_password(password)
    user.save()
    role = Membership.Role.ADMIN if admin else Membership.Role.VIEWER
    Membership.objects.update_or_create(org=org, user=user, defaults={"role": role})
    return user


def organization_update_settings(*, org: Organization, **fields: object) -> Organization:
    for name, value in fields.items():
        setattr(org, name, value)
    org.save(update_fields=list(fields))
    return org

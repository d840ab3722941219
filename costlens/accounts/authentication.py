from dataclasses import dataclass

from rest_framework import authentication, exceptions

from costlens.accounts.models import ApiKey, Organization
from costlens.accounts.selectors import api_key_for_raw
from costlens.accounts.services import api_key_touch


@dataclass
class ApiPrincipal:
    """The caller of the HTTP API: one key of one organization."""

    org: Organization
    api_key: ApiKey
    is_authenticated: bool = True
    is_anonymous: bool = False


def raw_bearer_token(header: str) -> str | None:
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class ApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        token = raw_bearer_token(header)
        key = api_key_for_raw(token) if token else None
        if key is None:
            raise exceptions.AuthenticationFailed("Unknown or revoked API key.")
        api_key_touch(key=key)
        request.org = key.org
        return ApiPrincipal(org=key.org, api_key=key), key

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="costlens"'

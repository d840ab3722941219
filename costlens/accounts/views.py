from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from costlens.accounts.decorators import org_admin_required, org_required
from costlens.accounts.selectors import api_keys_list
from costlens.accounts.services import api_key_create, api_key_revoke


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=100, initial="default")


def _settings(request, *, form=None, new_key: str | None = None, status: int = 200):
    response = render(
        request,
        "accounts/settings.html",
        {"keys": api_keys_list(request.org), "form": form or ApiKeyForm(), "new_key": new_key},
        status=status,
    )
    if new_key:
        response["Cache-Control"] = "no-store"  # the one page that shows a secret: never cached
    return response


@org_required
def settings_page(request):
    return _settings(request)


@require_POST
@org_admin_required
def api_key_create_view(request):
    form = ApiKeyForm(request.POST)
    if not form.is_valid():
        return _settings(request, form=form, status=400)
    created = api_key_create(org=request.org, name=form.cleaned_data["name"])
    # Shown exactly once, in this response. Never put in the session or a message: both are
    # stored server-side, and the key must exist only as its hash.
    return _settings(request, new_key=created.raw_key)


@require_POST
@org_admin_required
def api_key_revoke_view(request, key_id: int):
    from costlens.accounts.models import ApiKey

    try:
        key = api_key_revoke(org=request.org, key_id=key_id)
    except ApiKey.DoesNotExist:
        return render(request, "404.html", status=404)
    messages.success(request, f"Revoked key {key.prefix}… ({key.name}).")
    return redirect("accounts:settings")

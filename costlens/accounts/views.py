from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from costlens.accounts.decorators import org_admin_required, org_required
from costlens.accounts.selectors import api_keys_list
from costlens.accounts.services import api_key_create, api_key_revoke
from costlens.accounts.validation import EDITABLE, validate_settings
from costlens.pricing.selectors import priced_model_names
from costlens.usage.services import organization_settings_update


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=100, initial="default")


def _settings(
    request,
    *,
    form=None,
    new_key: str | None = None,
    org_values: dict | None = None,
    org_errors: dict | None = None,
    status: int = 200,
):
    org = request.org
    values = {"name": org.name, "baseline_model": org.baseline_model, "quality_floor": org.quality_floor}
    response = render(
        request,
        "accounts/settings.html",
        {
            "keys": api_keys_list(org),
            "form": form or ApiKeyForm(),
            "new_key": new_key,
            "org_values": values | (org_values or {}),
            "org_errors": org_errors or {},
            "priced_models": priced_model_names(org),
        },
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


@require_POST
@org_admin_required
def org_settings_update_view(request):
    """The Organization form: the same settings and rules as PATCH /api/v1/settings."""
    sent = {key: request.POST[key] for key in EDITABLE if key in request.POST}
    changes, errors = validate_settings(request.org, sent)
    if errors:
        return _settings(request, org_values=sent, org_errors=errors, status=400)
    new_baseline = changes.get("baseline_model", request.org.baseline_model) != request.org.baseline_model
    organization_settings_update(org=request.org, changes=changes)
    if new_baseline:
        messages.success(
            request,
            f"Saved. Savings are now measured against {changes['baseline_model']}; past events' baseline "
            "costs are being recomputed and the pages show them after the next rollup.",
        )
    else:
        messages.success(request, "Settings saved.")
    return redirect("accounts:settings")

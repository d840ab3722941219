from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import HttpResponseForbidden
from django.shortcuts import render


def org_required(view):
    """Login required, and the user must belong to an organization (request.org)."""

    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if request.org is None:
            return render(request, "accounts/no_org.html", status=403)
        return view(request, *args, **kwargs)

    return wrapped


def org_admin_required(view):
    @org_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.membership.is_admin:
            return HttpResponseForbidden("Only organization admins can do this.")
        return view(request, *args, **kwargs)

    return wrapped

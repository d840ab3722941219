def organization(request):
    membership = getattr(request, "membership", None)
    return {
        "org": getattr(request, "org", None),
        "membership": membership,
        "is_org_admin": bool(membership and membership.is_admin),
    }

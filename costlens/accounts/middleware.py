from costlens.accounts.selectors import membership_for


class OrganizationMiddleware:
    """Puts the signed-in user's organization and role on the request (request.org, request.membership).

    API requests get request.org from their key in ApiKeyAuthentication instead.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.org = None
        request.membership = None
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            membership = membership_for(user, request.session.get("org_slug"))
            if membership is None and request.session.get("org_slug"):
                membership = membership_for(user)
            if membership is not None:
                request.membership = membership
                request.org = membership.org
        return self.get_response(request)

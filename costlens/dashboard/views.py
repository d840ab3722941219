from django.shortcuts import render

from costlens.accounts.decorators import org_required
from costlens.pricing.selectors import unpriced_models
from costlens.usage.selectors import spend_to_date


@org_required
def overview(request):
    return render(
        request,
        "dashboard/overview.html",
        {"spend": spend_to_date(request.org), "unpriced": unpriced_models(request.org)},
    )

"""Every /api/v1/ endpoint, one line each; each app owns its views."""

from django.urls import path

from costlens.pricing.api import PricesView, UnpricedPricesView
from ingest.views import EventsView

urlpatterns = [
    path("events", EventsView.as_view(), name="api-events"),
    path("prices", PricesView.as_view(), name="api-prices"),
    path("prices/unpriced", UnpricedPricesView.as_view(), name="api-prices-unpriced"),
]

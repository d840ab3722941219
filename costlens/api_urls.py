"""Every /api/v1/ endpoint, one line each; each app owns its views."""

from django.urls import path

from costlens.accounts.api import SettingsView
from costlens.alerts.api import AlertRulesView, AlertRuleView, IncidentsView, IncidentView
from costlens.customers.api import CustomerRevenueView, CustomersView, CustomerView
from costlens.pricing.api import PricesView, UnpricedPricesView
from costlens.usage.api import UsageCsvView, UsageView
from ingest.views import EventsView
from routing.api import RouteSplitView, RoutesView, RouteView

urlpatterns = [
    path("events", EventsView.as_view(), name="api-events"),
    path("usage", UsageView.as_view(), name="api-usage"),
    path("usage.csv", UsageCsvView.as_view(), name="api-usage-csv"),
    path("settings", SettingsView.as_view(), name="api-settings"),
    path("prices", PricesView.as_view(), name="api-prices"),
    path("prices/unpriced", UnpricedPricesView.as_view(), name="api-prices-unpriced"),
    path("routes", RoutesView.as_view(), name="api-routes"),
    path("routes/<path:name>/split", RouteSplitView.as_view(), name="api-route-split"),
    path("routes/<path:name>", RouteView.as_view(), name="api-route"),
    path("customers", CustomersView.as_view(), name="api-customers"),
    path("customers/<path:customer_id>/revenue", CustomerRevenueView.as_view(), name="api-customer-revenue"),
    path("customers/<path:customer_id>", CustomerView.as_view(), name="api-customer"),
    path("alert-rules", AlertRulesView.as_view(), name="api-alert-rules"),
    path("alert-rules/<int:rule_id>", AlertRuleView.as_view(), name="api-alert-rule"),
    path("incidents", IncidentsView.as_view(), name="api-incidents"),
    path("incidents/<int:incident_id>", IncidentView.as_view(), name="api-incident"),
]

"""Every /api/v1/ endpoint, one line each; each app owns its views."""

from django.urls import path

from ingest.views import EventsView

urlpatterns = [
    path("events", EventsView.as_view(), name="api-events"),
]

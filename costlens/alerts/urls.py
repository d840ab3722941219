from django.urls import path

from costlens.alerts import views

app_name = "alerts"
urlpatterns = [
    path("", views.rules_page, name="rules"),
    path("rules/new/", views.rule_new, name="rule-new"),
    path("rules/preview/", views.rule_preview, name="rule-preview"),
    path("rules/evaluate/", views.evaluate_now, name="evaluate"),
    path("rules/<int:rule_id>/", views.rule_edit, name="rule-edit"),
    path("rules/<int:rule_id>/toggle/", views.rule_toggle, name="rule-toggle"),
    path("rules/<int:rule_id>/delete/", views.rule_delete, name="rule-delete"),
    path("rules/<int:rule_id>/test/", views.rule_test, name="rule-test"),
    path("incidents/", views.incidents_page, name="incidents"),
    path("incidents/<int:incident_id>/", views.incident_page, name="incident"),
    path("notifications/", views.notifications_page, name="notifications"),
    path(
        "notifications/<int:notification_id>/retry/", views.notification_retry_view, name="notification-retry"
    ),
]

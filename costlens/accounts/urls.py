from django.urls import path

from costlens.accounts import views

app_name = "accounts"
urlpatterns = [
    path("", views.settings_page, name="settings"),
    path("organization/", views.org_settings_update_view, name="org-settings"),
    path("keys/", views.api_key_create_view, name="key-create"),
    path("keys/<int:key_id>/revoke/", views.api_key_revoke_view, name="key-revoke"),
]

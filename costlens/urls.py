from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(template_name="accounts/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/v1/", include("costlens.api_urls")),
    path("settings/", include("costlens.accounts.urls")),
    path("routes/", include("routing.urls")),
    path("alerts/", include("costlens.alerts.urls")),
    path("", include("costlens.customers.urls")),
    path("", include("costlens.dashboard.urls")),
]

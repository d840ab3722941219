from django.urls import path

from costlens.dashboard import views

app_name = "dashboard"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("models/", views.models, name="models"),
    path("features/", views.features, name="features"),
    path("prices/", views.prices, name="prices"),
]

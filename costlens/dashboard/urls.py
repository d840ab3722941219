from django.urls import path

from costlens.dashboard import views

app_name = "dashboard"
urlpatterns = [
    path("", views.overview, name="overview"),
]

from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "costlens.dashboard"
    label = "dashboard"

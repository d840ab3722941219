from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "costlens.alerts"
    label = "alerts"

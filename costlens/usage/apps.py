from django.apps import AppConfig


class UsageConfig(AppConfig):
    name = "costlens.usage"
    label = "usage"

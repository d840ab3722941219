from django.apps import AppConfig


class PricingConfig(AppConfig):
    name = "costlens.pricing"
    label = "pricing"

from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "costlens.customers"
    label = "customers"

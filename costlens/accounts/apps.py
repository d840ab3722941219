from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "costlens.accounts"
    label = "accounts"

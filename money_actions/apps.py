from django.apps import AppConfig


class MoneyActionsConfig(AppConfig):
    name = "money_actions"

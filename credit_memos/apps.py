from django.apps import AppConfig


class CreditMemosConfig(AppConfig):
    name = "credit_memos"
    verbose_name = "Credit memos and adjustments"

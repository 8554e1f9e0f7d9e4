from django.apps import AppConfig


class CreditMemosConfig(AppConfig):
    name = "credit_memos"
    verbose_name = "Credit memos and adjustments"

    def ready(self):
        # Registers the credit memo executors with money_actions.
        from credit_memos import executor  # noqa: F401

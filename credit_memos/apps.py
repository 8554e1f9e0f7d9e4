from django.apps import AppConfig


class CreditMemosConfig(AppConfig):
    name = "credit_memos"
    verbose_name = "Credit memos and adjustments"

    def ready(self):
        # Declares this app's kinds in money_actions' registry.
        from credit_memos import kinds  # noqa: F401

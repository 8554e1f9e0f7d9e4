from django.apps import AppConfig


class CreditMemosConfig(AppConfig):
    name = "credit_memos"
    verbose_name = "Credit memos and adjustments"

    def ready(self):
        # Registers the executors with money_actions and the Stripe webhook handlers with
        # the inbox.
        from credit_memos import executor, webhooks  # noqa: F401

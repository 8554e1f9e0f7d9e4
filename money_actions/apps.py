from django.apps import AppConfig


class MoneyActionsConfig(AppConfig):
    name = "money_actions"
    verbose_name = "Money actions and the money policy"

    def ready(self):
        # Registers the Stripe webhook handlers of the ledger with the inbox.
        from money_actions import webhooks  # noqa: F401

from django.apps import AppConfig


class RefundsConfig(AppConfig):
    name = "refunds"

    def ready(self):
        # Registers the refund executor with money_actions and the Stripe webhook handlers
        # with the inbox.
        from refunds import executor, webhooks  # noqa: F401

from django.apps import AppConfig


class RefundsConfig(AppConfig):
    name = "refunds"

    def ready(self):
        # Declares the refund kind in money_actions' registry.
        from refunds import kinds  # noqa: F401

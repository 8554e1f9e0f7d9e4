from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "cases"

    def ready(self):
        # Registers the Zendesk webhook handlers with the inbox.
        from cases import webhooks  # noqa: F401

from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "billing_console.integrations"
    label = "integrations"
    verbose_name = "Integrations"

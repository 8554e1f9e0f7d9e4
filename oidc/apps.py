from django.apps import AppConfig


class OidcConfig(AppConfig):
    name = "oidc"
    verbose_name = "Single sign-on"

    def ready(self):
        from oidc import checks, signals  # noqa: F401 (registers the checks and receivers)

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class BillingConsoleConfig(AppConfig):
    name = "billing_console"
    verbose_name = "Billing Console"

    def ready(self):
        from billing_console.db import roles  # noqa: F401  (the database role's deploy check)


class ConsoleAdminConfig(admin_apps.AdminConfig):
    """The Django admin, with the console's site (roles from access.py) as admin.site."""

    default = False
    default_site = "billing_console.admin_site.ConsoleAdminSite"

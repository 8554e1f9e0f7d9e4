from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class BillingConsoleConfig(AppConfig):
    name = "billing_console"
    verbose_name = "Billing Console"

    def ready(self):
        from axes.signals import user_locked_out
        from django.contrib.auth.signals import user_login_failed

        from billing_console import request_log
        from billing_console.db import roles  # noqa: F401  (the database role's deploy check)
        from billing_console.forms import refuse_choices_briefly

        refuse_choices_briefly()

        # A refused sign-in is said on its request's line (Axes' own lines are off).
        user_login_failed.connect(request_log.sign_in_refused)
        user_locked_out.connect(request_log.locked_out)


class ConsoleAdminConfig(admin_apps.AdminConfig):
    """The Django admin, with the console's site (roles from access.py) as admin.site."""

    default = False
    default_site = "billing_console.admin_site.ConsoleAdminSite"

"""`manage.py check` (and every command that runs checks) says what stops single sign-on."""

from django.conf import settings
from django.core.checks import Error, Warning, register

from oidc.config import config_problems, enabled


@register()
def single_sign_on(app_configs, **kwargs):
    problems = [Error(problem, id="oidc.E001") for problem in config_problems()]
    if enabled() and not settings.OIDC_BREAK_GLASS_ADMINS:
        problems.append(Warning(
            "Single sign-on is on and OIDC_BREAK_GLASS_ADMINS names no one: while the "
            "identity provider is down, nobody can sign in.", id="oidc.W001"))
    return problems

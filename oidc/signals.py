"""A password sign-in while single sign-on is on is a break-glass sign-in: the trail says so."""

from django.contrib.auth import BACKEND_SESSION_KEY
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from audit.services import client_ip
from oidc.config import enabled
from oidc.services import SSO_BACKEND, break_glass_sign_in_record


@receiver(user_logged_in)
def _break_glass(sender, request, user, **kwargs):
    if enabled() and request is not None and \
            request.session.get(BACKEND_SESSION_KEY) != SSO_BACKEND:
        break_glass_sign_in_record(user=user, ip=client_ip(request))

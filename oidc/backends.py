"""Authentication backends of single sign-on (settings.AUTHENTICATION_BACKENDS)."""

from django.contrib.auth.hashers import make_password
from django.core.exceptions import PermissionDenied

from audit.services import client_ip
from billing_console.sessions import SessionUserBackend
from oidc.services import may_sign_in_with_password, password_refusal_record


class PasswordOnlyForBreakGlass:
    """Listed before the backend that checks passwords: while single sign-on is on, a
    password sign-in by anyone but a break-glass admin stops here, without checking the
    password. Every road to a password goes through `authenticate()` (the sign-in page,
    Django's admin), so none is left open. Django then sends `user_login_failed` (audited
    as a failed sign-in, counted by Axes); this adds why, for the trail only: the sign-in
    page answers this refusal as it answers a break-glass admin's wrong password, and takes
    as long (the password is hashed all the same, as Django does for an unknown username),
    so that neither the words nor the time tell who is a break-glass admin."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if password is None or may_sign_in_with_password(username):
            return None
        make_password(password)
        password_refusal_record(username=username or "",
                                ip=client_ip(request) if request is not None else None)
        raise PermissionDenied("Single sign-on only")


class ProviderSessionBackend(SessionUserBackend):
    """Loads the user of a session signed in through the identity provider, as every
    session's is loaded; it authenticates nothing itself (the callback signs people in).
    Its name in a session is what marks the session as single sign-on's."""

    def authenticate(self, request, **credentials):
        return None

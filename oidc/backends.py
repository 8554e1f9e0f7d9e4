"""Authentication backends of single sign-on (settings.AUTHENTICATION_BACKENDS)."""

from django.core.exceptions import PermissionDenied

from audit.services import client_ip
from billing_console.sessions import SessionUserBackend
from oidc.services import may_sign_in_with_password, password_refusal_record


class PasswordOnlyForBreakGlass:
    """Listed before the backend that checks passwords: while single sign-on is on, a
    password sign-in by anyone but a break-glass admin stops here, before any password is
    checked. Every road to a password goes through `authenticate()` (the sign-in page,
    Django's admin), so none is left open. Django then sends `user_login_failed` (audited
    as a failed sign-in, counted by Axes); this adds why."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if password is None or may_sign_in_with_password(username):
            return None
        password_refusal_record(username=username or "",
                                ip=client_ip(request) if request is not None else None)
        if request is not None:
            request.password_sign_in_refused = True  # the sign-in page says why
        raise PermissionDenied("Single sign-on only")


class ProviderSessionBackend(SessionUserBackend):
    """Loads the user of a session signed in through the identity provider, as every
    session's is loaded; it authenticates nothing itself (the callback signs people in).
    Its name in a session is what marks the session as single sign-on's."""

    def authenticate(self, request, **credentials):
        return None

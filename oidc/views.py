"""Single sign-on's two addresses: the start, which sends the browser to the identity
provider, and the callback it comes back to."""

import time
from urllib.parse import urlencode

from authlib.common.errors import AuthlibBaseError
from django.contrib import auth, messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from joserfc.errors import (
    BadSignatureError,
    ExpiredTokenError,
    InvalidClaimError,
    InvalidKeyIdError,
    MissingClaimError,
)

from audit.services import client_ip
from billing_console.access import PUBLIC, requires
from billing_console.exceptions import PageNotFound
from oidc import client
from oidc.config import enabled, provider_config
from oidc.services import (
    SESSION_KEY,
    SSO_BACKEND,
    sso_refusal_record,
    user_sign_in_from_claims,
)

SSO_OFF = ("Single sign-on is off: sign in with your username and password on the sign-in "
           "page.")
# What a provider answers to `prompt=none` when it would have to ask the person something:
# they are no longer signed in there, or must choose or consent again.
ASKS_SOMETHING = {"login_required", "interaction_required", "consent_required",
                  "account_selection_required"}
# What a failed ID token check means, in words, by the claim it failed on.
CLAIM_WORDS = {
    "aud": "is meant for another application (audience)",
    "iss": "comes from another issuer than the configured provider",
    "nonce": "does not carry the nonce this sign-in sent",
    "azp": "was issued to another application (authorized party)",
    "iat": "was issued in the future",
    "nbf": "is not valid yet",
}
DID_NOT_GO_THROUGH = ("The company sign-in did not go through. Start again; if it keeps "
                      "failing, an admin can find why in the audit trail.")


@requires(PUBLIC)
@require_GET
@never_cache
def sign_in(request):
    """Send the browser to the provider. `next` is where to land afterwards; `renew=1`
    (from RenewSingleSignOn) asks the provider not to prompt, for a renewal."""
    if not enabled():
        raise PageNotFound(SSO_OFF)
    renewing = request.GET.get("renew") == "1" and SESSION_KEY in request.session
    try:
        url, _ = client.start(
            request, redirect_uri=request.build_absolute_uri(reverse("oidc:callback")),
            prompt="none" if renewing else None, next=_next(request),
            renewing=renewing, form_lost=request.GET.get("form_lost") == "1")
    except client.SIGN_IN_ERRORS as error:
        sso_refusal_record(reason=f"The identity provider could not be reached: "
                                  f"{_in_words(error)}", ip=client_ip(request))
        return _refused(request, "The company sign-in cannot be reached just now. Try again "
                                 "in a minute; if it stays down, an admin can help.", status=503,
                        next=_next(request))
    return redirect(url)


@requires(PUBLIC)
@require_GET
@never_cache
def callback(request):
    """The provider's answer: sign the person in with the roles their groups give, or
    refuse with no session. A renewal the provider will not make silently ends the
    session."""
    if not enabled():
        raise PageNotFound(SSO_OFF)
    ip = client_ip(request)
    malformed = _malformed(request)
    if malformed:
        sso_refusal_record(reason=f"The identity provider's answer was refused: {malformed}",
                           ip=ip)
        return _refused(request, DID_NOT_GO_THROUGH)
    started = client.started_sign_in(request)
    if started is None:
        # Unknown or already used: a replayed answer, or one meant for another browser.
        sso_refusal_record(reason="An answer from the identity provider to a sign-in this "
                                  "browser did not start, or already used (state).", ip=ip)
        return _refused(request, "This sign-in was already used or has expired. Start again "
                                 "from the sign-in page.", status=400)
    renewing = started.get("renewing") and request.user.is_authenticated
    if renewing and request.GET.get("error") in ASKS_SOMETHING:
        return _renewal_refused(request, started)
    try:
        claims = client.finish(request)
    except client.SIGN_IN_ERRORS as error:
        sso_refusal_record(reason=f"The identity provider's answer was refused: "
                                  f"{_in_words(error)}", ip=ip,
                           actor=request.user if renewing else None)
        auth.logout(request)
        return _refused(request, DID_NOT_GO_THROUGH, next=started.get("next"))
    config = provider_config()
    outcome = user_sign_in_from_claims(claims=claims, config=config, ip=ip)
    if outcome.refusal:
        auth.logout(request)
        return _refused(request, outcome.refusal, no_access=True, next=started.get("next"))
    if not (renewing and request.user.pk == outcome.user.pk):
        auth.login(request, outcome.user, backend=SSO_BACKEND)
    request.session[SESSION_KEY] = {"renew_at": time.time() + config.renew_seconds}
    if started.get("form_lost"):
        messages.warning(request, "Your sign-in was renewed before your form was taken: "
                                  "check it and send it again.")
    return redirect(started.get("next") or "home")


def _malformed(request):
    """What makes the provider's answer no answer at all, in words, or "": a parameter sent
    twice (RFC 6749 §3.1 forbids it, and either copy could be the one read), or no state."""
    repeated = sorted(name for name, values in request.GET.lists() if len(values) > 1)
    if repeated:
        return f"it repeats {', '.join(repeated)[:100]}."
    if not request.GET.get("state"):
        return "it carries no state."
    return ""


def _renewal_refused(request, started):
    sso_refusal_record(reason="The identity provider no longer vouches for them without "
                              f"asking ({request.GET['error']}): signed out.",
                       ip=client_ip(request), actor=request.user)
    auth.logout(request)
    messages.info(request, "Your company sign-in has ended. Sign in again.")
    return redirect(f"{reverse('login')}?{urlencode({'next': started.get('next') or '/'})}")


def _refused(request, reason, *, status=403, no_access=False, next=""):
    """The refusal's page; its way back to the sign-in page keeps `next` (checked by
    `_next` when the sign-in started), so that signing in then lands where they were
    going."""
    return render(request, "oidc/refused.html", {"reason": reason, "no_access": no_access,
                                                 "next": next}, status=status)


def _next(request):
    wanted = request.GET.get("next", "")
    if wanted and url_has_allowed_host_and_scheme(wanted, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return wanted
    return ""


def _in_words(error):
    """Why a sign-in could not go on, for the audit trail (never a secret: the provider's
    own error text is clipped, and no URL or token is kept)."""
    if isinstance(error, BadSignatureError):
        return "the ID token's signature does not match the provider's keys."
    if isinstance(error, InvalidKeyIdError):
        return "the ID token is signed with a key the provider does not publish."
    if isinstance(error, ExpiredTokenError):
        return "the ID token has expired."
    if isinstance(error, InvalidClaimError):
        return f"the ID token {CLAIM_WORDS.get(error.claim, f'has a wrong {error.claim}')}."
    if isinstance(error, MissingClaimError):
        return f"the ID token lacks {error.claim}."
    if isinstance(error, AuthlibBaseError):
        return f"{error.error}: {str(error.description or '')[:200]}".rstrip(": ")
    return type(error).__name__

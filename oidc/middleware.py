"""The provider vouches again for a signed-in person every `OIDC_RENEW_ID_TOKEN_EXPIRY_SECONDS`
(15 minutes by default): their next request after that goes back to the provider without
a prompt (`prompt=none`), which answers at once while they are still signed in there, with
their groups as they are now. Someone removed from a group loses its role then; someone
removed at the provider, or whose session there ended, is signed out of the console.

A page is sent there and back. A form sent after the renewal was due is not taken (its
sender may no longer hold the role): they come back to the page they sent it from, told
to send it again. htmx requests get a full-page redirect, and the API, answered
`{"message", "code"}`, cannot follow a provider's page, so it is 401 until a page renews.
"""

import time
from urllib.parse import urlencode, urlsplit

from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from oidc.services import SESSION_KEY

RENEWAL_CODE = "sign_in_renewal_required"


class RenewSingleSignOn:
    """After AuthenticationMiddleware: sessions signed in through the provider, and due,
    are renewed before their request runs. Only the sign-in's own addresses and signing
    out are left to run."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        sso = request.session.get(SESSION_KEY)
        if sso and time.time() >= sso["renew_at"] and not self._exempt(request.path):
            return _renew(request)
        return self.get_response(request)

    @staticmethod
    def _exempt(path):
        return path in {reverse("oidc:sign_in"), reverse("oidc:callback"), reverse("logout")}


def _renew(request):
    if request.path.startswith("/api/"):
        return JsonResponse({"message": "Your sign-in needs renewing: open the console in "
                                        "a browser, then call again.",
                             "code": RENEWAL_CODE}, status=401)
    if request.headers.get("HX-Request"):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = _renewal_url(_local(request, request.headers.get(
            "HX-Current-URL")))
        return response
    if request.method in ("GET", "HEAD"):
        return redirect(_renewal_url(request.get_full_path()))
    return redirect(_renewal_url(_local(request, request.headers.get("Referer")),
                                 form_lost=True))


def _renewal_url(next_url, *, form_lost=False):
    query = {"renew": "1", "next": next_url}
    if form_lost:
        query["form_lost"] = "1"
    return f"{reverse('oidc:sign_in')}?{urlencode(query)}"


def _local(request, url):
    """`url`'s path and query when it is one of this site's, else the home page."""
    if url and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure()):
        parts = urlsplit(url)
        return parts.path + (f"?{parts.query}" if parts.query else "")
    return reverse("home")

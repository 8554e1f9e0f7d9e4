"""The console as the provider's client: the authorization code flow with PKCE, through
Authlib.

Authlib keeps, in the console's session, one entry per sign-in started (its state, nonce,
PKCE verifier and where to go after), and takes it out when the provider's answer comes
back, so an answer is used once. Authlib stores an expiry with each entry but does not read
it: `started_sign_in` does, and `start` keeps at most `PENDING_SIGN_INS` entries, dropping
the oldest, so sign-ins left unfinished do not pile up in a session. At the token
exchange it checks the ID token's signature against the provider's JWKS (read again when a
key id is new to it: keys rotate), and its claims here: the issuer is the configured one
(not merely the one discovery named), the audience is this client, the token has not
expired, and the nonce is the one sent.
"""

import functools
import time

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client import OAuthError
from authlib.integrations.django_client import OAuth
from joserfc.errors import JoseError

from oidc.config import provider_config

# Clock skew allowed between the provider and the console when reading exp and iat.
LEEWAY_SECONDS = 60
# How long a sign-in may take, from the console sending the browser to the provider to the
# provider's answer: a person typing a password and a code at the provider.
SIGN_IN_SECONDS = 10 * 60
# Sign-ins started and not yet answered, per session (a second tab, a back button).
PENDING_SIGN_INS = 5
# What a sign-in that cannot go on raises (the view says which in words): Authlib's own
# errors, all of them (the OAuth 2 client's, such as a missing code, and its integrations'),
# the ID token's checks, the provider unreachable, and an answer that is not JSON.
SIGN_IN_ERRORS = (AuthlibBaseError, JoseError, requests.RequestException, ValueError)


def provider_client():
    """Authlib's client for the configured provider, built once per configuration (its
    discovered metadata and JWKS are kept with it)."""
    return _client(provider_config())


@functools.cache
def _client(config):
    endpoints = {}
    if config.endpoints:
        authorization, token, jwks = config.endpoints
        endpoints = {"authorize_url": authorization, "access_token_url": token,
                     "issuer": config.issuer, "jwks_uri": jwks}
    else:
        endpoints = {"server_metadata_url": config.discovery_url}
    client = OAuth().register(
        name="provider",
        client_id=config.client_id,
        client_secret=config.client_secret,
        client_kwargs={"scope": config.scopes, "code_challenge_method": "S256",
                       "token_endpoint_auth_method": "client_secret_basic",
                       "default_timeout": config.timeout_seconds},
        **endpoints,
    )
    client.framework.expires_in = SIGN_IN_SECONDS  # the expiry Authlib stores with each
    return client


def start(request, *, redirect_uri, prompt=None, **state):
    """(authorization URL, state) of a new sign-in, its state, nonce and PKCE verifier
    kept in the session with `state` (anything the callback needs back). Sign-ins left
    unanswered past their time go, and the oldest beyond `PENDING_SIGN_INS - 1`."""
    client = provider_client()
    extra = {"prompt": prompt} if prompt else {}
    started = client.create_authorization_url(redirect_uri, **extra)
    pending = sorted(_pending(request.session, client).items(),
                     key=lambda item: item[1].get("exp") or 0)
    now = time.time()
    for at, (key, entry) in enumerate(pending):
        if (entry.get("exp") or 0) < now or at <= len(pending) - PENDING_SIGN_INS:
            del request.session[key]
    client.save_authorize_data(request, redirect_uri=redirect_uri, **state, **started)
    return started["url"], started["state"]


def started_sign_in(request):
    """What `start` kept for the state the provider sent back, or None: unknown, used, or
    past its time (then it goes from the session)."""
    client = provider_client()
    key = _state_key(client, request.GET.get("state") or "")
    entry = request.session.get(key)
    if not isinstance(entry, dict):
        return None
    if (entry.get("exp") or 0) < time.time():
        del request.session[key]
        return None
    return entry.get("data")


def _state_key(client, state):
    """Where Authlib's Django integration keeps a sign-in in the session."""
    return f"_state_{client.framework.name}_{state}"


def _pending(session, client):
    prefix = _state_key(client, "")
    return {key: value for key, value in session.items()
            if key.startswith(prefix) and isinstance(value, dict)}


def finish(request):
    """The validated ID token's claims (a dict) of the provider's answer on `request`.

    Raises one of `SIGN_IN_ERRORS`: the provider's error, an unknown or used state, a
    failed token exchange, or an ID token that fails any check (signature, issuer,
    audience, expiry, nonce)."""
    config = provider_config()
    issuer_named = request.GET.get("iss")
    if issuer_named is not None and issuer_named != config.issuer:
        # RFC 9207: the answer says who sent it; one from another provider is refused.
        raise OAuthError(error="wrong_issuer", description="The answer came from another "
                         "identity provider.")
    token = provider_client().authorize_access_token(
        request, leeway=LEEWAY_SECONDS,
        claims_options={"iss": {"essential": True, "value": config.issuer},
                        "aud": {"essential": True, "value": config.client_id}})
    claims = token.get("userinfo")
    if not claims:
        raise OAuthError(error="no_id_token", description="The provider sent no ID token.")
    return dict(claims)

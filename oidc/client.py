"""The console as the provider's client: the authorization code flow with PKCE, through
Authlib.

Authlib keeps, in the console's session, one entry per sign-in started (its state, nonce,
PKCE verifier and where to go after), and takes it out when the provider's answer comes
back, so an answer is used once. At the token exchange it checks the ID token's signature
against the provider's JWKS (read again when a key id is new to it: keys rotate), and its
claims here: the issuer is the configured one (not merely the one discovery named), the
audience is this client, the token has not expired, and the nonce is the one sent.
"""

import functools

import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.django_client import OAuth
from joserfc.errors import JoseError

from oidc.config import provider_config

# Clock skew allowed between the provider and the console when reading exp and iat.
LEEWAY_SECONDS = 60
# What a sign-in that cannot go on raises (the view says which in words).
SIGN_IN_ERRORS = (OAuthError, JoseError, requests.RequestException, ValueError)


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
    return OAuth().register(
        name="provider",
        client_id=config.client_id,
        client_secret=config.client_secret,
        client_kwargs={"scope": config.scopes, "code_challenge_method": "S256",
                       "token_endpoint_auth_method": "client_secret_basic",
                       "default_timeout": config.timeout_seconds},
        **endpoints,
    )


def start(request, *, redirect_uri, prompt=None, **state):
    """(authorization URL, state) of a new sign-in, its state, nonce and PKCE verifier
    kept in the session with `state` (anything the callback needs back)."""
    client = provider_client()
    extra = {"prompt": prompt} if prompt else {}
    started = client.create_authorization_url(redirect_uri, **extra)
    client.save_authorize_data(request, redirect_uri=redirect_uri, **state, **started)
    return started["url"], started["state"]


def started_sign_in(request):
    """What `start` kept for the state the provider sent back, or None (unknown, or used)."""
    return provider_client().framework.get_state_data(request.session, request.GET.get("state"))


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

"""A real OpenID Connect provider on loopback (oidc.sandbox: panva's oidc-provider), the
console pointed at it, and a person's browser at the provider driven over HTTP."""

import re
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from django.conf import settings as django_settings

from oidc.sandbox import OidcSandbox, SandboxUnavailable, User

# The test client's host: the callback the provider must send the test client's answers to.
CALLBACK = "http://testserver/sso/callback/"
ROLE_GROUPS = ("billing-specialists=billing_specialist,tier2-agents=tier2_agent,"
               "finance-team=finance,console-admins=admin")
PEOPLE = (
    User("alex", "Alex Rivera", ["billing-specialists"], password="alex-password"),
    User("blake", "Blake Okafor", ["finance-team"], password="blake-password"),
    User("eve", "Eve Marketing", ["marketing"], password="eve-password"),
    User("drew", "Drew Haddad", ["console-admins"], password="drew-password"),
)


def start_provider(redirect_uris):
    """The provider with fresh copies of `PEOPLE`, or the test is skipped without Node.js."""
    try:
        return OidcSandbox(var_dir=django_settings.VAR_DIR, redirect_uris=redirect_uris,
                           users=[User(p.username, p.name, list(p.groups), p.password)
                                  for p in PEOPLE])
    except SandboxUnavailable as error:
        pytest.skip(f"no OpenID Connect sandbox: {error}")


def point_console_at(settings, provider, *, renew_seconds=900):
    settings.OIDC_ISSUER = provider.issuer
    settings.OIDC_CLIENT_ID = provider.client_id
    settings.OIDC_CLIENT_SECRET = provider.client_secret
    settings.OIDC_SCOPES = "openid email profile groups"
    settings.OIDC_ROLE_GROUPS = ROLE_GROUPS
    settings.OIDC_RENEW_ID_TOKEN_EXPIRY_SECONDS = renew_seconds
    settings.OIDC_PROVIDER_NAME = "Company sign-in"


@pytest.fixture
def provider(settings):
    """The provider, and the console's single sign-on set up for it."""
    running = start_provider([CALLBACK])
    point_console_at(settings, running)
    yield running
    running.stop()


class ProviderBrowser:
    """The person's browser at the provider: its cookies, and the way through its pages."""

    def __init__(self, provider):
        self.provider = provider
        self.session = requests.Session()

    def answer(self, authorization_url, username=None, password=None):
        """Follow the provider from `authorization_url` (signing in as `username` if it asks)
        to its redirect back to the console; returns that URL's path and query."""
        url = authorization_url
        for _ in range(10):
            if url.startswith(CALLBACK):
                parts = urlsplit(url)
                return f"{parts.path}?{parts.query}"
            response = self.session.get(url, allow_redirects=False, timeout=10)
            if response.status_code == 200 and 'name="password"' in response.text:
                action = re.search(r'action="([^"]+)"', response.text).group(1)
                response = self.session.post(
                    urljoin(url, action), data={"username": username, "password": password},
                    allow_redirects=False, timeout=10)
            assert response.is_redirect, (response.status_code, response.text[:500])
            url = urljoin(url, response.headers["location"])
        raise AssertionError("the provider never sent the browser back")


def sign_in_through(client, browser, username=None, password=None, *, start="/sso/login/"):
    """Start at the console, through the provider, back to the console's callback; returns
    (the callback's path and query, the console's answer to it)."""
    started = client.get(start)
    assert started.status_code == 302, started.content[:500]
    callback = browser.answer(started.url, username, password)
    return callback, client.get(callback)


def query_of(url):
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}

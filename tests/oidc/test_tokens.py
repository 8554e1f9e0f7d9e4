"""While single sign-on is on, API tokens are for local service users: the token of someone
who signs in through the identity provider is refused, since the provider, which a token
never asks, says whether they still work here. No provider is needed: no token reaches one."""

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from oidc.authentication import PROVIDER_USER_REFUSED
from oidc.models import ProviderIdentity
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

ISSUER = "http://127.0.0.1:9"  # nothing listens: none of this calls it


@pytest.fixture
def sso_on(settings):
    settings.OIDC_ISSUER = ISSUER
    settings.OIDC_CLIENT_ID, settings.OIDC_CLIENT_SECRET = "billing-console", "secret"
    settings.OIDC_ROLE_GROUPS = "finance-team=finance"


def _program(user):
    program = APIClient()
    program.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return program


def test_the_token_of_someone_from_the_provider_is_refused(sso_on):
    person = make_user("blake", "finance")
    ProviderIdentity.objects.create(user=person, issuer=ISSUER, subject="blake")

    answer = _program(person).get("/api/v1/me")

    assert answer.status_code == 401
    assert answer.json()["message"] == PROVIDER_USER_REFUSED
    assert answer["WWW-Authenticate"] == "Token"


def test_a_local_service_users_token_works(sso_on):
    service = make_user("reconciler", "finance")
    assert _program(service).get("/api/v1/me").json()["username"] == "reconciler"


def test_with_single_sign_on_off_every_token_works_as_before():
    person = make_user("blake", "finance")
    ProviderIdentity.objects.create(user=person, issuer=ISSUER, subject="blake")
    assert _program(person).get("/api/v1/me").status_code == 200

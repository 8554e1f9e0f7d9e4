"""While single sign-on is on, only break-glass admins sign in with a password, and each
such sign-in is in the trail; the sign-in page tells no one which names are break-glass
admins'. No provider is needed: no password reaches one."""

import re

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.hashers import MD5PasswordHasher
from django.test import Client

from audit.models import AuditEvent, Outcome
from tests.conftest import PASSWORD, make_user

pytestmark = pytest.mark.django_db

ONE_ANSWER = ("That did not sign you in. Staff sign in with Okta, above; a password works "
              "only for the admins named for when it is down.")


class CountingHasher(MD5PasswordHasher):
    """The tests' hasher, counting the passwords it hashes: how long a sign-in takes."""

    algorithm = "counting_md5"
    hashed = 0

    def encode(self, password, salt):
        CountingHasher.hashed += 1
        return super().encode(password, salt)


@pytest.fixture
def sso_on(settings):
    settings.OIDC_ISSUER = "http://127.0.0.1:9"  # nothing listens: none of this calls it
    settings.OIDC_CLIENT_ID, settings.OIDC_CLIENT_SECRET = "billing-console", "secret"
    settings.OIDC_ROLE_GROUPS = "billing-specialists=billing_specialist,console-admins=admin"
    settings.OIDC_BREAK_GLASS_ADMINS = ["glass", "not-an-admin"]
    settings.OIDC_PROVIDER_NAME = "Okta"


def _sign_in(client, username, path="/accounts/login/"):
    return client.post(path, {"username": username, "password": PASSWORD})


def test_a_specialist_cannot_sign_in_with_a_password(sso_on, client, specialist):
    answer = _sign_in(client, "specialist")
    assert answer.status_code == 200
    assert "_auth_user_id" not in client.session
    page = answer.content.decode()
    assert ONE_ANSWER in page
    assert "Please enter a correct username" not in page
    actions = {event.action: event for event in AuditEvent.objects.all()}
    assert set(actions) == {"auth.password_refused", "auth.login_failed"}
    assert actions["auth.password_refused"].outcome == Outcome.DENIED
    assert actions["auth.password_refused"].object_id == "specialist"


def test_no_road_to_a_password_is_left_open(sso_on, specialist, rf):
    """Every password check goes through authenticate(), which refuses before checking."""
    request = rf.post("/anywhere/")
    assert authenticate(request, username="specialist", password=PASSWORD) is None
    assert AuditEvent.objects.filter(action="auth.password_refused").count() == 1


def test_a_break_glass_admin_signs_in_with_a_password_and_the_trail_says_so(
        sso_on, client, db):
    make_user("glass", "admin")
    answer = _sign_in(client, "glass")
    assert answer.status_code == 302
    assert "_auth_user_id" in client.session
    actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    assert actions == ["auth.login", "auth.break_glass_sign_in"]


def test_listed_but_not_an_admin_is_refused(sso_on, client, db):
    make_user("not-an-admin", "billing_specialist")
    _sign_in(client, "not-an-admin")
    assert "_auth_user_id" not in client.session


def test_a_wrong_password_of_a_break_glass_admin_fails_as_any_wrong_password(
        sso_on, client, db):
    make_user("glass", "admin")
    answer = client.post("/accounts/login/", {"username": "glass", "password": "wrong"})
    assert ONE_ANSWER in answer.content.decode()
    assert not AuditEvent.objects.filter(action="auth.password_refused").exists()


def test_the_page_answers_every_refused_password_alike_whoever_the_name(
        sso_on, db, settings, specialist):
    """A break-glass admin's wrong password, a name that signs in through the provider, a
    listed name that is no admin and a name of no one: the same page, after the same work
    (one password hashed), so neither the words nor the time tell the names apart."""
    settings.PASSWORD_HASHERS = [f"{__name__}.CountingHasher"]
    make_user("glass", "admin")
    make_user("not-an-admin", "billing_specialist")
    pages, hashed = {}, {}
    for username in ("glass", "specialist", "not-an-admin", "nobody-at-all"):
        CountingHasher.hashed = 0
        answer = Client().post("/accounts/login/", {"username": username, "password": "wrong"})
        hashed[username] = CountingHasher.hashed
        pages[username] = _without_the_form_values(answer.content.decode(), username)
        assert answer.status_code == 200 and ONE_ANSWER in pages[username]
    assert len(set(pages.values())) == 1, pages.keys()
    assert set(hashed.values()) == {1}, hashed


def _without_the_form_values(page, username):
    page = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", page)
    return page.replace(f'value="{username}"', 'value=""')


def test_the_sign_in_page_leads_with_the_company_sign_in(sso_on, client):
    page = client.get("/accounts/login/").content.decode()
    assert page.index('id="sso-sign-in"') < page.index('id="break-glass"')
    assert "Sign in with Okta" in page


def test_with_single_sign_on_off_passwords_work_as_before(client, specialist):
    assert _sign_in(client, "specialist").status_code == 302
    assert not AuditEvent.objects.filter(action__in=["auth.password_refused",
                                                     "auth.break_glass_sign_in"]).exists()

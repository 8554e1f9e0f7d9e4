"""Sign-in: lock-out after repeated failures, idle sessions, and the audit of each attempt."""

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent, Outcome
from billing_console import sessions
from tests.conftest import PASSWORD, form_action, signed_in

LOGIN = "/accounts/login/"


def _sign_in(client, username, password):
    return client.post(LOGIN, {"username": username, "password": password})


def test_five_wrong_passwords_lock_the_account_and_each_attempt_is_audited(client, specialist):
    for _ in range(5):
        response = _sign_in(client, "specialist", "wrong password")
        assert response.status_code in (200, 429)
    locked = _sign_in(client, "specialist", PASSWORD)
    assert locked.status_code == 429
    assert b"Account locked" in locked.content
    assert "_auth_user_id" not in client.session

    failures = AuditEvent.objects.filter(action="auth.login_failed", object_id="specialist")
    assert failures.count() == 6  # five wrong passwords, and the right one while locked
    assert set(failures.values_list("outcome", flat=True)) == {Outcome.FAILURE}
    assert failures.filter(ip_address="127.0.0.1").count() == 6
    assert AuditEvent.objects.filter(action="auth.locked_out", object_id="specialist").exists()
    assert not AuditEvent.objects.filter(action="auth.login").exists()


def test_the_lock_is_per_account(client, specialist, finance):
    for _ in range(5):
        _sign_in(client, "specialist", "wrong password")
    response = _sign_in(client, "finance", PASSWORD)
    assert response.status_code == 302


def test_the_lock_is_per_account_and_address_so_no_one_elsewhere_can_lock_a_person_out(
        specialist, admin_user):
    attacker, owner = Client(REMOTE_ADDR="203.0.113.9"), Client(REMOTE_ADDR="198.51.100.7")
    for _ in range(6):
        _sign_in(attacker, "specialist", "wrong password")
    assert _sign_in(attacker, "specialist", PASSWORD).status_code == 429
    assert _sign_in(owner, "specialist", PASSWORD).status_code == 302
    assert set(AuditEvent.objects.filter(action="auth.locked_out").values_list(
        "object_id", "ip_address")) == {("specialist", "203.0.113.9")}
    # Admins see the account locked, wherever they look from, and unlock it everywhere.
    admin = signed_in(admin_user)
    row = admin.get("/manage/users/").content.decode().split(
        'data-username="specialist"')[1].split("</tr>")[0]
    assert "Locked" in row
    admin.post(f"/manage/users/{specialist.pk}/unlock/")
    assert _sign_in(attacker, "specialist", PASSWORD).status_code == 302


@pytest.mark.parametrize("username", ["a" * 151, "a" * 256, "é" * 300])
def test_a_username_longer_than_any_account_is_a_form_error(client, specialist, username):
    response = _sign_in(client, username, "wrong password")
    assert response.status_code == 200
    assert "at most 150 characters" in response.content.decode()
    assert not AccessAttempt.objects.exists()
    assert _sign_in(client, "specialist", PASSWORD).status_code == 302


@pytest.mark.parametrize("password", ["x" * 129, "Ab1!" * 2500])
def test_a_password_longer_than_any_is_a_form_error_that_locks_no_one(client, specialist,
                                                                      password):
    for _ in range(settings.AXES_FAILURE_LIMIT + 1):
        response = _sign_in(client, "specialist", password)
        assert response.status_code == 200
        assert "A password has at most 128 characters." in response.content.decode()
    assert not AccessAttempt.objects.exists()
    assert not AuditEvent.objects.filter(action="auth.login_failed").exists()
    assert _sign_in(client, "specialist", PASSWORD).status_code == 302


def test_sign_in_and_sign_out_are_audited(client, specialist):
    assert _sign_in(client, "specialist", PASSWORD).status_code == 302
    client.post(reverse("logout"))
    actions = list(AuditEvent.objects.order_by("id").values_list("action", "actor_username"))
    assert actions == [("auth.login", "specialist"), ("auth.logout", "specialist")]


def test_a_refused_page_is_audited_as_a_denial(client, tier2):
    client.force_login(tier2)
    assert client.get("/audit/").status_code == 403
    denial = AuditEvent.objects.get(action="access.denied")
    assert (denial.actor_username, denial.object_id, denial.outcome) == (
        "tier2", "GET /audit/", Outcome.DENIED)
    assert denial.actor_role == "tier2_agent"


def test_each_role_lands_on_its_home_page(client, actors):
    homes = {"specialist": "/cases/", "tier2": "/guidance/", "finance": "/approvals/",
             "admin": "/manage/"}
    for name, home in homes.items():
        assert signed_in(actors[name]).get("/").url == home  # an admin with the factor
    client.force_login(actors["admin"])
    assert client.get("/").url == "/accounts/second-factor/?next=/"  # before it
    client.force_login(actors["outsider"])
    assert b"no role yet" in client.get("/").content


def test_sessions_end_after_twelve_idle_hours_by_default():
    assert settings.SESSION_COOKIE_AGE == 12 * 3600


@pytest.mark.django_db
def test_a_request_pushes_the_idle_end_back_writing_the_session_once_a_minute(
        specialist, monkeypatch):
    client = signed_in(specialist)
    clock = [1_000_000.0]
    monkeypatch.setattr(sessions.time, "time", lambda: clock[0])

    def expiry():
        return Session.objects.get(session_key=client.session.session_key).expire_date

    client.get("/cases/")
    first = expiry()
    clock[0] += 30
    client.get("/cases/")
    assert expiry() == first  # within the minute: not written again
    clock[0] += 31
    client.get("/cases/")
    assert expiry() > first  # a minute on: the end moves back


@pytest.mark.django_db
def test_login_page_renders_for_anonymous_visitors(client):
    response = client.get(LOGIN)
    assert response.status_code == 200
    assert b'name="password"' in response.content


@pytest.mark.django_db
def test_an_expired_or_unknown_session_signs_nobody_in(specialist):
    client = signed_in(specialist)
    assert client.get("/cases/").status_code == 200
    key = client.session.session_key
    Session.objects.filter(session_key=key).update(expire_date=timezone.now())
    assert client.get("/cases/").url.startswith("/accounts/login/")
    store = sessions.SessionStore(key)
    assert store.load() == {}
    assert store.session_key is None  # as Django's store: a fresh key on the next save
    assert sessions.SessionStore("no-such-session-key").load() == {}


@pytest.mark.django_db
def test_the_session_user_is_the_row_django_would_load(specialist, django_assert_num_queries):
    backend = sessions.SessionUserBackend()
    with django_assert_num_queries(1):
        user = backend.get_user(specialist.pk)
    expected = User.objects.get(pk=specialist.pk)
    assert {k: v for k, v in vars(user).items() if k != "_state"} == {
        k: v for k, v in vars(expected).items() if k != "_state"}
    assert not user._state.adding and user._state.db == "default"
    assert backend.get_user(10**9) is None
    User.objects.filter(pk=specialist.pk).update(is_active=False)
    assert backend.get_user(specialist.pk) is None  # may not sign in: no user, as Django's


@pytest.mark.django_db
def test_a_deactivated_user_is_signed_out_at_the_next_request(specialist):
    client = signed_in(specialist)
    assert client.get("/cases/").status_code == 200
    User.objects.filter(pk=specialist.pk).update(is_active=False)
    assert client.get("/cases/").url.startswith("/accounts/login/")


@pytest.mark.django_db
@pytest.mark.parametrize("cookie", ["abcdefgh\x00ijk", "ABCDEFGHIJ", "abcdefgh ijk", "é" * 32])
def test_a_session_cookie_django_could_not_have_made_is_no_session(client, cookie):
    client.cookies[settings.SESSION_COOKIE_NAME] = cookie

    for path in ("/cases/", "/healthz", "/accounts/login/"):
        response = client.get(path)
        assert response.status_code in (200, 302), (path, response.status_code)
    assert client.get("/cases/").url.startswith("/accounts/login/")


def test_a_refused_sign_in_keeps_where_they_were_going(client, specialist):
    """A wrong password's page keeps `next` in its address, so that the right password,
    from it or from a reload of it, lands where the person was going."""
    page = client.get("/audit/", follow=True)
    refused = client.post(form_action(page, LOGIN), {"username": "specialist",
                                                     "password": "wrong password"})
    assert refused.status_code == 200 and b"Please enter a correct" in refused.content
    reloaded = client.get(form_action(refused, LOGIN))  # the refused page's own address

    signed_in_now = client.post(form_action(reloaded, LOGIN), {"username": "specialist",
                                                               "password": PASSWORD})

    assert signed_in_now.status_code == 302 and signed_in_now["Location"] == "/audit/"


def test_a_next_elsewhere_is_dropped_after_a_refusal_too(client, specialist):
    refused = client.post(f"{LOGIN}?next=https://evil.example/", {
        "username": "specialist", "password": "wrong password"})
    assert "evil.example" not in form_action(refused, LOGIN)

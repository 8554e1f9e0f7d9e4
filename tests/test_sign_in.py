"""Sign-in: lock-out after repeated failures, idle sessions, and the audit of each attempt."""

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.urls import reverse

from audit.models import AuditEvent, Outcome
from billing_console import sessions
from tests.conftest import PASSWORD, signed_in

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
             "admin": "/admin/"}
    for name, home in homes.items():
        client.force_login(actors[name])
        assert client.get("/").url == home
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

"""Admins and superusers give a second factor before anything else: they enrol an
authenticator app, give a code after each sign-in, and may use each recovery code once;
until then their session opens only the pages that take the code, and their API token
opens nothing. All of it is in the trail, the refusals at most once a minute."""

import html
import re
import time
from datetime import timedelta

import pytest
import yaml
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.models import VerifyNotAllowed
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from audit.models import AuditEvent, Outcome
from billing_console import access
from billing_console.access import (
    ADMIN_TOKEN_REFUSED,
    BEFORE_SECOND_FACTOR,
    PUBLIC,
    SECOND_FACTOR_NEEDED,
    SECOND_FACTOR_NEEDED_API,
    Role,
    allows,
    declared_capability,
)
from money_actions.models import State
from second_factor.services import JUST_AFTER_A_WRONG_CODE, _throttled
from tests.conftest import (
    PASSWORD,
    api_client,
    authenticator,
    authenticator_code,
    form_action,
    make_user,
)
from tests.refunds.conftest import charged, pending  # noqa: F401 (fixtures)
from tests.test_access_routes import ROUTES, _get

VERIFY = "/accounts/second-factor/"
ENROL = "/accounts/second-factor/enrol/"

# Every route but the public ones and the pages that take the code: an admin's session
# opens none of them before giving the second factor.
GUARDED = [(path, declared_capability(pattern.callback)) for path, pattern in ROUTES
           if declared_capability(pattern.callback) not in (PUBLIC, BEFORE_SECOND_FACTOR)]
GUARDED_PAGES = [path for path, _ in GUARDED if not path.startswith("/api/")]
GUARDED_API = [path for path, _ in GUARDED if path.startswith("/api/")]


def password_signed_in(user, **client_options):
    """A client signed in through the sign-in page, as a browser is."""
    client = Client(**client_options)
    response = client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302, response.content
    return client


def events(action, user=None):
    found = AuditEvent.objects.filter(action=action).order_by("id")
    return found.filter(actor_username=user.username) if user is not None else found


@pytest.fixture
def root(db):
    """An admin who is also a superuser: every admin page is theirs, given the factor."""
    user = make_user("root", Role.ADMIN)
    user.is_superuser = True
    user.save()
    return user


def test_only_the_pages_that_take_the_code_open_before_it():
    before = sorted(path for path, pattern in ROUTES
                    if declared_capability(pattern.callback) == BEFORE_SECOND_FACTOR)
    assert before == [VERIFY, ENROL, "/accounts/second-factor/recovery-codes/"]
    guarded = {path for path, _ in GUARDED}
    for path in ("/manage/", "/admin/", "/manage/integrations/", "/approvals/", "/audit/",
                 "/audit/exports/", "/api/v1/me", "/api/v1/audit-events/",
                 "/api/v1/money-actions/00000000-0000-0000-0000-000000000001/approve/"):
        assert path in guarded, path


def test_an_admin_without_a_second_factor_opens_nothing_but_the_pages_that_take_it(root):
    client = password_signed_in(root)
    for path in GUARDED_PAGES:
        for response in (client.get(path), client.head(path), client.post(path, {})):
            assert response.status_code == 302, path
            assert response["Location"] == f"{VERIFY}?next={_quoted(path)}", path
    # The API answers, to the same session, what a program can read.
    for path in GUARDED_API:
        for response in (client.get(path), client.post(path, {})):
            assert response.status_code == 403, path
            assert _says(response, SECOND_FACTOR_NEEDED_API), path
    # The first refusal is in the trail; the walk's others, within the minute, are not.
    denial = events("access.denied", root).get()
    assert (denial.reason, denial.outcome) == (SECOND_FACTOR_NEEDED, Outcome.DENIED)
    assert denial.object_id == f"GET {GUARDED_PAGES[0]}"
    # With nothing enrolled, the page that asks for the code sends them to enrol.
    assert client.get(f"{VERIFY}?next=/manage/")["Location"] == f"{ENROL}?next=%2Fmanage%2F"


def test_an_admin_without_a_second_factor_approves_no_money_action(pending, admin_user):  # noqa: F811
    client = password_signed_in(admin_user)
    api = client.post(f"/api/v1/money-actions/{pending.pk}/approve/")
    page = client.post(f"/approvals/{pending.pk}/approve/", {"note": "ok"})
    program = APIClient()
    program.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=admin_user).key}")
    token = program.post(f"/api/v1/money-actions/{pending.pk}/approve/")

    assert (api.status_code, api.json()["message"]) == (403, SECOND_FACTOR_NEEDED_API)
    assert page.status_code == 302 and page["Location"].startswith(VERIFY)
    assert (token.status_code, token.json()["message"]) == (403, ADMIN_TOKEN_REFUSED)
    pending.refresh_from_db()
    assert pending.state == State.PENDING_APPROVAL
    # With the second factor, the same admin approves it.
    approved = api_client(admin_user).post(f"/api/v1/money-actions/{pending.pk}/approve/")
    assert approved.status_code == 200 and approved.json()["state"] == State.APPROVED


def test_refusals_for_want_of_the_factor_are_recorded_once_a_minute_per_session(
        root, monkeypatch):
    monkeypatch.setattr(access, "REFUSAL_RECORD_SECONDS", 1)
    first = password_signed_in(root, REMOTE_ADDR="192.0.2.1")
    for _ in range(3):
        first.get("/approvals/")
        first.get("/api/v1/me")
    second = password_signed_in(root, REMOTE_ADDR="192.0.2.2")
    second.get("/audit/")
    assert [(event.object_id, event.ip_address) for event in events("access.denied")] == [
        ("GET /approvals/", "192.0.2.1"), ("GET /audit/", "192.0.2.2")]
    time.sleep(1.1)
    first.get("/api/v1/me")
    assert events("access.denied").last().object_id == "GET /api/v1/me"
    assert events("access.denied").count() == 3


def _says(response, words):
    """Whether the refusal says `words`: in JSON, in the schema's own format
    (`/api/schema/`), or on the page of the API's docs (`/api/docs/`)."""
    kind = response["Content-Type"].split(";")[0]
    if kind == "application/json":
        return response.json()["message"] == words
    if kind == "application/vnd.oai.openapi":
        return yaml.safe_load(response.content)["message"] == words
    return words in html.unescape(response.content.decode())


def _quoted(path):
    from urllib.parse import quote

    return quote(path, safe="/")


def test_with_a_code_from_their_app_every_admin_page_opens(root):
    device = authenticator(root)
    client = password_signed_in(root)
    assert client.get("/manage/")["Location"] == f"{VERIFY}?next=/manage/"
    session_before = client.cookies["sessionid"].value

    response = client.post(VERIFY, {"code": authenticator_code(device), "next": "/manage/"})

    assert response.status_code == 302 and response["Location"] == "/manage/"
    assert client.cookies["sessionid"].value != session_before  # a new key for new trust
    for path, declared in GUARDED:
        response = _get(client, path)
        assert not (response.status_code == 302 and response["Location"].startswith(VERIFY)), \
            path
        assert (response.status_code == 403) == (not allows(root, declared)), path
    assert client.get("/manage/").status_code == 200
    assert client.get("/admin/").status_code == 200
    verified = events("second_factor.verified", root).get()
    assert verified.after == {"device": "Authenticator app"}
    assert verified.outcome == Outcome.SUCCESS
    # Signing out ends it: the next sign-in asks again.
    client.post(reverse("logout"))
    again = password_signed_in(root)
    assert again.get("/manage/")["Location"].startswith(VERIFY)


def test_a_wrong_code_is_refused_and_in_the_trail(root):
    device = authenticator(root)
    client = password_signed_in(root)
    right = int(authenticator_code(device))

    response = client.post(VERIFY, {"code": f"{(right + 1) % 1_000_000:06d}"})

    assert response.status_code == 400
    assert "That code is wrong or has expired" in response.content.decode()
    assert client.get("/manage/")["Location"].startswith(VERIFY)
    failure = events("second_factor.failed", root).get()
    assert failure.outcome == Outcome.FAILURE
    assert failure.after == {"device": "Authenticator app", "step": "verification"}
    # Each wrong code doubles the wait before the next try, even for the right code; after
    # one typo, that wait is a second, and said as such.
    throttled = client.post(VERIFY, {"code": authenticator_code(device)})
    assert throttled.status_code == 400
    assert html.escape(JUST_AFTER_A_WRONG_CODE) in throttled.content.decode()
    assert "Too many" not in throttled.content.decode()
    assert events("second_factor.failed", root).count() == 2
    time.sleep(1.1)
    assert client.post(VERIFY, {"code": authenticator_code(device)}).status_code == 302
    assert client.get("/manage/").status_code == 200


def test_a_refused_code_keeps_where_the_admin_was_going(root):
    """A wrong code's page keeps `next` in its address: the right code, from it or from a
    reload of it, lands on the page the admin asked for, not on their start page."""
    device = authenticator(root)
    client = password_signed_in(root)
    page = client.get("/audit/", follow=True)
    right = int(authenticator_code(device))
    refused = client.post(form_action(page, VERIFY), {"code": f"{(right + 1) % 1_000_000:06d}"})
    assert refused.status_code == 400
    reloaded = client.get(form_action(refused, VERIFY))  # the refused page's own address
    time.sleep(1.1)  # the wait a wrong code costs

    response = client.post(form_action(reloaded, VERIFY), {"code": authenticator_code(device)})

    assert response.status_code == 302 and response["Location"] == "/audit/"


def test_a_refused_code_at_enrolment_keeps_where_the_admin_was_going(root):
    client = password_signed_in(root)
    page = client.get("/audit/", follow=True)
    assert page.redirect_chain[-1][0] == f"{ENROL}?next=%2Faudit%2F"

    refused = client.post(form_action(page, ENROL), {"code": "000000"})

    assert refused.status_code == 400
    assert form_action(refused, ENROL) == f"{ENROL}?next=/audit/"


def test_a_code_works_once(root):
    device = authenticator(root)
    code = authenticator_code(device)
    assert password_signed_in(root).post(VERIFY, {"code": code}).status_code == 302
    replayed = password_signed_in(root).post(VERIFY, {"code": code})
    assert replayed.status_code == 400


def test_a_recovery_code_works_once(root):
    authenticator(root)
    recovery = StaticDevice.objects.create(user=root, name="Recovery codes", confirmed=True)
    StaticToken.objects.create(device=recovery, token="abcd2345")
    StaticToken.objects.create(device=recovery, token="wxyz6789")

    first = password_signed_in(root)
    response = first.post(VERIFY, {"code": "ABCD-2345", "next": "/manage/"}, follow=True)

    assert response.redirect_chain[-1][0] == "/manage/"
    assert "You used a recovery code. Each works once: 1 left." in response.content.decode()
    used = events("second_factor.recovery_code_used", root).get()
    assert used.after == {"device": "Recovery codes", "recovery_codes_left": 1}
    second = password_signed_in(root)
    refused = second.post(VERIFY, {"code": "abcd2345"})
    assert refused.status_code == 400
    assert "That recovery code is wrong or has been used already." in refused.content.decode()
    assert second.get("/manage/")["Location"].startswith(VERIFY)


def test_an_admin_enrols_confirms_with_a_code_and_gets_recovery_codes_once(admin_user):
    client = password_signed_in(admin_user)
    assert client.get("/", follow=True).redirect_chain[-1][0] == f"{ENROL}?next=%2F"
    page = client.get(f"{ENROL}?next=/manage/")
    text = page.content.decode()
    secret = re.search(r'<code id="secret">([A-Z2-7 ]+)</code>', text).group(1)
    assert "otpauth://totp/Billing%20Console%3Aadmin?secret=" in text
    assert 'src="data:image/svg+xml' in text
    assert page["Cache-Control"].startswith("max-age=0")
    device = TOTPDevice.objects.get(user=admin_user, confirmed=False)
    assert secret.replace(" ", "") in device.config_url
    # Reloading keeps the key the app has.
    assert secret in client.get(ENROL).content.decode()

    right = int(authenticator_code(device))
    wrong = client.post(ENROL, {"code": f"{(right + 1) % 1_000_000:06d}"})
    assert wrong.status_code == 400
    assert events("second_factor.failed", admin_user).get().after["step"] == "enrolment"
    time.sleep(1.1)
    done = client.post(ENROL, {"code": authenticator_code(device), "next": "/manage/"})

    assert done.status_code == 200
    codes = re.findall(r"<li><code>([a-z2-7]{8})</code></li>", done.content.decode())
    assert len(codes) == 10 and len(set(codes)) == 10
    assert sorted(StaticToken.objects.filter(device__user=admin_user)
                  .values_list("token", flat=True)) == sorted(codes)
    assert client.get("/manage/").status_code == 200
    assert [event.action for event in AuditEvent.objects.filter(
        actor_username="admin", action__startswith="second_factor.").order_by("id")] == [
        "second_factor.failed", "second_factor.enrolled", "second_factor.recovery_codes_issued"]
    # Shown once: the verified page tells how many are left, not which.
    status = client.get(VERIFY).content.decode()
    assert "10 recovery codes left" in status and codes[0] not in status


def test_someone_with_only_the_password_cannot_enrol_an_app_of_their_own(admin_user):
    device = authenticator(admin_user)
    client = password_signed_in(admin_user)
    response = client.get(f"{ENROL}?next=/manage/")
    assert response["Location"] == f"{VERIFY}?next=%2Fmanage%2F"
    assert client.post(ENROL, {"code": "123456"})["Location"].startswith(VERIFY)
    assert list(TOTPDevice.objects.filter(user=admin_user)) == [device]
    assert client.post("/accounts/second-factor/recovery-codes/")["Location"].startswith(
        VERIFY)
    assert not events("second_factor.recovery_codes_issued").exists()


def test_a_verified_admin_replaces_their_app_and_their_recovery_codes(admin_user):
    old = authenticator(admin_user)
    client = password_signed_in(admin_user)
    client.post(VERIFY, {"code": authenticator_code(old)})
    first = re.findall(r"<li><code>(\w+)</code></li>", client.post(
        "/accounts/second-factor/recovery-codes/").content.decode())
    second = re.findall(r"<li><code>(\w+)</code></li>", client.post(
        "/accounts/second-factor/recovery-codes/").content.decode())
    assert len(first) == len(second) == 10 and not set(first) & set(second)
    assert password_signed_in(admin_user).post(VERIFY, {"code": first[0]}).status_code == 400

    assert "Replace your authenticator app" in client.get(ENROL).content.decode()
    new = TOTPDevice.objects.get(user=admin_user, confirmed=False)
    assert client.post(ENROL, {"code": authenticator_code(new)}).status_code == 200
    assert list(TOTPDevice.objects.filter(user=admin_user)) == [new]
    assert events("second_factor.enrolled", admin_user).get().after == {
        "device": "Authenticator app", "replaced": True}


@pytest.mark.parametrize("role", ["specialist", "tier2", "finance", "outsider"])
def test_other_roles_need_no_second_factor(actors, role):
    client = password_signed_in(actors[role])
    home = client.get("/", follow=True)
    assert home.status_code == 200
    assert not home.request["PATH_INFO"].startswith("/accounts/")
    for path in (VERIFY, ENROL):
        response = client.get(path, follow=True)
        assert response.redirect_chain[0][0] == "/"
        assert "Only admins use a second factor" in response.content.decode()
    assert not TOTPDevice.objects.exists()


@pytest.mark.parametrize("roles,superuser", [((Role.ADMIN,), False), ((), True),
                                              ((Role.FINANCE, Role.ADMIN), False)])
def test_an_admins_api_token_opens_nothing(db, roles, superuser):
    """A token cannot carry a second factor: an admin's or a superuser's is refused on
    every endpoint, whatever it asks, saying why."""
    user = make_user("holder", *roles)
    user.is_superuser = superuser
    user.save()
    authenticator(user)
    program = APIClient()
    program.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    for path in GUARDED_API:
        response = program.get(path)
        assert response.status_code == 403, path
        assert _says(response, ADMIN_TOKEN_REFUSED), path
    assert events("access.denied").get().reason == ADMIN_TOKEN_REFUSED


def test_a_token_of_a_role_without_admin_works(finance):
    program = APIClient()
    program.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=finance).key}")
    assert program.get("/api/v1/me").status_code == 200
    assert program.get("/api/v1/audit-events/").status_code == 200


def test_resetting_a_lost_second_factor_is_audited(admin_user):
    authenticator(admin_user)
    StaticDevice.objects.create(user=admin_user, name="Recovery codes", confirmed=True)
    call_command("second_factor_reset", "admin", "--reason", "Lost phone, ticket 4711")
    assert not TOTPDevice.objects.filter(user=admin_user).exists()
    assert not StaticDevice.objects.filter(user=admin_user).exists()
    reset = events("second_factor.reset").get()
    assert (reset.object_id, reset.reason) == (str(admin_user.pk), "Lost phone, ticket 4711")
    assert reset.after == {"devices_removed": 2, "user": "admin"}
    client = password_signed_in(admin_user)
    assert client.get(VERIFY)["Location"].startswith(ENROL)


def test_a_code_longer_than_any_is_a_form_error(root):
    authenticator(root)
    client = password_signed_in(root)
    response = client.post(VERIFY, {"code": "7" * 5000})
    assert response.status_code == 400
    assert "at most 32 characters" in response.content.decode()
    assert not events("second_factor.failed").exists()


@pytest.mark.parametrize("failures,left,words", [(2, 0.4, "try again in 1 second."),
                                                 (5, 10.4, "try again in 11 seconds.")])
def test_the_wait_after_wrong_codes_is_said_in_words(failures, left, words):
    refusal = _throttled({"reason": VerifyNotAllowed.N_FAILED_ATTEMPTS,
                          "failure_count": failures,
                          "locked_until": timezone.now() + timedelta(seconds=left)})
    assert refusal.message == f"Too many wrong codes: {words}"


def test_the_right_code_at_once_after_one_typo_at_enrolment_is_not_too_many(admin_user):
    """django-otp holds any code for a second after a wrong one: the enrolment that meets
    it says to wait that second, and the code then goes through."""
    client = password_signed_in(admin_user)
    client.get(ENROL)
    device = TOTPDevice.objects.get(user=admin_user, confirmed=False)
    right = int(authenticator_code(device))
    assert client.post(ENROL, {"code": f"{(right + 1) % 1_000_000:06d}"}).status_code == 400

    at_once = client.post(ENROL, {"code": authenticator_code(device)}).content.decode()

    assert html.escape(JUST_AFTER_A_WRONG_CODE) in at_once
    assert "Too many" not in at_once
    time.sleep(1.1)
    assert client.post(ENROL, {"code": authenticator_code(device)}).status_code == 200

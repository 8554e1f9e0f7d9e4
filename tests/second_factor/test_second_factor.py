"""Admins need a second factor on every admin page: they enrol an authenticator app, give a
code after each sign-in, and may use each recovery code once. All of it is in the trail."""

import re
import time

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIRequestFactory, force_authenticate
from rest_framework.views import APIView

from audit.models import AuditEvent, Outcome
from billing_console.access import (
    SECOND_FACTOR_DECLARATIONS,
    SECOND_FACTOR_NEEDED,
    SECOND_FACTOR_NEEDED_API,
    CapabilityPermission,
    Role,
    declared_capability,
)
from tests.conftest import PASSWORD, authenticator, authenticator_code, make_user
from tests.test_access_routes import ROUTES

VERIFY = "/accounts/second-factor/"
ENROL = "/accounts/second-factor/enrol/"

# Every route that needs a second factor: the admin role's pages (/manage/, the Zendesk
# sync page), Django's admin, and the admin role's API endpoints.
ADMIN_ROUTES = [path for path, pattern in ROUTES
                if declared_capability(pattern.callback) in SECOND_FACTOR_DECLARATIONS]
ADMIN_PAGES = [path for path in ADMIN_ROUTES if not path.startswith("/api/")]
ADMIN_API = [path for path in ADMIN_ROUTES if path.startswith("/api/")]


def password_signed_in(user):
    """A client signed in through the sign-in page, as a browser is."""
    client = Client()
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


def test_the_admin_routes_are_the_admin_roles_pages_and_djangos_admin():
    assert "/manage/" in ADMIN_ROUTES and "/manage/users/1/" in ADMIN_ROUTES
    assert "/admin/" in ADMIN_ROUTES and "/admin/auth/user/" in ADMIN_ROUTES
    assert "/cases/sync/" in ADMIN_ROUTES


def test_an_admin_without_a_second_factor_reaches_no_admin_page(root):
    client = password_signed_in(root)
    for path in ADMIN_PAGES:
        for response in (client.get(path), client.post(path, {})):
            assert response.status_code == 302, path
            assert response["Location"] == f"{VERIFY}?next={_quoted(path)}", path
    # The API answers, to the same session, what a program can read.
    for path in ADMIN_API:
        for response in (client.get(path), client.post(path, {})):
            assert response.status_code == 403, path
            assert response.json()["message"] == SECOND_FACTOR_NEEDED_API, path
    denials = events("access.denied", root)
    assert denials.count() == 2 * len(ADMIN_ROUTES)
    assert {event.reason for event in denials if event.source != "api"} == {
        SECOND_FACTOR_NEEDED}
    assert {event.reason for event in denials if event.source == "api"} == (
        {SECOND_FACTOR_NEEDED_API} if ADMIN_API else set())
    assert {event.outcome for event in denials} == {Outcome.DENIED}
    # With nothing enrolled, the page that asks for the code sends them to enrol.
    assert client.get(f"{VERIFY}?next=/manage/")["Location"] == f"{ENROL}?next=%2Fmanage%2F"


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
    for path in ADMIN_ROUTES:
        response = client.get(path)
        assert not (response.status_code == 302 and response["Location"].startswith(VERIFY)), \
            path
        assert response.status_code != 403, path
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
    # Each wrong code doubles the wait before the next try, even for the right code.
    throttled = client.post(VERIFY, {"code": authenticator_code(device)})
    assert throttled.status_code == 400
    assert "Too many wrong codes: try again in" in throttled.content.decode()
    assert events("second_factor.failed", root).count() == 2
    time.sleep(1.1)
    assert client.post(VERIFY, {"code": authenticator_code(device)}).status_code == 302
    assert client.get("/manage/").status_code == 200


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
    assert client.get("/", follow=True).redirect_chain[-1][0] == f"{ENROL}?next=%2Fmanage%2F"
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


def test_an_api_token_never_opens_a_view_that_needs_a_second_factor(root):
    """Any API view that needs one is refused to tokens, which cannot carry a second
    factor: a view declared so, and the admin role's endpoints."""
    from rest_framework.response import Response

    authenticator(root)
    for declared in SECOND_FACTOR_DECLARATIONS:

        class AdminApi(APIView):
            required_capability = declared

            def get(self, request):
                return Response({"ok": True})

        assert AdminApi.permission_classes == [CapabilityPermission]
        request = APIRequestFactory().get("/api/v1/anything")
        force_authenticate(request, root)
        response = AdminApi.as_view()(request)
        assert response.status_code == 403, declared
        assert response.data["message"] == SECOND_FACTOR_NEEDED_API
    # And the admin role's own endpoints, called with the admin's token.
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    program = APIClient()
    program.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=root).key}")
    for path in ADMIN_API:
        response = program.get(path)
        assert response.status_code == 403, path
        assert response.json()["message"] == SECOND_FACTOR_NEEDED_API, path


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

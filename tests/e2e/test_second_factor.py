"""In Chromium: an admin enrols an authenticator app from the key the page shows, keeps the
recovery codes, and from then on gives a code (or a recovery code, once) after signing in."""

import time
from base64 import b32decode

from django.contrib.auth.models import User
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import AuditEvent
from billing_console.access import Role
from tests.conftest import PASSWORD, authenticator_code, make_user


def _password_sign_in(page, username):
    page.goto("about:blank")
    page.context.clear_cookies()
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.press("#id_password", "Enter")
    page.wait_for_load_state()


def test_an_admin_enrols_then_signs_in_with_a_code_and_with_a_recovery_code(page, db):
    make_user("ada", Role.ADMIN)
    _password_sign_in(page, "ada")

    # First sign-in: the admin pages wait until an app is set up.
    assert "/accounts/second-factor/enrol/" in page.url
    assert page.get_by_role("heading", name="Set up your second factor").is_visible()
    qr_width = page.eval_on_selector("#qr-code", "image => image.naturalWidth")
    assert qr_width > 100  # the QR code drew, within the page's content policy
    secret = page.inner_text("#secret").replace(" ", "")
    app = TOTP(b32decode(secret), 30, 0, 6, 0)  # what an authenticator app computes
    app.time = time.time()
    page.fill("#id_code", f"{app.token():06d}")
    page.get_by_role("button", name="Confirm").click()

    assert page.get_by_role("heading", name="Your second factor is set up").is_visible()
    codes = page.locator("#recovery-codes code").all_inner_texts()
    assert len(codes) == 10
    page.click("#continue")
    assert page.url.endswith("/manage/")
    assert page.get_by_role("link", name="Admin").get_attribute("aria-current") == "page"

    # Next sign-in: a wrong code is refused, the app's code lets them in.
    _password_sign_in(page, "ada")
    assert "/accounts/second-factor/?next=" in page.url
    device = TOTPDevice.objects.get(user__username="ada")
    right = authenticator_code(device)
    page.fill("#id_code", f"{(int(right) + 1) % 1_000_000:06d}")
    page.get_by_role("button", name="Verify").click()
    assert page.get_by_role("alert").inner_text().startswith("That code is wrong")
    assert "/accounts/second-factor/" in page.url
    time.sleep(1.1)  # the wait a wrong code costs
    page.fill("#id_code", authenticator_code(device))
    page.get_by_role("button", name="Verify").click()
    assert page.url.endswith("/manage/")

    # A recovery code instead of the app, once.
    _password_sign_in(page, "ada")
    page.fill("#id_code", codes[0])
    page.get_by_role("button", name="Verify").click()
    assert page.url.endswith("/manage/")
    assert "Each works once: 9 left." in page.inner_text("main")
    _password_sign_in(page, "ada")
    page.fill("#id_code", codes[0])
    page.get_by_role("button", name="Verify").click()
    assert "has been used already" in page.get_by_role("alert").inner_text()

    trail = list(AuditEvent.objects.filter(actor=User.objects.get(username="ada"))
                 .filter(action__startswith="second_factor.").order_by("id")
                 .values_list("action", flat=True))
    assert trail == ["second_factor.enrolled", "second_factor.recovery_codes_issued",
                     "second_factor.failed", "second_factor.verified",
                     "second_factor.recovery_code_used", "second_factor.failed"]
    assert AuditEvent.objects.filter(action="access.denied", actor_username="ada").exists()
    # Only the two refused codes' pages, answered 400 as a form's error is.
    assert len(page.console_errors) == 2
    assert all("status of 400" in error for error in page.console_errors)

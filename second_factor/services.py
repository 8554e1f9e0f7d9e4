"""An admin's second factor: an authenticator app (TOTP, RFC 6238) and single-use recovery
codes, kept as django-otp's devices (a `TOTPDevice` and a `StaticDevice` of tokens).

Enrolment, each verification, each wrong code and each recovery code used is an audit
event in the same transaction as the device's change. A wrong code is refused with a
`ApplicationError` after its transaction commits, so that django-otp's throttle (each
failure doubles the wait before the next try, per device) and the trail keep it.

`origin` is the request's `audit.services.Origin` (source and IP), for the trail. Which
users need a second factor, and for which pages, is `billing_console.access`'s.
"""

import re
from base64 import b32encode
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django_otp.models import VerifyNotAllowed
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import Outcome, Source
from audit.services import record
from billing_console.exceptions import ApplicationError

AUTHENTICATOR_NAME = "Authenticator app"
RECOVERY_CODES_NAME = "Recovery codes"
RECOVERY_CODE_COUNT = 10

WRONG_CODE = "That code is wrong or has expired. Enter the code your app shows now."
WRONG_RECOVERY_CODE = "That recovery code is wrong or has been used already."
# A code typed within django-otp's one-second wait after a single wrong one: not checked.
JUST_AFTER_A_WRONG_CODE = ("That code came too soon after a wrong one to be checked: wait "
                           "a second, then type it again.")


@dataclass(frozen=True)
class PendingEnrolment:
    """An authenticator not yet confirmed: what the person adds to their app."""

    device: TOTPDevice
    secret: str  # the key in base32, as apps take it typed in
    uri: str  # otpauth://totp/…, what the QR code holds


def pending_enrolment(device):
    return PendingEnrolment(device=device, secret=b32encode(device.bin_key).decode(),
                            uri=device.config_url)


def has_authenticator(user):
    """Whether `user` has confirmed an authenticator app."""
    return TOTPDevice.objects.devices_for_user(user, confirmed=True).exists()


def recovery_codes_left(user):
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


@transaction.atomic
def totp_enrolment_begin(*, user, replacing=False):
    """The user's pending authenticator (`PendingEnrolment`), made with a new random key
    unless one is pending already (so reloading the page keeps the key the app has).

    Raises `ApplicationError("already_enrolled")` when the user has a confirmed one and is
    not `replacing` it (the caller lets only a verified session replace it)."""
    if has_authenticator(user) and not replacing:
        raise ApplicationError("You have an authenticator app already.", "already_enrolled")
    device = (TOTPDevice.objects.devices_for_user(user, confirmed=False).order_by("-id")
              .first())
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=AUTHENTICATOR_NAME, confirmed=False)
    return pending_enrolment(device)


def totp_enrolment_confirm(*, user, code, origin, replacing=False):
    """Confirm the pending authenticator with a code it shows; returns `(device, codes)`,
    the confirmed `TOTPDevice` and new recovery codes (plain text, shown once).

    A confirmed authenticator replaces the user's previous one (`replacing`), and the new
    codes replace any left. Audit: `second_factor.enrolled` and
    `second_factor.recovery_codes_issued`; a wrong code `second_factor.failed`.
    Raises `ApplicationError` (`no_enrolment`, `already_enrolled`, `wrong_code`,
    `throttled`)."""
    with transaction.atomic():
        device = (TOTPDevice.objects.devices_for_user(user, confirmed=False)
                  .select_for_update().order_by("-id").first())
        if device is None:
            raise ApplicationError("Start again: this enrolment is no longer pending.",
                                   "no_enrolment")
        if has_authenticator(user) and not replacing:
            raise ApplicationError("You have an authenticator app already.",
                                   "already_enrolled")
        refusal = _check(device, code, WRONG_CODE)
        if refusal is None:
            TOTPDevice.objects.devices_for_user(user, confirmed=None).exclude(
                pk=device.pk).delete()
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            _record(user, origin, "second_factor.enrolled", device,
                    after={"replaced": bool(replacing)})
            codes = _issue_recovery_codes(user, origin)
        else:
            _record_failure(user, origin, device, refusal, step="enrolment")
    if refusal is not None:
        raise refusal
    return device, codes


def second_factor_verify(*, user, code, origin):
    """Check a code from the user's authenticator app, or one of their recovery codes
    (which is then used up); returns the `Device` that accepted it.

    Audit: `second_factor.verified` or `second_factor.recovery_code_used` (with the codes
    left), or `second_factor.failed`. Raises `ApplicationError` (`no_device`,
    `wrong_code`, `throttled`)."""
    code = normalised_code(code)
    recovery = not code.isdigit()
    model = StaticDevice if recovery else TOTPDevice
    with transaction.atomic():
        device = (model.objects.devices_for_user(user, confirmed=True).select_for_update()
                  .order_by("-id").first())
        if device is None:
            refusal = ApplicationError(WRONG_RECOVERY_CODE if recovery else WRONG_CODE,
                                       "no_device")
            _record_failure(user, origin, None, refusal, step="verification")
        else:
            refusal = _check(device, code, WRONG_RECOVERY_CODE if recovery else WRONG_CODE)
            if refusal is not None:
                _record_failure(user, origin, device, refusal, step="verification")
            elif recovery:
                _record(user, origin, "second_factor.recovery_code_used", device,
                        after={"recovery_codes_left": device.token_set.count()})
            else:
                _record(user, origin, "second_factor.verified", device)
    if refusal is not None:
        raise refusal
    return device


@transaction.atomic
def recovery_codes_issue(*, user, origin):
    """New recovery codes for `user`, replacing those left; returns them (plain text, to
    show once). Audit: `second_factor.recovery_codes_issued`."""
    return _issue_recovery_codes(user, origin)


@transaction.atomic
def second_factor_reset(*, user, reason, source=Source.SYSTEM):
    """Remove every device of `user` (who lost their app and their recovery codes): they
    enrol again at their next admin page. Returns how many devices went. Audit:
    `second_factor.reset`, with `reason`."""
    removed = 0
    for model in (TOTPDevice, StaticDevice):
        removed += model.objects.filter(user=user).delete()[1].get(model._meta.label, 0)
    record(action="second_factor.reset", source=source, object_type="user",
           object_id=user.pk, after={"devices_removed": removed, "user": user.get_username()},
           reason=reason)
    return removed


def normalised_code(code):
    """What the person typed, as the devices compare it: without spaces and hyphens (apps
    show "123 456"; recovery codes are printed in two halves), in lower case."""
    return re.sub(r"[\s-]", "", str(code)).lower()


def _check(device, code, wrong):
    """None when `device` accepts `code` (django-otp saves the device either way: its last
    step used, or one more failure); else the refusal."""
    allowed, details = device.verify_is_allowed()
    if not allowed:
        return _throttled(details)
    if device.verify_token(normalised_code(code)):
        return None
    return ApplicationError(wrong, "wrong_code")


def _throttled(details):
    """The refusal of a code django-otp would not check yet (`details` is its
    `verify_is_allowed` answer). One wrong code holds the next for a second only: a typo
    followed at once by the right code is told to wait that second, not that it was one
    wrong code too many."""
    if (details or {}).get("reason") == VerifyNotAllowed.N_FAILED_ATTEMPTS:
        if details.get("failure_count", 2) <= 1:
            return ApplicationError(JUST_AFTER_A_WRONG_CODE, "throttled")
        wait = max(1, int((details["locked_until"] - timezone.now()).total_seconds()) + 1)
        return ApplicationError(f"Too many wrong codes: try again in {wait} "
                                f"second{'' if wait == 1 else 's'}.", "throttled")
    return ApplicationError("Codes cannot be checked right now: try again shortly.",
                            "throttled")


def _issue_recovery_codes(user, origin):
    device, _ = StaticDevice.objects.get_or_create(
        user=user, name=RECOVERY_CODES_NAME, defaults={"confirmed": True})
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    _record(user, origin, "second_factor.recovery_codes_issued", device,
            after={"count": len(codes)})
    return codes


def _record(user, origin, action, device, *, after=None):
    record(action=action, actor=user, ip=origin.ip, source=origin.source, object_type="user",
           object_id=user.pk, after={"device": device.name, **(after or {})})


def _record_failure(user, origin, device, refusal, *, step):
    record(action="second_factor.failed", actor=user, ip=origin.ip, source=origin.source,
           object_type="user", object_id=user.pk,
           after={"device": device.name if device else "", "step": step},
           reason=refusal.message, outcome=Outcome.FAILURE)

"""Sign-ins, sign-outs, failed sign-ins, lock-outs, refusals and untrusted text cleaned
before it was stored go into the audit trail."""

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from audit.models import Outcome, Source
from audit.services import client_ip, record, record_denial, record_for_request
from billing_console.signals import access_denied, text_cleaned


@receiver(user_logged_in)
def _logged_in(sender, request, user, **kwargs):
    record_for_request(request, action="auth.login", object_type="user", object_id=user.pk)


@receiver(user_logged_out)
def _logged_out(sender, request, user, **kwargs):
    if user is not None:
        record(action="auth.logout", actor=user, ip=client_ip(request), object_type="user",
               object_id=user.pk)


@receiver(user_login_failed)
def _login_failed(sender, credentials, request=None, **kwargs):
    # `credentials` has the password already masked by Django; only the username is kept.
    username = str(credentials.get("username", ""))[:128]
    record(
        action="auth.login_failed",
        ip=client_ip(request) if request is not None else None,
        object_type="user",
        object_id=username,
        outcome=Outcome.FAILURE,
    )


@receiver(user_locked_out)
def _locked_out(sender, request, username, ip_address, **kwargs):
    record(
        action="auth.locked_out",
        ip=ip_address,
        object_type="user",
        object_id=str(username or "")[:128],
        reason="Too many failed sign-ins; the account is locked for the cool-off time.",
        outcome=Outcome.DENIED,
    )


@receiver(access_denied)
def _access_denied(sender, request, reason, **kwargs):
    record_denial(request, reason)


@receiver(text_cleaned)
def _text_cleaned(sender, reason, object_type="", object_id="", case_id=None,
                  zendesk_ticket_id=None, **kwargs):
    record(action="integrations.text_cleaned", source=Source.SYSTEM, object_type=object_type,
           object_id=object_id, case_id=case_id, zendesk_ticket_id=zendesk_ticket_id,
           reason=reason)

"""The second factor's pages, under /accounts/second-factor/: enrol an authenticator app,
give a code after signing in, and replace the app or the recovery codes once verified.

They are open to any signed-in user, before the second factor (`BEFORE_SECOND_FACTOR`: the
only pages an admin's session opens until then), but only those who need one
(`access.second_factor_needed`: admins and superusers) use them; anyone else is sent home.
A user who has an authenticator is never shown a new key before giving a code from it:
otherwise whoever knew the password could enrol an app of their own.
"""

import functools
from urllib.parse import urlencode

import django_otp
import segno
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from django_otp.plugins.otp_static.models import StaticDevice

from audit.services import Origin
from billing_console.access import BEFORE_SECOND_FACTOR, requires, second_factor_needed
from billing_console.exceptions import ApplicationError
from second_factor import services
from second_factor.forms import CodeForm


def _for_those_who_need_it(view):
    """Send a user who needs no second factor home, with a word why."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not second_factor_needed(request.user):
            messages.info(request, "Only admins use a second factor; your role needs none.")
            return redirect("home")
        return view(request, *args, **kwargs)

    return wrapper


def _next_url(request):
    """Where to go once verified: the page that asked (`next`), if it is the console's."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(candidate, allowed_hosts={request.get_host()},
                                       require_https=request.is_secure()):
        return candidate
    return reverse("home")


def _with_next(url_name, next_url):
    return f"{reverse(url_name)}?{urlencode({'next': next_url})}"


def _verified_with(request, device):
    """The session now holds the second factor: a new session key for the raised trust."""
    request.session.cycle_key()
    django_otp.login(request, device)


@requires(BEFORE_SECOND_FACTOR)
@_for_those_who_need_it
@require_http_methods(["GET", "HEAD", "POST"])
@never_cache
def verify(request):
    user, next_url = request.user, _next_url(request)
    if not services.has_authenticator(user):
        return redirect(_with_next("second_factor:enrol", next_url))
    if user.is_verified() and request.method != "POST":
        return render(request, "second_factor/verified.html", {
            "device": user.otp_device, "codes_left": services.recovery_codes_left(user)})
    form = CodeForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            device = services.second_factor_verify(user=user, code=form.cleaned_data["code"],
                                                   origin=Origin.of(request))
        except ApplicationError as error:
            form.add_error("code", error.message)
        else:
            _verified_with(request, device)
            if isinstance(device, StaticDevice):
                messages.warning(request, "You used a recovery code. Each works once: "
                                 f"{services.recovery_codes_left(user)} left.")
            return redirect(next_url)
    return render(request, "second_factor/verify.html", {"form": form, "next": next_url},
                  status=400 if form.errors else 200)


@requires(BEFORE_SECOND_FACTOR)
@_for_those_who_need_it
@require_http_methods(["GET", "HEAD", "POST"])
@never_cache
def enrol(request):
    user, next_url = request.user, _next_url(request)
    replacing = services.has_authenticator(user)
    if replacing and not user.is_verified():
        return redirect(_with_next("second_factor:verify", next_url))
    form = CodeForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            device, codes = services.totp_enrolment_confirm(
                user=user, code=form.cleaned_data["code"], origin=Origin.of(request),
                replacing=replacing)
        except ApplicationError as error:
            form.add_error("code", error.message)
        else:
            _verified_with(request, device)
            return render(request, "second_factor/recovery_codes.html",
                          {"codes": codes, "next": next_url, "enrolled": True})
    enrolment = services.totp_enrolment_begin(user=user, replacing=replacing)
    return render(request, "second_factor/enrol.html", {
        "form": form, "next": next_url, "replacing": replacing,
        "secret_groups": [enrolment.secret[at:at + 4]
                          for at in range(0, len(enrolment.secret), 4)],
        "uri": enrolment.uri,
        "qr_code": segno.make(enrolment.uri, error="m").svg_data_uri(scale=5, border=2),
    }, status=400 if form.errors else 200)


@requires(BEFORE_SECOND_FACTOR)
@_for_those_who_need_it
@require_POST
@never_cache
def recovery_codes(request):
    """New recovery codes, replacing those left: only in a verified session."""
    if not request.user.is_verified():
        return redirect(_with_next("second_factor:verify", reverse("second_factor:verify")))
    codes = services.recovery_codes_issue(user=request.user, origin=Origin.of(request))
    return render(request, "second_factor/recovery_codes.html",
                  {"codes": codes, "next": reverse("home"), "enrolled": False})

"""Roles, what each may do, and how pages and API views declare what they need.

A role is a Django group whose name is one of `Role`. What a role may do is listed here, in
code, and nowhere else: the groups in the database hold only membership. Every page and API
view declares one `Capability` (or `PUBLIC` / `SIGNED_IN`), and a test walks every route to
check that the declaration is there and enforced. A person who holds the admin role, or is
a superuser, also gives a second factor before anything but the pages that take it: their
sessions open nothing else until they have, and their API tokens open nothing at all
(`lacks_second_factor`).
"""

import functools
import hashlib
from enum import StrEnum

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.urls import Resolver404, resolve
from rest_framework import exceptions as drf_exceptions
from rest_framework.permissions import BasePermission

from billing_console.signals import access_denied


class Role(StrEnum):
    SPECIALIST = "billing_specialist"
    TIER2 = "tier2_agent"
    FINANCE = "finance"
    ADMIN = "admin"

    @property
    def label(self):
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.SPECIALIST: "Billing specialist",
    Role.TIER2: "Tier 2 agent",
    Role.FINANCE: "Finance",
    Role.ADMIN: "Admin",
}


class Capability(StrEnum):
    VIEW_QUEUE = "view_queue"
    # Tier 2's read-only summary of a case (state, category, resolution), nothing more.
    VIEW_CASE_SUMMARY = "view_case_summary"
    WORK_CASES = "work_cases"
    REQUEST_MONEY_ACTION = "request_money_action"
    APPROVE_MONEY_ACTION = "approve_money_action"
    # Reading money actions (a refund's state and decision): requesters and approvers.
    VIEW_MONEY_ACTIONS = "view_money_actions"
    # The whole audit trail (finance, admins); `VIEW_CASE_AUDIT` is its events about cases.
    VIEW_AUDIT = "view_audit"
    VIEW_CASE_AUDIT = "view_case_audit"
    EXPORT_AUDIT = "export_audit"
    # Running the reconciliation with Stripe and marking its differences explained.
    RECONCILE = "reconcile"
    READ_GUIDANCE = "read_guidance"
    WRITE_GUIDANCE = "write_guidance"
    ASK_QUESTIONS = "ask_questions"
    MANAGE_CONSOLE = "manage_console"


class Open(StrEnum):
    """Declarations for views that need no capability."""

    PUBLIC = "public"  # anyone, signed in or not: login, health checks, signed webhooks
    SIGNED_IN = "signed_in"  # any signed-in user, whatever their role
    # Any signed-in user, an admin before giving their second factor: the pages that take it.
    BEFORE_SECOND_FACTOR = "before_second_factor"
    # Django's own admin: raw rows, for the few who fix data by hand. It is no role's;
    # admins manage the console in its own pages (MANAGE_CONSOLE).
    SUPERUSER = "superuser"


class AnyOf(frozenset):
    """A declaration met by any one of its capabilities: a page each role sees its own part
    of (the case page is the whole case to specialists, its summary to Tier 2); the view
    tells them apart."""


PUBLIC = Open.PUBLIC
SIGNED_IN = Open.SIGNED_IN
BEFORE_SECOND_FACTOR = Open.BEFORE_SECOND_FACTOR
SUPERUSER = Open.SUPERUSER

ROLE_CAPABILITIES = {
    Role.SPECIALIST: {
        Capability.VIEW_QUEUE,
        Capability.WORK_CASES,
        Capability.REQUEST_MONEY_ACTION,
        Capability.VIEW_MONEY_ACTIONS,
        Capability.VIEW_CASE_AUDIT,
        Capability.READ_GUIDANCE,
        Capability.WRITE_GUIDANCE,
    },
    Role.TIER2: {
        Capability.VIEW_CASE_SUMMARY,
        Capability.READ_GUIDANCE,
        Capability.ASK_QUESTIONS,
    },
    Role.FINANCE: {
        Capability.VIEW_QUEUE,
        Capability.APPROVE_MONEY_ACTION,
        Capability.VIEW_MONEY_ACTIONS,
        Capability.VIEW_AUDIT,
        Capability.VIEW_CASE_AUDIT,
        Capability.EXPORT_AUDIT,
        Capability.RECONCILE,
        Capability.READ_GUIDANCE,
    },
    Role.ADMIN: {
        Capability.MANAGE_CONSOLE,
        Capability.APPROVE_MONEY_ACTION,
        Capability.VIEW_MONEY_ACTIONS,
        Capability.VIEW_AUDIT,
        Capability.VIEW_CASE_AUDIT,
        Capability.READ_GUIDANCE,
    },
}

# Where each role starts after signing in, most specific role first.
ROLE_HOME = {
    Role.SPECIALIST: "cases:queue",
    Role.FINANCE: "finance:approvals",
    Role.ADMIN: "administration:index",
    Role.TIER2: "guidance:index",
}


def roles_of(user):
    """The user's roles, read once per request and kept on the user object."""
    if not user.is_authenticated or not user.is_active:
        return frozenset()
    if not hasattr(user, "_console_roles"):
        with connection.cursor() as cursor:
            cursor.execute(_group_names_sql(), [user.pk])
            names = {name for name, in cursor.fetchall()}
        user._console_roles = frozenset(role for role in Role if role.value in names)
    return user._console_roles


@functools.cache
def _group_names_sql():
    """The names of a user's groups, in plain SQL: every request of a signed-in person asks,
    and the ORM's building of the query cost more than running it. The tables' names come
    from the models (read once the apps are loaded)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    through = get_user_model().groups.through
    return (f"SELECT g.name FROM {Group._meta.db_table} g "  # noqa: S608 (models' tables)
            f"INNER JOIN {through._meta.db_table} ug ON ug.group_id = g.id "
            "WHERE ug.user_id = %s")


def capabilities_of(user):
    roles = roles_of(user)
    return _capabilities_of_roles(roles) if roles else frozenset()


@functools.cache
def _capabilities_of_roles(roles):
    return frozenset().union(*(ROLE_CAPABILITIES[role] for role in roles))


def has_capability(user, capability):
    return capability in capabilities_of(user)


def allows(user, declared):
    """Whether a view that declared `declared` lets this user in."""
    if declared == PUBLIC:
        return True
    if declared in (SIGNED_IN, BEFORE_SECOND_FACTOR):
        return user.is_authenticated and user.is_active
    if declared == SUPERUSER:
        return user.is_authenticated and user.is_active and user.is_superuser
    if isinstance(declared, AnyOf):
        return any(has_capability(user, capability) for capability in declared)
    return has_capability(user, declared)


# --- The second factor ---------------------------------------------------------------------
#
# An admin changes who may do what, approves money and reads the whole trail; a superuser
# edits rows by hand. Neither opens anything with a password or a provider's sign-in alone:
# the session must also hold a second factor the person gave (see `second_factor`). A
# token cannot carry one, so an admin's token opens nothing; programs use the token of a
# user without the admin role.

SECOND_FACTOR_NEEDED = ("An admin gives their second factor before anything else in the "
                        "console: enter a code from your authenticator app first.")
SECOND_FACTOR_NEEDED_API = ("This session has not given its second factor: an admin enters "
                            "a code from their authenticator app in the console's pages "
                            "first.")
ADMIN_TOKEN_REFUSED = ("An admin's API token is refused: an admin needs a second factor, "  # noqa: S105
                       "which a token cannot carry. Programs use the token of a user "
                       "without the admin role.")
# An unverified admin's refusals go into the trail at most once a minute per session (or
# token): a walk through the pages, or a page's polling, would otherwise add one a request.
REFUSAL_RECORD_SECONDS = 60


def second_factor_needed(user):
    """Whether this user gives a second factor before using the console: they hold the
    admin role, or are a superuser. Such a user enrols one."""
    return Role.ADMIN in roles_of(user) or (
        user.is_authenticated and user.is_active and user.is_superuser)


def lacks_second_factor(user, declared):
    """Whether this request's user must give a second factor before a view that declared
    `declared` lets them in: they need one, have not given it, and the view is neither
    public nor one of the pages that take it (`BEFORE_SECOND_FACTOR`).

    django-otp's middleware gives the session's user `is_verified()`; a user authenticated
    otherwise (an API token) has none, and so never gets in."""
    if declared in (PUBLIC, BEFORE_SECOND_FACTOR) or not second_factor_needed(user):
        return False
    is_verified = getattr(user, "is_verified", None)
    return not (is_verified is not None and is_verified())


def refuse_for_second_factor(request):
    """The answer to a page that needs a second factor the user has not given: the refusal
    goes into the audit trail (`record_second_factor_refusal`), and the user to the page
    that asks for the code."""
    record_second_factor_refusal(request, SECOND_FACTOR_NEEDED)
    return redirect_to_login(request.get_full_path(), settings.SECOND_FACTOR_URL)


def record_second_factor_refusal(request, reason):
    """Send `access_denied` for a refusal for want of the second factor, unless one went
    for the same session (or API token) less than `REFUSAL_RECORD_SECONDS` ago: the first
    refusal is always in the trail, then at most one a minute. The cache says when the
    last went (in each process, with the default in-memory cache)."""
    if cache.add(_refusal_key(request), True, REFUSAL_RECORD_SECONDS):
        access_denied.send(sender=record_second_factor_refusal, request=request,
                           reason=reason)


def _refusal_key(request):
    token = getattr(request, "auth", None)
    holder = (getattr(token, "key", None) or request.session.session_key
              or f"user:{request.user.pk}")
    return "second-factor-refused:" + hashlib.sha256(holder.encode()).hexdigest()


def home_url_name(user):
    for role in ROLE_HOME:
        if role in roles_of(user):
            return ROLE_HOME[role]
    return None


# --- Declaring what a view needs ---------------------------------------------------------------


NOT_YOUR_ROLE = "Your role does not include this part of the console."


def requires(declared):
    """Decorate a page view (function, or `as_view()` result) with what it needs.

    Anonymous visitors are sent to the login page; an admin who has not given their second
    factor this session goes to give it (`refuse_for_second_factor`); signed-in users
    without the capability get the 403 page.
    """

    def decorate(view):
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            if declared == PUBLIC:
                return view(request, *args, **kwargs)
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if lacks_second_factor(request.user, declared):
                return refuse_for_second_factor(request)
            if not allows(request.user, declared):
                # People read the refusal: the capability's name is the code's, not theirs.
                raise PermissionDenied(NOT_YOUR_ROLE)
            return view(request, *args, **kwargs)

        wrapper.required_capability = declared
        return wrapper

    return decorate


class SecondFactorMissing(drf_exceptions.PermissionDenied):
    """403 for an admin's call without the second factor; its trail event is recorded
    already (`record_second_factor_refusal`), so the API's error handler adds none."""

    recorded = True


class CapabilityPermission(BasePermission):
    """DRF permission reading the view's `required_capability`.

    The default for every API view; a view without a declaration is refused, never open.
    An admin's call is refused (`SecondFactorMissing`) from a session that has not given
    the second factor, and with an API token, which cannot carry one.
    """

    message = "You do not have permission to perform this action."

    def has_permission(self, request, view):
        declared = getattr(view, "required_capability", None)
        if declared is None:
            return False
        if lacks_second_factor(request.user, declared):
            reason = ADMIN_TOKEN_REFUSED if request.auth is not None else \
                SECOND_FACTOR_NEEDED_API
            record_second_factor_refusal(request, reason)
            raise SecondFactorMissing(reason)
        return allows(request.user, declared)


def declared_capability(callback):
    """What a resolved URL callback declared, or None: used by `may_open` and the
    route-walk test."""
    if hasattr(callback, "required_capability"):
        return callback.required_capability
    view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    return getattr(view_class, "required_capability", None)


def may_open(user, path):
    """Whether `user` may open the console's page at `path` (a path without its query), by
    what its view declared: a page links only to what its reader may follow (the
    `viewer_url` template tag). False for a path that names no page."""
    try:
        callback = resolve(path).func
    except Resolver404:
        return False
    declared = declared_capability(callback)
    return declared is not None and allows(user, declared)

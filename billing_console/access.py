"""Roles, what each may do, and how pages and API views declare what they need.

A role is a Django group whose name is one of `Role`. What a role may do is listed here, in
code, and nowhere else: the groups in the database hold only membership. Every page and API
view declares one `Capability` (or `PUBLIC` / `SIGNED_IN`), and a test walks every route to
check that the declaration is there and enforced. The admin pages also need a second factor
(`SECOND_FACTOR_DECLARATIONS`).
"""

import functools
from enum import StrEnum

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db import connection
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
    # Django's own admin: raw rows, for the few who fix data by hand. It is no role's;
    # admins manage the console in its own pages (MANAGE_CONSOLE).
    SUPERUSER = "superuser"


class AnyOf(frozenset):
    """A declaration met by any one of its capabilities: a page each role sees its own part
    of (the case page is the whole case to specialists, its summary to Tier 2); the view
    tells them apart."""


PUBLIC = Open.PUBLIC
SIGNED_IN = Open.SIGNED_IN
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
    if declared == SIGNED_IN:
        return user.is_authenticated and user.is_active
    if declared == SUPERUSER:
        return user.is_authenticated and user.is_active and user.is_superuser
    if isinstance(declared, AnyOf):
        return any(has_capability(user, capability) for capability in declared)
    return has_capability(user, declared)


# Declarations whose pages change who may do what, or rows by hand: the admin role's pages
# and Django's admin. A password or a provider's sign-in alone does not open them; the
# session must also hold a second factor the user gave (see `second_factor`).
SECOND_FACTOR_DECLARATIONS = frozenset({Capability.MANAGE_CONSOLE, SUPERUSER})

SECOND_FACTOR_NEEDED = ("Admin pages need your second factor: enter a code from your "
                        "authenticator app first.")
SECOND_FACTOR_NEEDED_API = ("This call needs a second factor, which an API token does not "
                            "carry: use the console's pages, signed in with it.")


def second_factor_needed(user):
    """Whether this user may open some page that needs a second factor (they hold the
    admin role, or are a superuser): such a user enrols one."""
    return any(allows(user, declared) for declared in SECOND_FACTOR_DECLARATIONS)


def lacks_second_factor(user, declared):
    """Whether `declared` needs a second factor that this request's user has not given.

    django-otp's middleware gives the session's user `is_verified()`; a user authenticated
    otherwise (an API token) has none, and so never opens such a view."""
    if declared not in SECOND_FACTOR_DECLARATIONS:
        return False
    is_verified = getattr(user, "is_verified", None)
    return not (is_verified is not None and is_verified())


def refuse_for_second_factor(request):
    """The answer to a page that needs a second factor the user has not given: the refusal
    goes into the audit trail, and the user to the page that asks for the code."""
    access_denied.send(sender=refuse_for_second_factor, request=request,
                       reason=SECOND_FACTOR_NEEDED)
    return redirect_to_login(request.get_full_path(), settings.SECOND_FACTOR_URL)


def home_url_name(user):
    for role in ROLE_HOME:
        if role in roles_of(user):
            return ROLE_HOME[role]
    return None


# --- Declaring what a view needs ---------------------------------------------------------------


NOT_YOUR_ROLE = "Your role does not include this part of the console."


def requires(declared):
    """Decorate a page view (function, or `as_view()` result) with what it needs.

    Anonymous visitors are sent to the login page; signed-in users without the capability
    get the 403 page; a user who has it, on a page that needs a second factor they have
    not given this session, goes to give it (`refuse_for_second_factor`).
    """

    def decorate(view):
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            if declared == PUBLIC:
                return view(request, *args, **kwargs)
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not allows(request.user, declared):
                # People read the refusal: the capability's name is the code's, not theirs.
                raise PermissionDenied(NOT_YOUR_ROLE)
            if lacks_second_factor(request.user, declared):
                return refuse_for_second_factor(request)
            return view(request, *args, **kwargs)

        wrapper.required_capability = declared
        return wrapper

    return decorate


class CapabilityPermission(BasePermission):
    """DRF permission reading the view's `required_capability`.

    The default for every API view; a view without a declaration is refused, never open.
    """

    message = "You do not have permission to perform this action."

    def has_permission(self, request, view):
        declared = getattr(view, "required_capability", None)
        if declared is None:
            return False
        if not allows(request.user, declared):
            return False
        if lacks_second_factor(request.user, declared):
            self.message = SECOND_FACTOR_NEEDED_API
            return False
        return True


def declared_capability(callback):
    """What a resolved URL callback declared, or None: used by the route-walk test."""
    if hasattr(callback, "required_capability"):
        return callback.required_capability
    view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    return getattr(view_class, "required_capability", None)

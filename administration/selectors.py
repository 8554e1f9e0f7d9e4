"""What the administration pages read: users with their roles and lock state, the money
policy in the currency's own units, the intake rule and SLA targets, and the integrations'
health."""

from dataclasses import dataclass

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_cool_off, get_credentials
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.models import User
from django.http import HttpRequest

from billing_console.access import Role, roles_of
from billing_console.integrations import inbox, set_aside
from billing_console.integrations.models import InboundEvent, SetAsideRecord
from cases.models import IntakeRule, Priority, SlaTarget
from cases.sync import SINGLETON_PK, sync_health
from money_actions.models import CurrencyLimit, MoneyPolicy, ReasonCode, RoleLimit


@dataclass(frozen=True)
class UserRow:
    """A user as the users page lists them: `roles` are `Role`s, `locked` is axes' verdict."""

    user: User
    roles: tuple
    locked: bool
    zendesk_user_id: int | None
    zendesk_group_id: int | None

    @property
    def is_tier2(self):
        return Role.TIER2 in self.roles


def users():
    """Every user, by username, with roles, lock state and Zendesk tie (`UserRow`s)."""
    rows = User.objects.order_by("username").prefetch_related("groups").select_related(
        "zendesk_identity")
    locked = locked_usernames()
    return [_row(user, user.username in locked) for user in rows]


def user_row(user):
    return _row(user, user.username in locked_usernames(only=user.username))


def _row(user, locked):
    identity = getattr(user, "zendesk_identity", None)
    names = {group.name for group in user.groups.all()}
    return UserRow(user=user, roles=tuple(role for role in Role if role.value in names),
                   locked=locked,
                   zendesk_user_id=identity.zendesk_user_id if identity else None,
                   zendesk_group_id=identity.zendesk_group_id if identity else None)


def lockout_rule():
    """(wrong passwords before an account locks, minutes until it unlocks by itself)."""
    return settings.AXES_FAILURE_LIMIT, int(get_cool_off().total_seconds() // 60)


def locked_usernames(*, only=None):
    """The usernames axes now locks out, at one address or more. Axes locks a username at
    the address the wrong passwords came from (`AXES_LOCKOUT_PARAMETERS`), so each pair
    with a failed sign-in on record (one query finds them) is asked about as a sign-in from
    that address; axes decides, with its own limit and cool-off."""
    candidates = AccessAttempt.objects.exclude(username=None)
    if only is not None:
        candidates = candidates.filter(username=only)
    locked = set()
    for username, ip in sorted(set(candidates.values_list("username", "ip_address"))):
        if username not in locked and AxesProxyHandler.is_locked(
                _sign_in_from(ip), get_credentials(username)):
            locked.add(username)
    return locked


def _sign_in_from(ip):
    """A request as axes reads a sign-in from `ip` (its address is all axes takes)."""
    request = HttpRequest()
    request.META["REMOTE_ADDR"] = ip or ""
    return request


def is_last_admin(user):
    """Whether `user` is the only active admin: the console keeps at least one."""
    if Role.ADMIN not in roles_of(user):
        return False
    return not User.objects.filter(is_active=True, groups__name=Role.ADMIN.value).exclude(
        pk=user.pk).exists()


@dataclass(frozen=True)
class MoneyPolicyView:
    rules: MoneyPolicy
    currency_limits: list
    role_limits: list
    reason_codes: list


def money_policy():
    """The policy's rows; amounts stay in minor units, formatted by the page."""
    return MoneyPolicyView(
        rules=MoneyPolicy.current(),
        currency_limits=list(CurrencyLimit.objects.all()),
        role_limits=list(RoleLimit.objects.order_by("currency", "role")),
        reason_codes=list(ReasonCode.objects.all()))


def intake_rule():
    return IntakeRule.objects.get_or_create(pk=SINGLETON_PK)[0]


def sla_targets():
    """{priority value: `SlaTarget` or None}, for every priority, most urgent last."""
    targets = {target.priority: target for target in SlaTarget.objects.all()}
    return {priority: targets.get(priority) for priority in Priority.values}


@dataclass(frozen=True)
class IntegrationHealth:
    sync: object  # cases.sync.SyncHealth
    set_aside: int
    gave_up: int


def integration_health():
    return IntegrationHealth(sync=sync_health(), set_aside=set_aside.count(),
                             gave_up=inbox.gave_up_count())


def gave_up_events():
    """The webhook events that gave up after their retries and wait for an admin, without
    their payloads (what the sender sent, untrusted and possibly large)."""
    return InboundEvent.objects.filter(status=InboundEvent.Status.GAVE_UP).defer("payload")


def set_aside_records():
    """The records the database refused, set aside (`billing_console.integrations.set_aside`)."""
    return SetAsideRecord.objects.all()

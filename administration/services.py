"""Admins' writes: the money policy, users and their roles, unlocking an account, the
intake rule and the SLA targets, and the reply templates.

Each service locks the rows it changes, validates, and records one audit event with what
was before and what is after, in the same transaction. Amounts are minor units of the
currency, as everywhere in the console; pages turn what people type into them.
"""

from axes.utils import reset as axes_reset
from django.contrib.auth.models import Group, User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.text import slugify

from audit.services import Origin, record
from billing_console.access import ROLE_CAPABILITIES, Capability, Role
from billing_console.exceptions import ApplicationError
from billing_console.models import ZendeskIdentity
from billing_console.money import ABSURD_AMOUNT, format_amount, normalise_currency
from billing_console.names import person_name
from billing_console.notes import check_note_length
from billing_console.parsing import WHOLE_NUMBER_MAX, WHOLE_NUMBER_MAX_DIGITS
from cases.models import IntakeRule, Priority, ReplyTemplate, ResolutionCode, SlaTarget
from cases.replies import PLACEHOLDERS, unknown_placeholders
from cases.sync import SINGLETON_PK
from money_actions.models import CurrencyLimit, MoneyPolicy, ReasonCode, RoleLimit

CURRENCY_LIMIT_FIELDS = ("auto_approve_limit", "customer_window_limit", "take_approval_limit",
                         "take_cap")
# The money policy's rules that are not per currency, each with the range it may take.
POLICY_RULE_BOUNDS = {
    "charge_age_days": (1, 3_650),
    "customer_window_days": (1, 366),
    "duplicate_window_hours": (1, 720),
}
# Those rules as the policy page labels them.
POLICY_RULE_LABELS = {
    "charge_age_days": "Refunds of charges older than (days) need approval",
    "customer_window_days": "A customer's total is added up over (days)",
    "duplicate_window_hours": "Charges of one amount this close (hours) suggest a duplicate",
}
# An SLA target longer than a year is a typo.
SLA_MAX_HOURS = 8_760
# The roles that ask for money actions, and so may have a limit of their own.
REQUESTING_ROLES = tuple(role for role in Role
                         if Capability.REQUEST_MONEY_ACTION in ROLE_CAPABILITIES[role])
USER_FIELDS = ("first_name", "last_name", "email", "is_active")


def _audit(action, *, actor, origin, object_type, object_id, before=None, after=None,
           currency=""):
    origin = origin or Origin()
    record(action=action, actor=actor, ip=origin.ip, source=origin.source,
           object_type=object_type, object_id=object_id, before=before, after=after,
           currency=currency)


def _values(row, fields):
    return {field: getattr(row, field) for field in fields} if row is not None else None


# --- The money policy ----------------------------------------------------------------------


@transaction.atomic
def money_policy_set(*, rules, actor, origin=None):
    """Set the rules that are not per currency. `rules`: {name: value} for each of
    `POLICY_RULE_BOUNDS` (whole days or hours) and `fraudulent_needs_approval` (bool).
    Audited as `policy.rules_set`. Returns the `MoneyPolicy`."""
    for name, (low, high) in POLICY_RULE_BOUNDS.items():
        value = rules[name]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ApplicationError(f"“{POLICY_RULE_LABELS[name]}” takes a whole number from "
                                   f"{low} to {high:,}.", name)
    MoneyPolicy.current()  # the one row exists before it is locked
    policy = MoneyPolicy.objects.select_for_update().get(pk=1)
    fields = (*POLICY_RULE_BOUNDS, "fraudulent_needs_approval")
    before = _values(policy, fields)
    for name in fields:
        setattr(policy, name, rules[name])
    policy.save()
    _audit("policy.rules_set", actor=actor, origin=origin, object_type="money_policy",
           object_id=policy.pk, before=before, after=_values(policy, fields))
    return policy


@transaction.atomic
def currency_limit_set(*, currency, limits, actor, origin=None):
    """Set one currency's limits, adding the currency if it has none yet. `limits`: minor
    units (int, 0 or more) for each of `CURRENCY_LIMIT_FIELDS`. Audited as
    `policy.currency_limit_set`, before and after in minor units. Returns the row."""
    code = normalise_currency(currency)
    for name in CURRENCY_LIMIT_FIELDS:
        _check_limit(limits[name], name)
    approval, cap = limits["take_approval_limit"], limits["take_cap"]
    if approval > cap:
        raise ApplicationError(
            f"The approval limit for money taken ({format_amount(approval, code)}) is above "
            f"the cap ({format_amount(cap, code)}), so it would never apply: lower it or "
            "raise the cap.", "take_approval_limit")
    row = CurrencyLimit.objects.select_for_update().filter(currency=code.lower()).first()
    before = _values(row, CURRENCY_LIMIT_FIELDS)
    row = row or CurrencyLimit(currency=code.lower())
    for name in CURRENCY_LIMIT_FIELDS:
        setattr(row, name, limits[name])
    row.save()
    _audit("policy.currency_limit_set", actor=actor, origin=origin,
           object_type="currency_limit", object_id=code, before=before,
           after=_values(row, CURRENCY_LIMIT_FIELDS), currency=code)
    return row


def _check_limit(amount, name):
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
        raise ApplicationError("A limit is a whole number of minor units, 0 or more.", name)
    if amount >= ABSURD_AMOUNT:
        raise ApplicationError("That limit is not plausible for one action.", name)


@transaction.atomic
def role_limit_set(*, role, currency, limit, actor, origin=None):
    """Set a requesting role's own limit in `currency` (minor units), or remove it when
    `limit` is None. Audited as `policy.role_limit_set`. Returns the row, or None."""
    if role not in REQUESTING_ROLES:
        raise ApplicationError("Only roles that ask for money actions have a limit of their "
                               "own.", "role")
    code = normalise_currency(currency)
    if limit is not None:
        _check_limit(limit, "limit")
    row = RoleLimit.objects.select_for_update().filter(role=role, currency=code.lower()).first()
    before = _values(row, ("limit",))
    if limit is None:
        if row is None:
            raise ApplicationError(f"{Role(role).label} has no limit in {code} to remove.",
                                   "limit")
        row.delete()
        row = None
    else:
        row = row or RoleLimit(role=role, currency=code.lower())
        row.limit = limit
        row.save()
    _audit("policy.role_limit_set", actor=actor, origin=origin, object_type="role_limit",
           object_id=f"{role} {code}", before=before, after=_values(row, ("limit",)),
           currency=code)
    return row


@transaction.atomic
def reason_code_add(*, label, actor, origin=None):
    """Add an internal reason, offered last. People read its `label`; the code stored on
    money actions is made from it ("Goodwill gesture" → `goodwill_gesture`), so no one
    types or reads a code. Audited as `policy.reason_code_added`. Returns the
    `ReasonCode`."""
    label = _label(label)
    code = slugify(label).replace("-", "_")[:64]
    if not code:
        raise ApplicationError("Name the reason with at least one letter or digit.", "label")
    if ReasonCode.objects.filter(code=code).exists():
        raise ApplicationError(f"There is already a reason named like “{label}”.", "label")
    position = max(ReasonCode.objects.values_list("position", flat=True), default=-1) + 1
    reason = ReasonCode.objects.create(code=code, label=label, position=position)
    _audit("policy.reason_code_added", actor=actor, origin=origin, object_type="reason_code",
           object_id=code, after={"label": label, "active": True, "position": position})
    return reason


@transaction.atomic
def reason_code_change(*, reason_code_id, label, active, position, actor, origin=None):
    """Rename, retire (`active` False: no longer offered, still shown on past actions) or
    move a reason code. Audited as `policy.reason_code_changed`. Returns it."""
    reason = ReasonCode.objects.select_for_update().get(pk=reason_code_id)
    if not 0 <= position <= 1_000:
        raise ApplicationError("The position is a whole number from 0 to 1,000.", "position")
    fields = ("label", "active", "position")
    before = _values(reason, fields)
    reason.label, reason.active, reason.position = _label(label), bool(active), position
    reason.save()
    _audit("policy.reason_code_changed", actor=actor, origin=origin,
           object_type="reason_code", object_id=reason.code, before=before,
           after=_values(reason, fields))
    return reason


def _label(label):
    label = (label or "").strip()
    if not label or len(label) > 120:
        raise ApplicationError("A label is 1 to 120 characters.", "label")
    return label


# --- Users ---------------------------------------------------------------------------------


@transaction.atomic
def user_create(*, username, first_name, last_name, email, roles, password, actor,
                origin=None):
    """A new active user with `roles` (`Role`s) and a first password, checked by the
    password rules. Audited as `user.created` (never the password). Returns the `User`."""
    user = User(username=(username or "").strip(), first_name=first_name,
                last_name=last_name, email=email, is_active=True)
    _validate_user(user, exclude=["password"])
    _check_password(password, user)
    user.set_password(password)
    user.save()
    _set_roles(user, roles)
    _audit("user.created", actor=actor, origin=origin, object_type="user",
           object_id=user.username, after={**_values(user, USER_FIELDS),
                                           "roles": _role_names(roles)})
    return user


@transaction.atomic
def user_change(*, user_id, first_name, last_name, email, is_active, roles,
                zendesk_user_id, zendesk_group_id, actor, origin=None):
    """Change a user's name, email, whether they may sign in, their roles (`Role`s) and
    their Zendesk agent and group ids (Tier 2 sees the cases either escalated; None for
    none). An admin cannot take their own admin role away or turn themselves off. Audited
    as `user.changed`, before and after. Returns the `User`."""
    user = User.objects.select_for_update().get(pk=user_id)
    roles = frozenset(roles)
    if user.pk == actor.pk and (Role.ADMIN not in roles or not is_active):
        raise ApplicationError("You cannot take away your own admin role or turn off your "
                               "own account; ask another admin.", "own_account")
    for name, value in (("zendesk_user_id", zendesk_user_id),
                        ("zendesk_group_id", zendesk_group_id)):
        if value is not None:
            _check_zendesk_id(value, name, "A Zendesk id is a positive whole number.")
    identity = ZendeskIdentity.objects.select_for_update().filter(user=user).first()
    before = _user_state(user, identity)
    user.first_name, user.last_name, user.email, user.is_active = (
        first_name, last_name, email, is_active)
    _validate_user(user, exclude=["password", "username"])
    user.save(update_fields=list(USER_FIELDS))
    _set_roles(user, roles)
    identity = _set_zendesk_identity(user, identity, zendesk_user_id, zendesk_group_id)
    after = _user_state(user, identity)
    _audit("user.changed", actor=actor, origin=origin, object_type="user",
           object_id=user.username, before=before, after=after)
    return user


def _user_state(user, identity):
    return {**_values(user, USER_FIELDS),
            "roles": sorted(user.groups.filter(name__in=[r.value for r in Role])
                            .values_list("name", flat=True)),
            "zendesk_user_id": identity.zendesk_user_id if identity else None,
            "zendesk_group_id": identity.zendesk_group_id if identity else None}


def _set_zendesk_identity(user, identity, zendesk_user_id, zendesk_group_id):
    if zendesk_user_id is None and zendesk_group_id is None:
        if identity is not None:
            identity.delete()
        return None
    identity = identity or ZendeskIdentity(user=user)
    identity.zendesk_user_id, identity.zendesk_group_id = zendesk_user_id, zendesk_group_id
    identity.save()
    return identity


@transaction.atomic
def user_password_set(*, user_id, password, actor, origin=None):
    """Give a user a new password, checked by the password rules; their other sessions
    end with it (Django ties sessions to the password). Audited as `user.password_set`."""
    user = User.objects.select_for_update().get(pk=user_id)
    _check_password(password, user)
    user.set_password(password)
    user.save(update_fields=["password"])
    _audit("user.password_set", actor=actor, origin=origin, object_type="user",
           object_id=user.username)
    return user


@transaction.atomic
def user_unlock(*, user_id, actor, origin=None):
    """Clear a user's failed sign-ins through axes, so a locked account signs in again
    before its cool-off ends. Audited as `user.unlocked`. Returns how many of axes'
    records were cleared."""
    user = User.objects.select_for_update().get(pk=user_id)
    cleared = axes_reset(username=user.username)
    if not cleared:
        raise ApplicationError(f"{person_name(user)} has no failed sign-ins to clear: they can "
                               "already sign in.", "not_locked")
    _audit("user.unlocked", actor=actor, origin=origin, object_type="user",
           object_id=user.username, after={"failed_sign_in_records_cleared": cleared})
    return cleared


def _set_roles(user, roles):
    """The user's groups become exactly `roles`; groups that are no role are kept."""
    groups = [Group.objects.get_or_create(name=Role(role).value)[0] for role in roles]
    others = user.groups.exclude(name__in=[role.value for role in Role])
    user.groups.set([*others, *groups])


def _role_names(roles):
    return sorted(Role(role).value for role in roles)


def _validate_user(user, *, exclude):
    try:
        user.full_clean(exclude=exclude)
    except ValidationError as error:
        field, messages = next(iter(error.message_dict.items()))
        raise ApplicationError(" ".join(messages), field) from None


def _check_password(password, user):
    try:
        validate_password(password or "", user)
    except ValidationError as error:
        raise ApplicationError(" ".join(error.messages), "password") from None


def _check_zendesk_id(value, field, not_positive):
    """Refuse `value` for `field` unless it can be a Zendesk id: a whole number above zero
    (else the words `not_positive`), of at most 18 digits, which the database keeps."""
    if value > WHOLE_NUMBER_MAX:
        raise ApplicationError(f"No Zendesk id is that long: Zendesk's ids have at most "
                               f"{WHOLE_NUMBER_MAX_DIGITS} digits.", field)
    if value <= 0:
        raise ApplicationError(not_positive, field)


# --- Intake and SLA ------------------------------------------------------------------------


@transaction.atomic
def intake_rule_set(*, match, tag, group_id, actor, origin=None):
    """Which Zendesk tickets become cases from the next sync on: those with `tag`, those in
    Zendesk group `group_id`, or all (`match`, an `IntakeRule.Match`). Audited as
    `intake.rule_set`. Returns the `IntakeRule`."""
    if match not in IntakeRule.Match.values:
        raise ApplicationError("Choose which tickets become cases.", "match")
    tag = (tag or "").strip()
    if match == IntakeRule.Match.TAG and (not tag or len(tag) > 80 or " " in tag):
        raise ApplicationError("Give the Zendesk tag (up to 80 characters, no spaces).", "tag")
    if match == IntakeRule.Match.GROUP:
        _check_zendesk_id(group_id or 0, "group_id",
                          "Give the Zendesk group's id, a positive whole number.")
    IntakeRule.objects.get_or_create(pk=SINGLETON_PK)
    rule = IntakeRule.objects.select_for_update().get(pk=SINGLETON_PK)
    fields = ("match", "tag", "group_id")
    before = _values(rule, fields)
    rule.match = match
    rule.tag = tag if match == IntakeRule.Match.TAG else rule.tag
    rule.group_id = group_id if match == IntakeRule.Match.GROUP else rule.group_id
    rule.save()
    _audit("intake.rule_set", actor=actor, origin=origin, object_type="intake_rule",
           object_id=rule.pk, before=before, after=_values(rule, fields))
    return rule


@transaction.atomic
def sla_targets_set(*, targets, actor, origin=None):
    """Set the hours to first response and to resolution for each priority, for cases
    opened from now on. `targets`: {priority: (first response hours, resolution hours)},
    every `Priority`. Audited as `sla.targets_set`. Returns the targets."""
    for priority in Priority:
        first, resolution = targets[priority.value]
        if not (1 <= first <= SLA_MAX_HOURS and 1 <= resolution <= SLA_MAX_HOURS):
            raise ApplicationError(f"{priority.label}: targets are whole hours from 1 to "
                                   f"{SLA_MAX_HOURS:,}.", priority.value)
        if first > resolution:
            raise ApplicationError(f"{priority.label}: the first response cannot be due "
                                   "after the resolution.", priority.value)
    rows = {row.priority: row for row in SlaTarget.objects.select_for_update()}
    before = {p: [row.first_response_hours, row.resolution_hours] for p, row in rows.items()}
    saved = []
    for priority in Priority.values:
        row = rows.get(priority) or SlaTarget(priority=priority)
        row.first_response_hours, row.resolution_hours = targets[priority]
        row.save()
        saved.append(row)
    _audit("sla.targets_set", actor=actor, origin=origin, object_type="sla_targets",
           object_id="all", before=before,
           after={row.priority: [row.first_response_hours, row.resolution_hours]
                  for row in saved})
    return saved

# --- Reply templates -----------------------------------------------------------------------

REPLY_TEMPLATE_FIELDS = ("name", "body", "resolution_code", "active", "position")


@transaction.atomic
def reply_template_add(*, name, body, resolution_code, actor, origin=None):
    """A reply template specialists start from, offered last; `resolution_code` (a
    `ResolutionCode` value, or "") is the resolution it is chosen for. Audited as
    `replies.template_added`. Returns the `ReplyTemplate`."""
    values = _reply_template_values(name, body, resolution_code)
    _check_reply_template_name(values["name"])
    position = max(ReplyTemplate.objects.values_list("position", flat=True), default=-1) + 1
    try:
        with transaction.atomic():
            template = ReplyTemplate.objects.create(**values, position=position)
    except IntegrityError:
        # Another admin added one of the same name meanwhile.
        _check_reply_template_name(values["name"])
        raise
    _audit("replies.template_added", actor=actor, origin=origin,
           object_type="reply_template", object_id=template.name,
           after=_values(template, REPLY_TEMPLATE_FIELDS))
    return template


@transaction.atomic
def reply_template_change(*, template_id, name, body, resolution_code, active, position,
                          actor, origin=None):
    """Rename, reword, retire (`active` False: no longer offered) or move a reply template,
    or choose it for another resolution. Audited as `replies.template_changed`. Returns
    it."""
    template = ReplyTemplate.objects.select_for_update().get(pk=template_id)
    if not 0 <= position <= 1_000:
        raise ApplicationError("The position is a whole number from 0 to 1,000.", "position")
    values = _reply_template_values(name, body, resolution_code)
    if values["name"] != template.name:
        _check_reply_template_name(values["name"])
    before = _values(template, REPLY_TEMPLATE_FIELDS)
    for field, value in {**values, "active": bool(active), "position": position}.items():
        setattr(template, field, value)
    template.save()
    _audit("replies.template_changed", actor=actor, origin=origin,
           object_type="reply_template", object_id=template.name, before=before,
           after=_values(template, REPLY_TEMPLATE_FIELDS))
    return template


def _reply_template_values(name, body, resolution_code):
    """{name, body, resolution_code} as kept; ApplicationError naming the field for a
    name of more than 120 characters or none, an empty body, a placeholder the console
    does not fill in, or an unknown resolution."""
    name, body = (name or "").strip(), (body or "").strip()
    if not name or len(name) > 120:
        raise ApplicationError("A template's name is 1 to 120 characters.", "name")
    if not body:
        raise ApplicationError("Write the reply.", "body")
    check_note_length(body, what="A reply")
    unknown = unknown_placeholders(body)
    if unknown:
        named = [f"lone “{found}”" if len(found) == 1 else found for found in unknown]
        raise ApplicationError(
            f"The console fills in no {', no '.join(named)}, which the customer would read "
            f"as written. Placeholders are exactly {', '.join(PLACEHOLDERS)}: write one as "
            "listed, or take the braces out.", "body")
    if resolution_code and resolution_code not in ResolutionCode.values:
        raise ApplicationError("Choose a resolution from the list.", "resolution_code")
    return {"name": name, "body": body, "resolution_code": resolution_code}


def _check_reply_template_name(name):
    if ReplyTemplate.objects.filter(name=name).exists():
        raise ApplicationError(f"There is already a template named “{name}”.", "name")

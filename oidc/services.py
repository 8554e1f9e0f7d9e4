"""Signing in through the identity provider, and the rule for passwords while it is on.

Every sign-in sets the person's console roles from the groups claim of their ID token,
adding and removing (`OIDC_ROLE_GROUPS` says which group gives which role): the provider
is the source of truth for roles, and an admin's change of an SSO user's roles lasts until
their next sign-in or renewal. A person whose groups give no role is refused, and keeps no
role. Sign-ins are audited by Django's `user_logged_in` (`auth.login`); the refusals and
role changes here are audited in the same transaction as what they record.
"""

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from audit.models import Outcome
from audit.services import record
from billing_console.access import Role, roles_of
from billing_console.text import report, storable
from oidc.config import enabled, roles_for
from oidc.models import ProviderIdentity

# The session key that marks a session signed in through the provider; it holds when the
# provider must vouch for the person again ({"renew_at": seconds since the epoch, UTC}).
SESSION_KEY = "_single_sign_on"
# The backend a single sign-on session loads its user with (settings.AUTHENTICATION_BACKENDS).
SSO_BACKEND = "oidc.backends.ProviderSessionBackend"

SSO_REFUSED = "auth.sso_refused"
ROLES_FROM_PROVIDER = "auth.roles_from_provider"
PASSWORD_REFUSED = "auth.password_refused"  # noqa: S105 (an audit action, not a secret)
BREAK_GLASS_SIGN_IN = "auth.break_glass_sign_in"

NO_MAPPED_GROUP = "No group at the identity provider gives this account a role in the console."
TURNED_OFF = "This console account is turned off; an admin can turn it back on."


@dataclass(frozen=True)
class SignIn:
    """What a provider's sign-in comes to: the user to sign in, or the refusal in words
    (`user` is then the console user it names, if any)."""

    user: object
    refusal: str = ""


@transaction.atomic
def user_sign_in_from_claims(*, claims, config, ip):
    """The console user the validated ID token `claims` (a dict) names, by its `iss` and
    `sub`, made at their first sign-in, with their name, email and roles set from the
    claims. Returns `SignIn`; a refusal is audited (`auth.sso_refused`), and a refused
    person keeps no role. Raises nothing for bad claims: they are refusals."""
    claims = _storable_claims(claims)
    subject = str(claims.get("sub") or "")
    username = str(claims.get(config.username_claim) or claims.get("email") or subject)
    roles, matched = roles_for(_groups(claims.get(config.groups_claim)), config)
    identity = (ProviderIdentity.objects.select_for_update()
                .filter(issuer=config.issuer, subject=subject).first())
    if identity is None:
        if not roles:
            return _refuse(None, username, NO_MAPPED_GROUP, ip)
        user, refusal = _new_user(username, claims, config)
        if refusal:
            return _refuse(user, username, refusal, ip)
    else:
        user = get_user_model().objects.select_for_update().get(pk=identity.user_id)
    _update_profile(user, claims)
    _set_roles(user, roles, matched, ip)
    if not user.is_active:
        return _refuse(user, username, TURNED_OFF, ip)
    if not roles:
        return _refuse(user, username, NO_MAPPED_GROUP, ip)
    return SignIn(user)


def sso_refusal_record(*, reason, ip, actor=None, username=""):
    """Audit a single sign-on that could not go on (a bad answer from the provider, a
    renewal it refused)."""
    record(action=SSO_REFUSED, actor=actor, ip=ip, object_type="user",
           object_id=actor.pk if actor is not None else username[:128], reason=reason,
           outcome=Outcome.DENIED)


def may_sign_in_with_password(username):
    """Whether `username` may sign in with a password: anyone while single sign-on is off;
    while it is on, only a break-glass admin (listed in `OIDC_BREAK_GLASS_ADMINS` and
    holding the admin role), for when the provider is down."""
    if not enabled():
        return True
    if username not in settings.OIDC_BREAK_GLASS_ADMINS:
        return False
    user = get_user_model().objects.filter(username=username).first()
    return user is not None and Role.ADMIN in roles_of(user)


def password_refusal_record(*, username, ip):
    record(action=PASSWORD_REFUSED, ip=ip, object_type="user", object_id=str(username)[:128],
           reason="Single sign-on is on: only break-glass admins sign in with a password.",
           outcome=Outcome.DENIED)


def break_glass_sign_in_record(*, user, ip):
    """A password sign-in while single sign-on is on: someone used the break glass."""
    record(action=BREAK_GLASS_SIGN_IN, actor=user, ip=ip, object_type="user",
           object_id=user.pk, reason="Signed in with a password while single sign-on is on.")


# --- the parts of a sign-in ---------------------------------------------------------------


def _storable_claims(claims):
    cleaned, places = storable(dict(claims), where="id_token")
    report(places, what="An ID token's claims", object_type="user",
           object_id=str(cleaned.get("sub", ""))[:128])
    return cleaned


def _groups(value):
    """The groups claim as a set of names: a list of them, or one name alone."""
    if isinstance(value, str):
        return {value}
    if isinstance(value, list):
        return {item for item in value if isinstance(item, str)}
    return set()


def _new_user(username, claims, config):
    """(user, "") for a new user tied to the claims' identity, or (None, refusal) when the
    username cannot be theirs."""
    users = get_user_model()
    try:
        users.username_validator(username)
        if not username or len(username) > users._meta.get_field("username").max_length:
            raise ValidationError("length")
    except ValidationError:
        return None, f"The identity provider's username “{username[:150]}” cannot name a " \
                     "console account."
    if users.objects.filter(username=username).exists():
        return None, (f"A console account named “{username}” already exists and is not "
                          "tied to this identity at the provider; an admin must "
                          "rename or remove it first.")
    try:
        with transaction.atomic():
            user = users.objects.create_user(username=username)
            user.set_unusable_password()
            user.save(update_fields=["password"])
            ProviderIdentity.objects.create(user=user, issuer=config.issuer,
                                            subject=claims["sub"])
    except IntegrityError:
        # The same person's first sign-in in another tab got there first.
        identity = ProviderIdentity.objects.select_for_update().get(
            issuer=config.issuer, subject=claims["sub"])
        return identity.user, ""
    return user, ""


def _update_profile(user, claims):
    """Name and email as the provider has them now."""
    first, _, last = str(claims.get("name") or "").partition(" ")
    wanted = {
        "email": str(claims.get("email") or user.email)[:254],
        "first_name": str(claims.get("given_name") or first or user.first_name)[:150],
        "last_name": str(claims.get("family_name") or last or user.last_name)[:150],
    }
    changed = [name for name, value in wanted.items() if getattr(user, name) != value]
    for name in changed:
        setattr(user, name, wanted[name])
    if changed:
        user.save(update_fields=changed)


def _set_roles(user, roles, matched_groups, ip):
    """Give `user` exactly `roles` among the console's role groups (their other groups
    stay), auditing a change with before and after."""
    before = frozenset(Role(name) for name in
                       user.groups.filter(name__in=list(Role)).values_list("name", flat=True))
    if before == roles:
        return
    user.groups.remove(*Group.objects.filter(name__in=[role.value for role in before - roles]))
    user.groups.add(*(Group.objects.get_or_create(name=role.value)[0] for role in roles - before))
    record(action=ROLES_FROM_PROVIDER, actor=user, ip=ip, object_type="user",
           object_id=user.pk, before={"roles": sorted(before)},
           after={"roles": sorted(roles), "groups": matched_groups},
           reason="Set from the groups claim of the identity provider's ID token.")


def _refuse(user, username, reason, ip):
    sso_refusal_record(reason=reason, ip=ip, actor=user, username=username)
    return SignIn(user, refusal=reason)

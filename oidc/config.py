"""Single sign-on's settings, read from the environment (billing_console/settings.py) and
checked here: which provider, which client, and which of its groups give which role.

Single sign-on is on when `OIDC_ISSUER` is set. The mapping `OIDC_ROLE_GROUPS` reads
"provider group=console role" pairs, comma-separated, a role being one of `access.Role`'s
values ("billing-specialists=billing_specialist,finance-team=finance"); a group may give
several roles and several groups the same one.
"""

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from billing_console.access import Role

DISCOVERY_PATH = "/.well-known/openid-configuration"


@dataclass(frozen=True)
class ProviderConfig:
    issuer: str
    client_id: str
    client_secret: str
    scopes: str
    groups_claim: str
    username_claim: str
    # ((provider group, Role), ...), in the order written.
    role_groups: tuple
    # (authorization, token, JWKS) URLs given explicitly, or None: discovered.
    endpoints: tuple | None
    renew_seconds: int
    timeout_seconds: int
    provider_name: str

    @property
    def discovery_url(self):
        return self.issuer + DISCOVERY_PATH


def enabled():
    """Whether staff sign in through the identity provider (`OIDC_ISSUER` is set)."""
    return bool(settings.OIDC_ISSUER)


def provider_config():
    """The settings as one value; ImproperlyConfigured names what is missing or wrong."""
    problems = config_problems()
    if problems:
        raise ImproperlyConfigured("Single sign-on: " + " ".join(problems))
    endpoints = (settings.OIDC_AUTHORIZATION_ENDPOINT, settings.OIDC_TOKEN_ENDPOINT,
                 settings.OIDC_JWKS_URI)
    return ProviderConfig(
        issuer=settings.OIDC_ISSUER.rstrip("/"),
        client_id=settings.OIDC_CLIENT_ID,
        client_secret=settings.OIDC_CLIENT_SECRET,
        scopes=settings.OIDC_SCOPES,
        groups_claim=settings.OIDC_GROUPS_CLAIM,
        username_claim=settings.OIDC_USERNAME_CLAIM,
        role_groups=parse_role_groups(settings.OIDC_ROLE_GROUPS),
        endpoints=endpoints if all(endpoints) else None,
        renew_seconds=settings.OIDC_RENEW_ID_TOKEN_EXPIRY_SECONDS,
        timeout_seconds=settings.OIDC_TIMEOUT_SECONDS,
        provider_name=settings.OIDC_PROVIDER_NAME,
    )


def config_problems():
    """What stops single sign-on from working, in words; [] when it is off or complete."""
    if not enabled():
        return []
    problems = [f"{name} is not set." for name in ("OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET")
                if not getattr(settings, name)]
    if "openid" not in settings.OIDC_SCOPES.split():
        problems.append("OIDC_SCOPES must include openid.")
    explicit = [settings.OIDC_AUTHORIZATION_ENDPOINT, settings.OIDC_TOKEN_ENDPOINT,
                settings.OIDC_JWKS_URI]
    if any(explicit) and not all(explicit):
        problems.append("Give OIDC_AUTHORIZATION_ENDPOINT, OIDC_TOKEN_ENDPOINT and "
                        "OIDC_JWKS_URI together, or none of them (discovered).")
    try:
        if not parse_role_groups(settings.OIDC_ROLE_GROUPS):
            problems.append("OIDC_ROLE_GROUPS maps no group to a role: nobody could sign in.")
    except ValueError as error:
        problems.append(str(error))
    return problems


def parse_role_groups(text):
    """"group=role,group=role" → ((group, Role), ...); ValueError names a bad pair."""
    pairs = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        group, equals, role = (part.strip() for part in item.rpartition("="))
        if not equals or not group:
            raise ValueError(f"OIDC_ROLE_GROUPS: “{item}” is not “provider group=role”.")
        if role not in Role._value2member_map_:
            raise ValueError(f"OIDC_ROLE_GROUPS: “{role}” is not a console role "
                             f"({', '.join(Role)}).")
        pairs.append((group, Role(role)))
    return tuple(pairs)


def roles_for(groups, config):
    """(roles, matched groups) the provider's `groups` give: roles a frozenset of Role,
    matched groups sorted."""
    groups = set(groups)
    matched = [(group, role) for group, role in config.role_groups if group in groups]
    return frozenset(role for _, role in matched), sorted({group for group, _ in matched})

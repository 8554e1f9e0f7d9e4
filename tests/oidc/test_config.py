"""Single sign-on's settings: the mapping of groups to roles, and what `check` says."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from billing_console.access import Role
from oidc.config import parse_role_groups, provider_config, roles_for


def _complete(settings):
    settings.OIDC_ISSUER = "https://id.example.com"
    settings.OIDC_CLIENT_ID, settings.OIDC_CLIENT_SECRET = "console", "secret"


def test_the_mapping_reads_groups_and_roles():
    pairs = parse_role_groups(" billing-specialists = billing_specialist, Finance Team=finance,"
                              "ops=finance,ops=admin, ")
    assert pairs == (("billing-specialists", Role.SPECIALIST), ("Finance Team", Role.FINANCE),
                     ("ops", Role.FINANCE), ("ops", Role.ADMIN))


@pytest.mark.parametrize(("text", "words"), [
    ("billing-specialists", "is not “provider group=role”"),
    ("=finance", "is not “provider group=role”"),
    ("billing-specialists=superuser", "“superuser” is not a console role"),
])
def test_a_bad_mapping_is_named(text, words):
    with pytest.raises(ValueError, match=words):
        parse_role_groups(text)


def test_roles_come_from_the_mapped_groups_only(settings):
    _complete(settings)
    settings.OIDC_ROLE_GROUPS = "ops=finance,ops=admin,billing=billing_specialist"
    config = provider_config()
    assert roles_for({"ops", "marketing"}, config) == ({Role.FINANCE, Role.ADMIN}, ["ops"])
    assert roles_for(set(), config) == (frozenset(), [])


def test_check_says_what_is_missing(settings):
    settings.OIDC_ISSUER = "https://id.example.com"
    settings.OIDC_ROLE_GROUPS = "billing=nobody"
    settings.OIDC_TOKEN_ENDPOINT = "https://id.example.com/token"
    with pytest.raises(SystemCheckError) as raised:
        call_command("check")
    said = str(raised.value)
    for words in ("OIDC_CLIENT_ID is not set", "OIDC_CLIENT_SECRET is not set",
                  "“nobody” is not a console role", "or none of them (discovered)",
                  "OIDC_BREAK_GLASS_ADMINS names no one"):
        assert words in said
    with pytest.raises(ImproperlyConfigured, match="OIDC_CLIENT_ID is not set"):
        provider_config()


def test_check_is_quiet_when_single_sign_on_is_off_or_complete(settings, capsys):
    call_command("check")
    _complete(settings)
    settings.OIDC_ROLE_GROUPS = "billing=billing_specialist"
    settings.OIDC_BREAK_GLASS_ADMINS = ["glass"]
    call_command("check")
    assert "oidc." not in capsys.readouterr().out

"""`OIDC_DEMO=1 make run`: its identity provider's people and the console's mapping agree."""

import subprocess

from django.conf import settings

from billing_console.access import Role
from billing_console.management.commands.demo import _callbacks, _oidc_env
from oidc.config import parse_role_groups
from oidc.sandbox import DEMO_USERS


def test_every_demo_person_but_one_gets_a_role_and_every_role_has_one():
    mapping = parse_role_groups(_oidc_env("http://127.0.0.1:12113")["OIDC_ROLE_GROUPS"])
    gives = {username: {role for group, role in mapping if group in groups}
             for username, _, groups in DEMO_USERS}
    assert [name for name, roles in gives.items() if not roles] == ["eve"]
    assert set().union(*gives.values()) == set(Role)


def test_people_come_back_to_the_console_by_either_name():
    assert _callbacks("127.0.0.1", 8000) == ["http://127.0.0.1:8000/sso/callback/",
                                             "http://localhost:8000/sso/callback/"]


def test_make_run_passes_the_providers_port_as_it_does_the_sandboxes():
    def demo_command(*variables):
        return subprocess.run(["make", "--dry-run", "--always-make", "run", *variables],
                              cwd=settings.BASE_DIR, capture_output=True, text=True,
                              check=True).stdout

    assert "--oidc-port 12113" in demo_command()
    assert "--oidc-port 14113" in demo_command("OIDC_PORT=14113")

"""`manage.py oidc_sandbox`: the identity provider of `OIDC_DEMO=1 make run`, serving the
demo's people (`oidc.sandbox.DEMO_USERS`, each with a fresh password) until stopped.

The client's id and secret come from `OIDC_CLIENT_ID` and `OIDC_CLIENT_SECRET` in the
environment, never the command line. `--users-file` receives the users and their passwords
and the roles their groups give (`OIDC_ROLE_GROUPS`), readable by this user only, for the
demo's banner.
"""

import json
import os
import signal
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from oidc.config import parse_role_groups
from oidc.sandbox import OidcSandbox, SandboxUnavailable, demo_users


class Command(BaseCommand):
    help = "Run the demo's OpenID Connect provider on loopback."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=12113)
        parser.add_argument("--redirect-uri", action="append", required=True,
                            help="The console's callback, e.g. http://127.0.0.1:8000/sso/callback/")
        parser.add_argument("--users-file", type=Path)

    def handle(self, *args, port, redirect_uri, users_file, **options):
        if not (settings.OIDC_CLIENT_ID and settings.OIDC_CLIENT_SECRET):
            raise CommandError("Set OIDC_CLIENT_ID and OIDC_CLIENT_SECRET in the environment.")
        users = demo_users()
        try:
            sandbox = OidcSandbox(var_dir=settings.VAR_DIR, users=users, port=port,
                                  redirect_uris=redirect_uri, client_id=settings.OIDC_CLIENT_ID,
                                  client_secret=settings.OIDC_CLIENT_SECRET)
        except SandboxUnavailable as error:
            raise CommandError(f"The OpenID Connect sandbox cannot start: {error}") from error
        if users_file:
            _write_users(users_file, users)
        signal.signal(signal.SIGTERM, _interrupt)
        self.stdout.write(f"OpenID Connect sandbox at {sandbox.issuer}")
        try:
            while sandbox.process.poll() is None:
                time.sleep(0.5)
            raise CommandError("The OpenID Connect sandbox stopped; see "
                               f"{sandbox.log_path}.")
        except KeyboardInterrupt:
            pass
        finally:
            # Ctrl-C reaches every process of the group, and the demo sends SIGTERM too:
            # one is enough to stop.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            sandbox.stop()


def _write_users(path, users):
    role_groups = parse_role_groups(settings.OIDC_ROLE_GROUPS)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as out:
        json.dump([{"username": user.username, "password": user.password,
                    "groups": user.groups,
                    "roles": sorted({role.label for group, role in role_groups
                                     if group in user.groups})}
                   for user in users], out)


def _interrupt(signum, frame):
    raise KeyboardInterrupt

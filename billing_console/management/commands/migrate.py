"""Django's `migrate`, run as the role that owns the tables when MIGRATION_DATABASE_URL is
set, after which the console's own role (DATABASE_URL's) gets exactly its rights on them
(`billing_console.db.roles`). Unset, it is Django's `migrate` as it is."""

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import CommandError
from django.core.management.commands import migrate
from django.db import DEFAULT_DB_ALIAS, connections

from billing_console.db import roles


class Command(migrate.Command):
    help = (f"{migrate.Command.help} With MIGRATION_DATABASE_URL set, it connects as that "
            "role (the tables' owner), then grants DATABASE_URL's role the console's rights.")

    def handle(self, *args, **options):
        if not roles.owner_configured() or options["database"] != DEFAULT_DB_ALIAS:
            return super().handle(*args, **options)
        try:
            with roles.connected_as_owner() as app_role:
                super().handle(*args, **options)
                if options["plan"] or options["check_unapplied"]:
                    return None
                owner = roles.grant_app_role(connections[DEFAULT_DB_ALIAS], app_role)
        except (ImproperlyConfigured, roles.RoleError) as error:
            raise CommandError(str(error)) from error
        if options["verbosity"] >= 1:
            self.stdout.write(f"Granted {app_role} the console's rights on the tables of "
                              f"{owner}.")
        return None

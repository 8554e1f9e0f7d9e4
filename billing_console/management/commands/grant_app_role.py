"""Grant the console's application role exactly its rights, connected as the tables' owner
(MIGRATION_DATABASE_URL): `manage.py migrate` does it after migrating; this does it alone,
after a restore, say. See `billing_console.db.roles` for the rights."""

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections

from billing_console.db import roles


class Command(BaseCommand):
    help = ("Grant the console's database role (DATABASE_URL's, or --role) its rights, "
            "connected as the owner (MIGRATION_DATABASE_URL). PostgreSQL only.")

    def add_arguments(self, parser):
        parser.add_argument("--role", help="The application role (default: DATABASE_URL's).")

    def handle(self, *args, role=None, **options):
        if connections[DEFAULT_DB_ALIAS].vendor != "postgresql":
            raise CommandError("Database roles are PostgreSQL's: DATABASE_URL names another "
                               "database.")
        try:
            with roles.connected_as_owner() as app_role:
                owner = roles.grant_app_role(connections[DEFAULT_DB_ALIAS], role or app_role)
        except (ImproperlyConfigured, roles.RoleError) as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"Granted {role or app_role} the console's rights on the tables of "
                          f"{owner}.")

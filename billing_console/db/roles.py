"""PostgreSQL roles: the owner, which migrations run as, and the application role, which the
console (web, worker, beat) connects as and which cannot rewrite history.

The audit trail's triggers refuse UPDATE, DELETE and TRUNCATE, but a table's owner can
disable them (`ALTER TABLE … DISABLE TRIGGER`) and a superuser can skip them (`SET
session_replication_role = replica`). So the console connects as a role that is neither:

- it owns no table and is no member of the owner role (so it cannot ALTER, DROP or
  disable triggers), and is no superuser;
- on an append-only table (the audit trail, registered by its app) it may only SELECT and
  INSERT; on Django's record of migrations only SELECT;
- on every other table SELECT, INSERT, UPDATE and DELETE, and USAGE on the sequences (no
  TRUNCATE, REFERENCES or TRIGGER).

`grant_app_role` sets exactly those rights, as the owner: on the tables there are, and as
default privileges for the tables later migrations create. `manage.py migrate` runs it
after migrating when `MIGRATION_DATABASE_URL` is set (so a table created since is
covered, and an append-only table never keeps the defaults' UPDATE and DELETE);
`manage.py grant_app_role` runs it alone. The deploy check (`check --deploy`) warns when
the console connects as a superuser or as the owner of an append-only table.
"""

from contextlib import contextmanager

import dj_database_url
from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, transaction
from django.db.migrations.recorder import MigrationRecorder

# Tables the console may only read and append to. Apps register theirs from AppConfig.ready
# (the core imports no app).
_APPEND_ONLY_TABLES = set()

# What the owner's URL may change in the connection's settings: the same database, reached
# as another role (possibly through another host, without a pooler in between).
_OWNER_SETTINGS = ("USER", "PASSWORD", "HOST", "PORT")


def register_append_only(table):
    _APPEND_ONLY_TABLES.add(table)


def append_only_tables():
    return frozenset(_APPEND_ONLY_TABLES)


def owner_configured():
    return bool(settings.MIGRATION_DATABASE_URL)


@contextmanager
def connected_as_owner(alias=DEFAULT_DB_ALIAS):
    """Within the block, `connections[alias]` connects as the role `MIGRATION_DATABASE_URL`
    names; yields the role the console connects as (DATABASE_URL's user) for the grants.

    Raises `ImproperlyConfigured` when the URL is unset or names another database."""
    if not owner_configured():
        raise ImproperlyConfigured("MIGRATION_DATABASE_URL is not set: it names the role "
                                   "that owns the tables, which migrations run as.")
    owner = dj_database_url.parse(settings.MIGRATION_DATABASE_URL)
    connection = connections[alias]
    if owner["NAME"] != connection.settings_dict["NAME"]:
        raise ImproperlyConfigured(
            f"MIGRATION_DATABASE_URL names database {owner['NAME']!r}, but the console uses "
            f"{connection.settings_dict['NAME']!r}: both must name the same database.")
    saved = {key: connection.settings_dict[key] for key in _OWNER_SETTINGS}
    connection.close()
    connection.settings_dict.update({key: owner[key] for key in _OWNER_SETTINGS})
    try:
        yield saved["USER"]
    finally:
        connection.close()
        connection.settings_dict.update(saved)


class RoleError(Exception):
    """The application role cannot be made safe: it is the owner, or a superuser, or a
    member of the owner role."""


def grant_app_role(connection, app_role):
    """Give `app_role` exactly the application's rights on the schema `connection` uses,
    connected as the owner of its tables; returns the owner's name. Idempotent.

    Raises `RoleError` when `app_role` would still be able to rewrite history whatever it
    is granted (it is the owner, a superuser or a member of the owner role), or does not
    exist."""
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute("SELECT current_user, current_schema()")
        owner, schema = cursor.fetchone()
        _refuse_unsafe(cursor, app_role, owner)
        for statement in _grants(cursor, owner=owner, app_role=app_role, schema=schema):
            cursor.execute(statement)
    return owner


def _refuse_unsafe(cursor, app_role, owner):
    cursor.execute("SELECT rolsuper, pg_has_role(%s, %s, 'MEMBER') FROM pg_roles "
                   "WHERE rolname = %s", [app_role, owner, app_role])
    found = cursor.fetchone()
    if found is None:
        raise RoleError(f"There is no role {app_role!r}: create it first (see README).")
    superuser, member_of_owner = found
    if app_role == owner:
        raise RoleError(f"The console connects as {owner!r}, the role migrations run as: "
                        "DATABASE_URL must name an application role of its own.")
    if superuser:
        raise RoleError(f"{app_role!r} is a superuser, which no grant can limit: make it "
                        f"NOSUPERUSER (ALTER ROLE {app_role} NOSUPERUSER).")
    if member_of_owner:
        raise RoleError(f"{app_role!r} is a member of {owner!r} and so may do what the "
                        f"owner does: REVOKE {owner} FROM {app_role}.")


def _grants(cursor, *, owner, app_role, schema):
    from psycopg import sql

    def statement(template, *tables):
        return sql.SQL(template).format(
            *[sql.Identifier(schema, table) for table in tables], schema=sql.Identifier(schema),
            owner=sql.Identifier(owner), app=sql.Identifier(app_role),
        ).as_string(cursor.connection)

    yield statement("REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {app}")
    yield statement("REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema} FROM {app}")
    yield statement("GRANT USAGE ON SCHEMA {schema} TO {app}")
    yield statement("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} "
                    "TO {app}")
    yield statement("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {app}")
    yield statement("ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {schema} "
                    "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {app}")
    yield statement("ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {schema} "
                    "GRANT USAGE, SELECT ON SEQUENCES TO {app}")
    for table in sorted(_existing(cursor, schema, append_only_tables())):
        yield statement("REVOKE UPDATE, DELETE ON {} FROM {app}", table)
    migrations = MigrationRecorder.Migration._meta.db_table
    if _existing(cursor, schema, {migrations}):
        yield statement("REVOKE INSERT, UPDATE, DELETE ON {} FROM {app}", migrations)


def _existing(cursor, schema, tables):
    cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s "
                   "AND tablename = ANY(%s)", [schema, list(tables)])
    return {name for name, in cursor.fetchall()}


# --- The deploy check ---------------------------------------------------------------------

SUPERUSER_WARNING = "billing_console.W001"
OWNER_WARNING = "billing_console.W002"
UNCHECKED_WARNING = "billing_console.W003"


@checks.register(checks.Tags.security, deploy=True)
def check_database_role(app_configs=None, **kwargs):
    """`check --deploy`: warn when the console's connection could rewrite the audit trail."""
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.vendor != "postgresql":
        return []
    try:
        with connection.cursor() as cursor:
            return _role_warnings(cursor)
    except DatabaseError as error:
        return [checks.Warning(
            f"Could not check the role the console connects as: {error}".strip(),
            hint="Run `manage.py check --deploy` where the database answers.",
            id=UNCHECKED_WARNING)]


def _role_warnings(cursor):
    cursor.execute("SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user")
    role, superuser = cursor.fetchone()
    if superuser:
        return [checks.Warning(
            f"The console connects to PostgreSQL as {role!r}, a superuser: it could skip the "
            "audit trail's triggers (session_replication_role) and rewrite history.",
            hint="Connect as an application role (DATABASE_URL) and migrate as the owner "
                 "(MIGRATION_DATABASE_URL); see README, \"Database roles\".",
            id=SUPERUSER_WARNING)]
    cursor.execute(
        "SELECT c.relname, pg_get_userbyid(c.relowner) FROM pg_class c "
        "WHERE c.oid = ANY(SELECT to_regclass(t) FROM unnest(%s::text[]) AS t) "
        "AND pg_has_role(current_user, c.relowner, 'MEMBER')",
        [sorted(append_only_tables())])
    return [checks.Warning(
        f"The console connects to PostgreSQL as {role!r}, which owns (or is a member of "
        f"{owner!r}, the owner of) the append-only table {table!r}: it could disable its "
        "triggers and rewrite history.",
        hint="Connect as an application role that owns no table (DATABASE_URL) and migrate "
             "as the owner (MIGRATION_DATABASE_URL); see README, \"Database roles\".",
        id=OWNER_WARNING) for table, owner in cursor.fetchall()]

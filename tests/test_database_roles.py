"""PostgreSQL roles, set up as docker-compose.yml does (deploy/postgres/10-roles.sh, then
`manage.py migrate` as the owner): as the application role the console connects as, the
audit trail can be read and appended to, and nothing else; `check --deploy` warns when
the console connects as a superuser or as the trail's owner.

Roles are the whole cluster's: this module's are named uniquely, in a database of its
own, and dropped at the end.
"""

import os
import secrets
import shutil
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import connection

from billing_console.db.roles import OWNER_WARNING, SUPERUSER_WARNING, UNCHECKED_WARNING

pytestmark = pytest.mark.postgres

ROLES_SCRIPT = settings.BASE_DIR / "deploy" / "postgres" / "10-roles.sh"
AUDIT_TABLE = "audit_auditevent"


def _manage(*args, database_url, migration_url="", extra_env=None):
    env = {**os.environ, "DATABASE_URL": database_url, "MIGRATION_DATABASE_URL": migration_url,
           "DEBUG": "1", **(extra_env or {})}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=settings.BASE_DIR, env=env,
                          capture_output=True, text=True, timeout=600)


class Cluster:
    """The tests' PostgreSQL server, reached as the tests' own (superuser) role."""

    def __init__(self):
        self.params = {key: value for key, value in (
            ("host", connection.settings_dict["HOST"] or "127.0.0.1"),
            ("port", str(connection.settings_dict["PORT"] or 5432)),
            ("user", connection.settings_dict["USER"]),
            ("password", connection.settings_dict["PASSWORD"])) if value}

    def connect(self, dbname="postgres", **params):
        import psycopg

        return psycopg.connect(**{**self.params, **params}, dbname=dbname, autocommit=True)

    def url(self, role, password, dbname):
        return (f"postgres://{role}:{password}@{self.params['host']}:{self.params['port']}"
                f"/{dbname}")


@pytest.fixture(scope="module")
def roles_database():
    """A fresh database set up as production's: the roles script, then `manage.py migrate`
    as the owner with the application role in DATABASE_URL."""
    if connection.vendor != "postgresql":
        pytest.skip("database roles are PostgreSQL's; set DATABASE_URL to run these")
    if not shutil.which("psql"):
        pytest.skip("the roles script needs psql")
    cluster = Cluster()
    suffix = secrets.token_hex(4)
    names = {"db": f"bc_roles_{suffix}", "owner": f"bc_owner_{suffix}",
             "app": f"bc_app_{suffix}"}
    passwords = {"owner": secrets.token_hex(8), "app": secrets.token_hex(8)}
    with cluster.connect() as admin:
        admin.execute(f'CREATE DATABASE "{names["db"]}"')
    try:
        script = subprocess.run(["sh", str(ROLES_SCRIPT)], capture_output=True, text=True, env={
            **os.environ, "PGHOST": cluster.params["host"], "PGPORT": cluster.params["port"],
            "PGPASSWORD": cluster.params.get("password", ""),
            "POSTGRES_USER": cluster.params["user"], "POSTGRES_DB": names["db"],
            "CONSOLE_OWNER_ROLE": names["owner"], "CONSOLE_APP_ROLE": names["app"],
            "CONSOLE_OWNER_PASSWORD": passwords["owner"],
            "CONSOLE_APP_PASSWORD": passwords["app"]}, timeout=60)
        assert script.returncode == 0, script.stderr
        urls = {role: cluster.url(names[role], passwords[role], names["db"])
                for role in ("owner", "app")}
        urls["superuser"] = cluster.url(cluster.params["user"],
                                        cluster.params.get("password", ""), names["db"])
        migrated = _manage("migrate", "--noinput", database_url=urls["app"],
                           migration_url=urls["owner"])
        assert migrated.returncode == 0, migrated.stdout + migrated.stderr
        assert f"Granted {names['app']} the console's rights" in migrated.stdout
        yield {"cluster": cluster, "names": names, "passwords": passwords, "urls": urls}
    finally:
        with cluster.connect() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{names["db"]}" WITH (FORCE)')
            for role in ("app", "owner"):
                admin.execute(f'DROP ROLE IF EXISTS "{names[role]}"')


@pytest.fixture
def as_app(roles_database):
    names, passwords = roles_database["names"], roles_database["passwords"]
    with roles_database["cluster"].connect(names["db"], user=names["app"],
                                           password=passwords["app"]) as app:
        yield app


@pytest.fixture
def as_owner(roles_database):
    names, passwords = roles_database["names"], roles_database["passwords"]
    with roles_database["cluster"].connect(names["db"], user=names["owner"],
                                           password=passwords["owner"]) as owner:
        yield owner


RECORD_AN_EVENT = """
from django.contrib.auth.models import User
from django.db import transaction
from audit.models import AuditEvent
from audit.selectors import verify_audit_chain
from audit.services import record

with transaction.atomic():
    user = User.objects.create_user("recorder", password=None)
    user.first_name = "Rita"
    user.save()
    record(action="roles.recorded", actor=user, object_type="user", object_id=user.pk)
print("events", AuditEvent.objects.count(), "broken", verify_audit_chain().broken_id)
"""


def test_the_console_records_and_reads_the_trail_as_the_application_role(roles_database,
                                                                         as_app):
    result = _manage("shell", "-c", RECORD_AN_EVENT, database_url=roles_database["urls"]["app"])
    assert result.returncode == 0, result.stderr
    assert "broken None" in result.stdout
    rows = as_app.execute("SELECT action FROM audit_auditevent WHERE action = 'roles.recorded'")
    assert rows.fetchall() == [("roles.recorded",)]


TRAIL = "SELECT count(*), max(hash) FROM audit_auditevent"


@pytest.mark.parametrize("statement", [
    "UPDATE audit_auditevent SET reason = 'rewritten'",
    "DELETE FROM audit_auditevent",
    "TRUNCATE audit_auditevent",
    "ALTER TABLE audit_auditevent DISABLE TRIGGER ALL",
    "ALTER TABLE audit_auditevent DISABLE TRIGGER audit_auditevent_no_update_delete",
    "SET session_replication_role = replica",
    "SET SESSION session_replication_role = replica",
    "DROP TABLE audit_auditevent",
    "ALTER TABLE audit_auditevent OWNER TO CURRENT_USER",
    "CREATE TABLE scratch (id int)",
])
def test_as_the_application_role_history_cannot_be_rewritten(as_app, statement):
    """Refused by the role's rights, before any trigger is asked."""
    import psycopg

    before = as_app.execute(TRAIL).fetchone()
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        as_app.execute(statement)
    assert as_app.execute(TRAIL).fetchone() == before
    assert as_app.execute("SHOW session_replication_role").fetchone() == ("origin",)


def test_the_application_role_owns_nothing_and_has_only_the_consoles_rights(
        roles_database, as_app):
    app = roles_database["names"]["app"]
    owned = as_app.execute("SELECT tablename FROM pg_tables WHERE tableowner = current_user")
    assert owned.fetchall() == []
    role = as_app.execute("SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles "
                          "WHERE rolname = current_user").fetchone()
    assert role == (False, False, False)

    def rights(table):
        found = as_app.execute(
            "SELECT p FROM unnest(ARRAY['SELECT','INSERT','UPDATE','DELETE','TRUNCATE',"
            "'REFERENCES','TRIGGER']) p WHERE has_table_privilege(%s, %s, p)", [app, table])
        return {name for name, in found.fetchall()}

    assert rights(AUDIT_TABLE) == {"SELECT", "INSERT"}
    as_app.execute("GRANT UPDATE ON audit_auditevent TO CURRENT_USER")  # only warns
    assert rights(AUDIT_TABLE) == {"SELECT", "INSERT"}
    assert rights("django_migrations") == {"SELECT"}
    for table in ("cases_case", "money_actions_moneyaction", "django_session", "auth_user",
                  "audit_chainverification", "otp_totp_totpdevice"):
        assert rights(table) == {"SELECT", "INSERT", "UPDATE", "DELETE"}, table


def test_tables_created_later_get_the_rights_by_default(roles_database, as_owner, as_app):
    as_owner.execute("CREATE TABLE later_table (id bigint GENERATED BY DEFAULT AS IDENTITY, "
                     "note text)")
    as_app.execute("INSERT INTO later_table (note) VALUES ('x')")
    as_app.execute("UPDATE later_table SET note = 'y'")
    as_app.execute("DELETE FROM later_table")


def _deploy_warnings(database_url):
    result = _manage("check", "--deploy", database_url=database_url)
    output = result.stdout + result.stderr
    return {code for code in (SUPERUSER_WARNING, OWNER_WARNING, UNCHECKED_WARNING)
            if code in output}, output


def test_check_deploy_warns_as_a_superuser_or_the_trails_owner_not_as_the_application_role(
        roles_database):
    urls = roles_database["urls"]
    warnings, output = _deploy_warnings(urls["superuser"])
    assert warnings == {SUPERUSER_WARNING}, output
    assert "a superuser: it could skip the audit trail's triggers" in output
    warnings, output = _deploy_warnings(urls["owner"])
    assert warnings == {OWNER_WARNING}, output
    assert f"the append-only table '{AUDIT_TABLE}'" in output
    warnings, output = _deploy_warnings(urls["app"])
    assert warnings == set(), output


def test_grant_app_role_refuses_a_role_no_grant_can_limit(roles_database):
    urls, names = roles_database["urls"], roles_database["names"]
    superuser = roles_database["cluster"].params["user"]
    for role, words in ((superuser, "is a superuser"),
                        (names["owner"], "the role migrations run as"),
                        ("bc_nobody_at_all", "There is no role")):
        result = _manage("grant_app_role", "--role", role, database_url=urls["app"],
                         migration_url=urls["owner"])
        assert result.returncode != 0, role
        assert words in result.stderr, result.stderr
    again = _manage("grant_app_role", database_url=urls["app"], migration_url=urls["owner"])
    assert again.returncode == 0, again.stderr


def test_migrate_refuses_an_owner_url_for_another_database(roles_database):
    urls = roles_database["urls"]
    other = urls["owner"].rsplit("/", 1)[0] + "/postgres"
    result = _manage("migrate", "--noinput", database_url=urls["app"], migration_url=other)
    assert result.returncode != 0
    assert "both must name the same database" in result.stderr

"""The database triggers that make the audit table append-only.

Kept in one place because the migration installs them and the test suite's database
flush (which empties every table between transactional tests) has to lift them briefly.
"""

TABLE = "audit_auditevent"

_POSTGRES_CREATE = [
    f"""
    CREATE OR REPLACE FUNCTION {TABLE}_refuse_change() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'the audit trail is append-only: % on {TABLE} is refused', TG_OP;
    END
    $$
    """,
    f"""CREATE TRIGGER {TABLE}_no_update_delete BEFORE UPDATE OR DELETE ON {TABLE}
        FOR EACH ROW EXECUTE FUNCTION {TABLE}_refuse_change()""",
    f"""CREATE TRIGGER {TABLE}_no_truncate BEFORE TRUNCATE ON {TABLE}
        FOR EACH STATEMENT EXECUTE FUNCTION {TABLE}_refuse_change()""",
]
_POSTGRES_DROP = [
    f"DROP TRIGGER IF EXISTS {TABLE}_no_update_delete ON {TABLE}",
    f"DROP TRIGGER IF EXISTS {TABLE}_no_truncate ON {TABLE}",
]

_SQLITE_CREATE = [
    f"""CREATE TRIGGER {TABLE}_no_{op.lower()} BEFORE {op} ON {TABLE}
        BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only: {op} on {TABLE} is refused');
        END"""
    for op in ("UPDATE", "DELETE")
]
_SQLITE_DROP = [f"DROP TRIGGER IF EXISTS {TABLE}_no_{op}" for op in ("update", "delete")]

CREATE = {"postgresql": _POSTGRES_CREATE, "sqlite": _SQLITE_CREATE}
DROP = {"postgresql": _POSTGRES_DROP, "sqlite": _SQLITE_DROP}


def install(schema_editor):
    for statement in CREATE.get(schema_editor.connection.vendor, []):
        # params=None: the PL/pgSQL body's "%" is a format character, not a placeholder.
        schema_editor.execute(statement, params=None)


def remove(schema_editor):
    for statement in DROP.get(schema_editor.connection.vendor, []):
        schema_editor.execute(statement, params=None)


# For a migration that must change existing rows (filling a new column): RunPython
# operations that lift the triggers and put them back, around its own steps.
def lift_in_migration(apps, schema_editor):
    remove(schema_editor)


def restore_in_migration(apps, schema_editor):
    install(schema_editor)


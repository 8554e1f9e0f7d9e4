"""Django's PostgreSQL backend with `run_before_commit` (see `billing_console.db.hooks`)."""

from django.db.backends.postgresql import base

from billing_console.db.hooks import BeforeCommitMixin


class DatabaseWrapper(BeforeCommitMixin, base.DatabaseWrapper):
    def check_constraints_at_once(self, at_once):
        """Django creates foreign keys DEFERRABLE INITIALLY DEFERRED, so PostgreSQL checks
        them at COMMIT, and each check locks the row it points at (KEY SHARE). Checked at
        once, those locks are taken before the before-commit callbacks' own locks, instead
        of after them at COMMIT (where they met the audit chain's lock in a deadlock)."""
        with self.cursor() as cursor:
            cursor.execute(f"SET CONSTRAINTS ALL {'IMMEDIATE' if at_once else 'DEFERRED'}")

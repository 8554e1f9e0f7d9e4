"""Django's SQLite backend with `run_before_commit` (see `billing_console.db.hooks`)."""

from django.db.backends.sqlite3 import base

from billing_console.db.hooks import BeforeCommitMixin


class DatabaseWrapper(BeforeCommitMixin, base.DatabaseWrapper):
    pass

"""The console's settings for the test suite: the one settings module, with its runtime
files (the embedded broker's folders, SQLite, beat's schedule) under var/test/, so that
tests never leave a message for the demo's worker in var/celery/.

pytest-django imports this before any conftest runs, which is why the folder is chosen
here and not in a fixture. A VAR_DIR set by the caller is kept: a test that starts the
console in a child process gives it a folder of its own that way.
"""

import os
from pathlib import Path

os.environ.setdefault("VAR_DIR", str(Path(__file__).resolve().parent.parent / "var" / "test"))

from billing_console.settings import *  # noqa: E402, F403

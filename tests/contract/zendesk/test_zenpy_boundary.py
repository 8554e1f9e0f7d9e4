"""zenpy stays behind the Zendesk gateway."""

import re

from django.conf import settings

ZENPY_IMPORT = re.compile(r"^\s*(import zenpy|from zenpy)\b", re.MULTILINE)
ALLOWED = "billing_console/integrations/zendesk/"
SKIPPED_FOLDERS = {".venv", "var", "node_modules", ".git", "static"}


def python_files(root):
    for path in root.rglob("*.py"):
        relative = path.relative_to(root)
        if not SKIPPED_FOLDERS.intersection(relative.parts):
            yield relative, path


def test_zenpy_is_imported_only_under_the_zendesk_integration():
    root = settings.BASE_DIR
    offenders = [
        str(relative) for relative, path in python_files(root)
        if ZENPY_IMPORT.search(path.read_text(encoding="utf-8", errors="replace"))
        and not str(relative).startswith(ALLOWED)
    ]

    assert offenders == []
    gateway = root / ALLOWED / "gateway.py"
    assert ZENPY_IMPORT.search(gateway.read_text()), "the pattern no longer finds imports"

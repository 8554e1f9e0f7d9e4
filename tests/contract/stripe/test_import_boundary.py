"""Only the Stripe integration package may import the `stripe` SDK."""

import re

from django.conf import settings

STRIPE_PACKAGE = "billing_console/integrations/stripe/"
IMPORTS_STRIPE = re.compile(r"^\s*(import stripe\b|from stripe\b)", re.MULTILINE)
SKIPPED_DIRECTORIES = {".venv", "venv", "node_modules", ".git", "var", "__pycache__"}


def _python_files(root):
    for path in root.rglob("*.py"):
        if not SKIPPED_DIRECTORIES & set(path.relative_to(root).parts):
            yield path


def test_only_the_stripe_integration_imports_the_stripe_sdk():
    root = settings.BASE_DIR
    offenders = [
        str(path.relative_to(root)) for path in _python_files(root)
        if IMPORTS_STRIPE.search(path.read_text(encoding="utf-8", errors="replace"))
        and not str(path.relative_to(root)).startswith(STRIPE_PACKAGE)
    ]

    assert offenders == []

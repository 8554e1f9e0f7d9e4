"""Where the real Zendesk material lives (`../shared/reference/zendesk/`), and a skip with
the reason when this machine does not have it."""

import json

import pytest
from django.conf import settings


def reference_dir():
    folder = settings.BASE_DIR.parent / "shared" / "reference" / "zendesk"
    if not folder.is_dir():
        pytest.skip(f"Zendesk reference data not found at {folder} (it ships with CI, "
                    "not with the project)")
    return folder


def recorded(name):
    return json.loads((reference_dir() / "recorded" / name).read_text())

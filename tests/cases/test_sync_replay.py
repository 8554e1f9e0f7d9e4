"""The sync over a real Zendesk export: the recorded responses, replayed by the sandbox."""

import json

import pytest
from django.conf import settings

from cases import sync
from cases.models import Case, IntakeRule

RECORDING = "zendesk/recorded/incremental-tickets-cursor.json"


def _recording():
    path = settings.BASE_DIR.parent / "shared" / "reference" / RECORDING
    if not path.is_file():
        pytest.skip(f"Zendesk reference recording not found at {path} (it ships with CI, "
                    "not with the project)")
    return path


@pytest.fixture
def zendesk_sandbox_options():
    return {"replay_path": str(_recording())}


def test_with_rule_all_the_recorded_export_yields_one_case_per_live_ticket(
        db, zendesk_sandbox):
    exchanges = json.loads(_recording().read_text())
    records = [t for e in exchanges for t in (e["body"].get("tickets") or ())]
    live = {t["id"] for t in records if t["status"] != "deleted"}
    IntakeRule.objects.filter(pk=1).update(match=IntakeRule.Match.ALL)

    run = sync.sync_zendesk_once(max_pages=None)

    assert run.end_of_stream and run.tickets == len(records)
    assert sorted(Case.objects.values_list("zendesk_ticket_id", flat=True)) == sorted(live)

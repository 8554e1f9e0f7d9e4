"""Handover notes: left from the page, at most 5,000 characters, each an audit event in the
same transaction, and kept as they were left."""

import pytest
from django.db import transaction

from audit.models import AuditEvent
from billing_console.exceptions import ApplicationError
from billing_console.notes import NOTE_MAX_CHARS
from handover.models import HandoverNote
from handover.services import handover_note_leave
from tests.conftest import signed_in

URL = "/handover/notes/"


def test_a_note_left_on_the_page_is_kept_and_shown(specialist):
    client = signed_in(specialist)
    response = client.post(URL, {"body": "  Ticket #41: the bank answers tomorrow.  "},
                           follow=True)
    assert response.redirect_chain == [("/handover/", 302)]
    note = HandoverNote.objects.get()
    assert (note.author, note.body) == (specialist, "Ticket #41: the bank answers tomorrow.")
    page = response.content.decode()
    assert "Your note is left for the next shift." in page
    assert f'data-note-id="{note.pk}"' in page


def test_leaving_a_note_is_an_audit_event_with_its_text(specialist):
    note = handover_note_leave(author=specialist, body="Watch ticket #41.")
    event = AuditEvent.objects.get(action="handover.note_left")
    assert (event.actor, event.object_type, event.object_id) == (
        specialist, "handover_note", str(note.pk))
    assert event.after == {"note": "Watch ticket #41."}


def test_the_note_and_its_event_are_one_transaction(specialist, monkeypatch):
    def refuse(**fields):
        raise RuntimeError("the trail refused the event")

    monkeypatch.setattr("handover.services.record", refuse)
    with pytest.raises(RuntimeError), transaction.atomic():
        handover_note_leave(author=specialist, body="Never kept without its event.")
    assert not HandoverNote.objects.exists()


def test_a_note_at_the_limit_is_kept(specialist):
    response = signed_in(specialist).post(URL, {"body": "x" * NOTE_MAX_CHARS})
    assert response.status_code == 302
    assert len(HandoverNote.objects.get().body) == NOTE_MAX_CHARS


@pytest.mark.parametrize("body,message", [
    ("x" * (NOTE_MAX_CHARS + 1), "Ensure this value has at most 5000 characters"),
    ("   ", "Write the note before leaving it."),
])
def test_a_bad_note_is_a_message_and_nothing_is_kept(specialist, body, message):
    response = signed_in(specialist).post(URL, {"body": body})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not HandoverNote.objects.exists()
    assert not AuditEvent.objects.filter(action="handover.note_left").exists()


def test_the_service_refuses_a_note_too_long_whoever_calls_it(specialist):
    with pytest.raises(ApplicationError, match="at most 5,000 characters"):
        handover_note_leave(author=specialist, body="x" * (NOTE_MAX_CHARS + 1))


def test_a_nul_in_a_note_is_refused(specialist):
    response = signed_in(specialist).post(URL, {"body": "Before\x00after"})
    assert response.status_code == 400
    assert "holds a character no record can contain" in response.content.decode()
    assert not HandoverNote.objects.exists()


def test_a_note_cannot_be_changed_or_removed(specialist):
    note = handover_note_leave(author=specialist, body="As it was left.")
    note.body = "Rewritten."
    with pytest.raises(ValueError, match="cannot change"):
        note.save()
    with pytest.raises(ValueError, match="cannot be removed"):
        note.delete()
    assert HandoverNote.objects.get().body == "As it was left."


def test_a_long_note_folds_as_everywhere_else(specialist):
    """The handover folded its own way, cut at 300 characters; it now folds like the case
    page's timeline (`_folded_text.html`)."""
    handover_note_leave(author=specialist, body="Watch the large refund. " * 200)

    page = signed_in(specialist).get("/handover/").content.decode()

    assert '<details class="folded">' in page and "Show all (4799 characters)" in page

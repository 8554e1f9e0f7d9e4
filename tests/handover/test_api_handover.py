"""The shift handover through the API: the page's lists since a moment (by default the end
of the caller's last shift), and notes left for the next shift, audited with the API as
their source. Only those who work cases may read or write it."""

from datetime import UTC, timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent, ChainVerification, Source
from audit.services import record
from billing_console.notes import NOTE_MAX_CHARS
from cases.models import Case, State
from cases.services import case_transition
from finance.models import Match, ReconciliationItem, ReconciliationRun
from guidance.services import question_ask
from handover.models import HandoverNote
from handover.selectors import LIST_SIZE
from handover.services import handover_note_leave
from tests.cases.factories import make_case
from tests.conftest import api_client, signed_in
from tests.handover.factories import failed_refund, linked_case

pytestmark = pytest.mark.django_db

URL = "/api/v1/handover/"
NOTES = "/api/v1/handover/notes/"


def _iso(moment):
    return moment.astimezone(UTC).isoformat()


def test_the_handover_holds_what_changed_since_and_what_waits(specialist, tier2):
    since = timezone.now() - timedelta(minutes=5)
    before = make_case(subject="Opened yesterday")
    Case.objects.filter(pk=before.pk).update(created_at=since - timedelta(days=1))
    opened = make_case(subject="Charged twice")
    back = make_case(state=State.RESOLVED)
    case_transition(case=back, to_state=State.IN_PROGRESS, actor=specialist)
    failed = failed_refund(linked_case(), specialist)
    waiting = make_case(state=State.WAITING_FINANCE)
    question = question_ask(asker=tier2, body="When does the refund land?")
    note = handover_note_leave(author=specialist, body="Watch ticket #41.")
    run = ReconciliationRun.objects.create(
        period_start=since.date(), period_end=since.date(), status="done", days_total=1,
        days_done=1, finished_at=timezone.now())
    difference = ReconciliationItem.objects.create(
        run=run, object_type="refund", stripe_object_id="re_Handover", match=Match.STRIPE_ONLY,
        stripe_amount=700, currency="usd", case_id=opened.pk)

    response = api_client(specialist).get(URL, {"since": _iso(since)})

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["since"], body["since_why"]) == (
        since.astimezone(UTC).isoformat().replace("+00:00", "Z"), "the time you chose")
    ids = {name: [row.get("id") for row in body[name]["rows"]]
           for name in ("opened", "waiting_on_finance", "questions_waiting", "notes")}
    assert opened.pk in ids["opened"] and before.pk not in ids["opened"]
    assert ids["waiting_on_finance"] == [waiting.pk]
    assert ids["questions_waiting"] == [question.pk]
    assert ids["notes"] == [note.pk]
    assert body["notes"]["rows"][0]["body"] == "Watch ticket #41."
    assert [row["case_id"] for row in body["reopened"]["rows"]] == [back.pk]
    [outcome] = body["money_actions"]["rows"]
    assert (outcome["action"], outcome["label"], outcome["amount"], outcome["case_id"]) == (
        "refund.failed", "Refund failed", failed.amount, failed.case_id)
    [flagged] = body["differences"]["rows"]
    assert (flagged["item_id"], flagged["zendesk_ticket_id"]) == (
        difference.pk, opened.zendesk_ticket_id)
    assert body["chain"] is None
    assert not any(body[name]["more"] for name in ids)


def test_each_list_says_when_more_match_than_it_holds(specialist):
    for _ in range(LIST_SIZE + 1):
        make_case()
    opened = api_client(specialist).get(URL).json()["opened"]
    assert (len(opened["rows"]), opened["more"]) == (LIST_SIZE, True)


def test_by_default_it_starts_where_the_callers_last_shift_ended(specialist):
    ended = record(action="auth.logout", actor=specialist, object_type="user",
                   object_id=specialist.pk).created_at
    record(action="auth.login", actor=specialist, object_type="user", object_id=specialist.pk)
    ChainVerification.objects.create(finished_at=timezone.now(), checked=3, broken_id=2)

    body = api_client(specialist).get(URL).json()

    assert body["since"] == ended.astimezone(UTC).isoformat().replace("+00:00", "Z")
    assert body["since_why"].startswith("the end of your last shift")
    assert body["chain"]["intact"] is False and body["chain"]["broken_id"] == 2


@pytest.mark.parametrize("since, status, code", [
    ("yesterday", 400, "invalid"),
    ("2026-13-01T10:00:00Z", 400, "invalid"),
    (_iso(timezone.now() + timedelta(hours=1)), 409, "since"),
    (_iso(timezone.now() - timedelta(days=8)), 409, "since"),
])
def test_a_moment_the_handover_cannot_start_from_is_refused(specialist, since, status, code):
    response = api_client(specialist).get(URL, {"since": since})
    assert response.status_code == status, response.json()
    assert response.json()["code"] == code


def test_a_note_is_left_for_the_next_shift_and_audited_as_from_the_api(specialist):
    response = api_client(specialist).post(NOTES, {"body": "  Ticket #41: bank answers.  "},
                                           format="json")

    assert response.status_code == 201, response.json()
    note = HandoverNote.objects.get()
    assert response.json() == {"id": note.pk, "author": "specialist",
                               "body": "Ticket #41: bank answers.",
                               "created_at": response.json()["created_at"]}
    event = AuditEvent.objects.get(action="handover.note_left")
    assert (event.source, event.actor, event.object_id) == (Source.API, specialist,
                                                            str(note.pk))


def test_a_note_left_on_the_page_says_the_console(specialist):
    signed_in(specialist).post("/handover/notes/", {"body": "From the page."})
    assert AuditEvent.objects.get(action="handover.note_left").source == Source.CONSOLE


@pytest.mark.parametrize("body, status, code", [
    ({"body": ""}, 400, "invalid"),
    ({"body": 41}, 400, "invalid"),
    ({"body": "a \x00 b"}, 400, "invalid"),
    ({"body": "x" * (NOTE_MAX_CHARS + 1)}, 400, "invalid"),
    ({}, 400, "invalid"),
    ({"body": "   "}, 409, "note_required"),
])
def test_a_bad_note_is_refused_with_its_reason(specialist, body, status, code):
    response = api_client(specialist).post(NOTES, body, format="json")
    assert response.status_code == status, response.json()
    assert response.json()["code"] == code
    assert not HandoverNote.objects.exists()


@pytest.mark.parametrize("role", ["tier2", "finance", "admin", "outsider"])
def test_only_those_who_work_cases_read_or_write_it(actors, role):
    client = api_client(actors[role])
    assert client.get(URL).status_code == 403
    assert client.post(NOTES, {"body": "Hello."}, format="json").status_code == 403
    assert not HandoverNote.objects.exists()


def test_anonymous_callers_are_asked_to_authenticate(client):
    assert client.get(URL).status_code == 401
    assert client.post(NOTES, {}, content_type="application/json").status_code == 401

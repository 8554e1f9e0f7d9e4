"""Text PostgreSQL refuses (NUL, lone surrogates) from outside: cleaned where it is stored,
answered 400 where it can only be a filter, never a 500."""

import json
from datetime import date

import pytest
from django.db import connection
from django.test import Client

from audit import exports
from audit.services import record
from billing_console.integrations.zendesk.types import CustomField, Ticket
from billing_console.text import REPLACEMENT, storable
from finance.models import ReconciliationRun
from money_actions.models import ReasonCode
from tests.cases.factories import make_case
from tests.conftest import api_client, make_user, signed_in

needs_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL: SQLite stores NUL, so only PostgreSQL fails without the fix")

# Every route that reads its query string (`request.GET`, `query_params`), each with a NUL
# in a parameter it reads.
QUERY_ROUTES = [
    "/cases/?q=%00",
    "/cases/rows/?q=%00",
    "/cases/find/?ticket=%00",
    "/cases/{case}/?before=%00",
    "/audit/?reason=%00",
    "/audit/summary/?chart_currency=%00",
    "/audit/reconciliation/{run}/?class=%00",
    "/guidance/?q=%00",
    "/guidance/playbooks/{playbook}/versions/1/?against=%00",
    "/api/v1/cases/?q=%00",
    "/api/v1/audit-events/?actor=%00",
    "/api/v1/audit-events/export.csv?reason=%00",
    "/api/v1/playbooks/?q=%00",
]


def _ticket(**fields):
    return Ticket(**{
        "id": 1, "subject": "Charged twice", "description": "", "status": "open",
        "priority": None, "requester_id": 2, "submitter_id": 2, "assignee_id": None,
        "group_id": None, "tags": ("billing_escalation",), "custom_fields": (),
        "external_id": None, "created_at": None, "updated_at": None, **fields})


def test_storable_replaces_nul_and_lone_surrogates_and_says_where():
    ticket = _ticket(subject="Null byte \x00 in subject", tags=("ok", "bad\ud800"),
                     custom_fields=(CustomField(7, "cus_\x00"),))

    cleaned, places = storable(ticket)

    assert cleaned.subject == f"Null byte {REPLACEMENT} in subject"
    assert (cleaned.tags, cleaned.custom_fields[0].value) == (
        ("ok", f"bad{REPLACEMENT}"), f"cus_{REPLACEMENT}")
    assert places == ["subject", "tags.1", "custom_fields.0.value"]


def test_storable_walks_json_keys_and_values_and_leaves_clean_text_alone():
    payload = {"ticket": {"sub\x00ject": ["a", {"b": "\udc00"}], "n": 1, "ok": True}}

    cleaned, places = storable(payload, where="payload")

    assert cleaned == {"ticket": {f"sub{REPLACEMENT}ject": ["a", {"b": REPLACEMENT}],
                                  "n": 1, "ok": True}}
    assert places == ["payload.ticket.(key)", f"payload.ticket.sub{REPLACEMENT}ject.1.b"]
    clean = {"ticket": {"subject": "Charged twice", "tags": ["a"]}}
    assert storable(clean) == (clean, [])
    assert storable(clean)[0] is clean


def test_a_nul_in_a_query_is_a_400_with_message_and_code_on_any_database(db, finance):
    response = api_client(finance).get("/api/v1/audit-events/", {"reason": "a\x00b"})

    assert response.status_code == 400
    assert response.json() == {
        "message": "“Reason” holds a character no record can contain (NUL (U+0000) or a "
                   "lone surrogate); remove it and try again.",
        "code": "unstorable_character",
        "errors": {"reason": ["Holds a character no record can contain (NUL (U+0000) or a "
                              "lone surrogate)."]}}


def test_a_page_names_the_field_by_its_label_and_links_to_the_page_without_it(
        db, specialist):
    response = signed_in(specialist).get("/cases/?state=all&q=%00")

    assert response.status_code == 400
    page = response.content.decode()
    assert "“Search” holds a character no record can contain" in page
    assert 'href="/cases/?state=all"' in page


@pytest.mark.parametrize("path, fields, label", [
    ("/manage/policy/currencies/usd/", {"auto_approve_limit": "5\x0000",
                                        "customer_window_limit": "1000.00"},
     "Auto-approve limit"),
    ("/manage/policy/reasons/{reason}/", {"reason-{reason}-label": "Courtesy\x00"}, "Reason"),
    ("/handover/notes/", {"body": "All quiet\x00"}, "Your note for the next shift"),
    # The case page's note, question and guidance forms each have a "body": the label is
    # the posted form's, whatever else the view's module imports.
    ("/cases/{case}/notes/", {"body": "Call back\x00"}, "Note"),
    ("/guidance/playbooks/new/", {"title": "Refunds", "body": "Steps\x00"}, "Text (Markdown)"),
    ("/guidance/cases/{case}/", {"body": "Say\x00"}, "Guidance for Tier 2 (Markdown)"),
])
def test_a_form_field_is_named_by_the_label_its_page_shows(
        db, refund_policy, path, fields, label):
    reason = ReasonCode.objects.get(code="courtesy").pk
    case = make_case().pk
    user = make_user("everyone", "billing_specialist", "admin")
    path = path.format(reason=reason, case=case)
    fields = {name.format(reason=reason): value for name, value in fields.items()}

    response = signed_in(user).post(path, fields)

    assert response.status_code == 400
    page = response.content.decode()
    assert f"“{label}” holds a character no record can contain" in page
    assert not any(f"“{name}”" in page for name in fields)


def test_a_nul_in_a_posted_form_is_a_400_not_a_500(db, finance):
    response = signed_in(finance).post("/audit/exports/", {"reason": "\x00"})

    assert response.status_code == 400


@pytest.fixture
def route_objects(db):
    run = ReconciliationRun.objects.create(period_start=date(2026, 1, 1),
                                           period_end=date(2026, 1, 31),
                                           created_at="2026-02-01T00:00:00Z",
                                           finished_at="2026-02-01T00:00:00Z")
    return {"case": make_case().pk, "run": run.pk, "playbook": "duplicate-charge"}


@needs_postgres
@pytest.mark.postgres
@pytest.mark.parametrize("route", QUERY_ROUTES)
def test_every_route_reading_its_query_answers_a_nul_with_400(db, route, route_objects):
    user = make_user("everyone", "billing_specialist", "tier2_agent", "finance", "admin")
    url = route.format(**route_objects)
    client = api_client(user) if url.startswith("/api/") else signed_in(user)

    response = client.get(url)

    assert response.status_code == 400
    if url.startswith("/api/"):
        assert json.loads(response.content)["code"] == "unstorable_character"


def _export_failing_at_block(monkeypatch, failing):
    """The export's blocks as they are read, failing at block `failing` (0 is the header)."""
    real_chunks = exports.csv_chunks

    def chunks(events):
        for number, chunk in enumerate(real_chunks(events)):
            if number == failing:
                raise RuntimeError("the connection was lost")
            yield chunk

    monkeypatch.setattr(exports, "CHUNK", 1)
    monkeypatch.setattr(exports, "csv_chunks", chunks)


def test_an_export_that_fails_midway_says_so_and_breaks_the_transfer(
        db, finance, monkeypatch):
    for number in range(3):
        record(action="auth.login", object_type="user", object_id=number)
    _export_failing_at_block(monkeypatch, 2)
    response = api_client(finance).get("/api/v1/audit-events/export.csv")
    lines = []

    with pytest.raises(RuntimeError):
        for line in response.streaming_content:
            lines.append(line.decode())

    assert len(lines) == 3  # the header, one row, and the line that says it stopped
    assert lines[-1] == exports.INCOMPLETE_LINE


def test_an_export_whose_first_rows_fail_is_an_error_answer_not_a_header_alone(
        db, finance, monkeypatch):
    record(action="auth.login", object_type="user", object_id=1)
    _export_failing_at_block(monkeypatch, 1)
    client = api_client(finance)
    client.raise_request_exception = False

    response = client.get("/api/v1/audit-events/export.csv")

    assert response.status_code == 500
    assert not response.streaming


@pytest.mark.parametrize("path", ["//evil.example/login", "/\\evil.example/login"])
def test_the_page_without_it_is_never_another_sites(db, path):
    """A request-target of `//host` reaches the console as that path (as gunicorn passes
    it): the link back must not send the reader to another site."""
    response = Client().request(PATH_INFO=path, QUERY_STRING="next=%00",
                                REQUEST_METHOD="GET")

    html = response.content.decode()
    assert response.status_code == 400
    assert 'href="//evil' not in html and 'href="/\\evil' not in html

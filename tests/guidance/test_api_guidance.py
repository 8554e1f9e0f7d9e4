"""Writing guidance through the API: a case's guidance for Tier 2 (to the ticket too, when
asked) and playbooks, versioned as on the page; each write audited with the API as its
source, and only specialists write."""

import pytest

from audit.models import AuditEvent, Source
from cases.models import WriteBack
from guidance import services
from guidance.models import CaseGuidance, Playbook, PlaybookVersion
from tests.cases.factories import make_case
from tests.conftest import api_client, signed_in

WRITE = "/api/v1/case-guidance/"
SAVE = "/api/v1/playbook-versions/"
NEW_PLAYBOOK = {"title": "Refund timing", "category": "refund_request",
                "body": "Refunds arrive in **5–10** business days."}


@pytest.fixture
def playbook(db, specialist):
    return services.playbook_save(title="Duplicate charges", category="duplicate_charge",
                                  body="Refund the second charge.", author=specialist)


def _internal_notes(sandbox, ticket_id):
    _, body = sandbox.call("GET", f"/api/v2/tickets/{ticket_id}/comments.json")
    return [c["body"] for c in body["comments"] if not c["public"]]


# A case's guidance ---------------------------------------------------------------------------


def test_a_specialist_writes_guidance_that_tier2_reads_and_the_ticket_gets(
        db, zendesk_sandbox, specialist, tier2, playbook, eager_tasks,
        django_capture_on_commit_callbacks):
    ticket = zendesk_sandbox.create_ticket(subject="Charged twice")
    case = make_case(zendesk_ticket_id=ticket["id"])

    with django_capture_on_commit_callbacks(execute=True):
        response = api_client(specialist).post(WRITE, {
            "case_id": case.pk, "body": "Tell them the *second* charge comes back.",
            "playbook": playbook.slug, "post_to_zendesk": True}, format="json")

    assert response.status_code == 201, response.json()
    written = response.json()
    assert (written["case"], written["playbook"], written["author"]) == (
        case.pk, playbook.slug, "specialist")
    assert written["posted_to_zendesk"] is True
    assert "<em>second</em>" in written["html"]
    read = api_client(tier2).get(f"/api/v1/cases/{case.pk}/guidance/").json()
    assert [g["id"] for g in read["guidance"]] == [written["id"]]
    assert _internal_notes(zendesk_sandbox, ticket["id"]) == [
        "Guidance for Tier 2 from billing:\nTell them the second charge comes back."]
    event = AuditEvent.objects.get(action="guidance.added")
    assert (event.source, event.actor, event.case_id, event.zendesk_ticket_id) == (
        Source.API, specialist, case.pk, ticket["id"])
    assert event.after == {"guidance": written["id"], "playbook": playbook.slug,
                           "posted_to_zendesk": True}


def test_guidance_stays_in_the_console_unless_asked_for_the_ticket(db, specialist):
    case = make_case()
    response = api_client(specialist).post(WRITE, {"case_id": case.pk, "body": "Say 5 days."},
                                           format="json")
    assert response.status_code == 201
    assert response.json()["playbook"] is None
    assert not WriteBack.objects.exists()


def test_guidance_written_on_the_page_says_the_console(db, specialist):
    case = make_case()
    signed_in(specialist).post(f"/guidance/cases/{case.pk}/", {"body": "Say 5 days."})
    assert AuditEvent.objects.get(action="guidance.added").source == Source.CONSOLE


@pytest.mark.parametrize("body, status, code", [
    ({"case_id": None, "body": "x"}, 400, "invalid"),
    ({"case_id": "1", "body": "x"}, 400, "invalid"),  # a string for a number
    ({"body": 5}, 400, "invalid"),
    ({"body": ""}, 400, "invalid"),
    ({"body": "nul \x00 inside"}, 400, "invalid"),
    ({"body": "x", "post_to_zendesk": "yes"}, 400, "invalid"),
    ({"body": "   "}, 409, "guidance_required"),
    ({"body": "x", "playbook": "no-such-playbook"}, 404, "not_found"),
    ({"case_id": 987_654, "body": "x"}, 404, "not_found"),
])
def test_bad_guidance_is_refused_with_its_reason(db, specialist, body, status, code):
    case = make_case()
    response = api_client(specialist).post(WRITE, {"case_id": case.pk, **body}, format="json")
    assert response.status_code == status, response.json()
    assert response.json()["code"] == code
    assert not CaseGuidance.objects.exists()
    assert not AuditEvent.objects.filter(action="guidance.added").exists()


# Playbooks -----------------------------------------------------------------------------------


def test_a_playbook_is_written_edited_and_read_with_its_versions(db, specialist, tier2):
    client = api_client(specialist)

    created = client.post(SAVE, {**NEW_PLAYBOOK, "playbook": None}, format="json")
    assert created.status_code == 201, created.json()
    slug = created.json()["slug"]
    assert [v["number"] for v in created.json()["versions"]] == [1]
    edited = client.post(SAVE, {**NEW_PLAYBOOK, "playbook": slug,
                                "body": "Refunds arrive in 5–10 business days; cards vary."},
                         format="json")
    assert edited.status_code == 201
    unchanged = client.post(SAVE, {**NEW_PLAYBOOK, "playbook": slug,
                                   "body": "Refunds arrive in 5–10 business days; cards vary."},
                            format="json")
    assert unchanged.status_code == 200

    read = api_client(tier2).get(f"/api/v1/playbooks/{slug}/")
    assert read.status_code == 200
    assert read.json()["body"] == "Refunds arrive in 5–10 business days; cards vary."
    assert [(v["number"], v["author"]) for v in read.json()["versions"]] == [
        (2, "specialist"), (1, "specialist")]
    assert read.json()["updated_by"] == "specialist"
    events = AuditEvent.objects.filter(action="guidance.playbook_saved").order_by("id")
    assert [(e.object_id, e.after["version"], e.source) for e in events] == [
        (slug, 1, Source.API), (slug, 2, Source.API)]


def test_a_playbook_saved_on_the_page_says_the_console(db, specialist):
    signed_in(specialist).post("/guidance/playbooks/new/", NEW_PLAYBOOK)
    assert AuditEvent.objects.get(action="guidance.playbook_saved").source == Source.CONSOLE


@pytest.mark.parametrize("change, status, code", [
    ({"category": "gifts"}, 400, "invalid"),
    ({"title": "t" * 201}, 400, "invalid"),
    ({"title": 12}, 400, "invalid"),
    ({"body": "nul \x00"}, 400, "invalid"),
    ({"title": "  "}, 409, "title_required"),
    ({"playbook": "no-such-playbook"}, 404, "not_found"),
])
def test_a_bad_playbook_is_refused_with_its_reason(db, specialist, playbook, change, status,
                                                   code):
    versions = PlaybookVersion.objects.count()
    response = api_client(specialist).post(SAVE, {**NEW_PLAYBOOK, **change}, format="json")
    assert response.status_code == status, response.json()
    assert response.json()["code"] == code
    assert PlaybookVersion.objects.count() == versions
    assert not AuditEvent.objects.filter(action="guidance.playbook_saved", source=Source.API)


def test_an_unknown_playbook_is_not_found(db, tier2):
    assert api_client(tier2).get("/api/v1/playbooks/nothing-here/").status_code == 404


# Who may ------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["tier2", "finance", "admin", "outsider"])
def test_only_specialists_write_guidance_and_playbooks(actors, role, playbook):
    case = make_case()
    client = api_client(actors[role])

    guidance = client.post(WRITE, {"case_id": case.pk, "body": "x"}, format="json")
    saved = client.post(SAVE, {**NEW_PLAYBOOK, "playbook": playbook.slug}, format="json")

    assert (guidance.status_code, saved.status_code) == (403, 403)
    assert guidance.json()["code"] == "permission_denied"
    assert not CaseGuidance.objects.exists()
    assert Playbook.objects.get(pk=playbook.pk).body == "Refund the second charge."


@pytest.mark.parametrize("role, status", [
    ("specialist", 200), ("tier2", 200), ("finance", 200), ("admin", 200), ("outsider", 403)])
def test_every_role_reads_a_playbook_but_the_roleless(actors, role, status, playbook):
    assert api_client(actors[role]).get(f"/api/v1/playbooks/{playbook.slug}/").status_code \
        == status


def test_anonymous_callers_write_nothing(client, db):
    assert client.post(WRITE, {}, content_type="application/json").status_code == 401
    assert client.post(SAVE, {}, content_type="application/json").status_code == 401

"""A specialist's actions on a case through the API: each follows the case page's rules
through the same service, is refused to every other role, answers bad input with
`{message, code}` (400 for a body that does not fit its schema, 409 for a rule, 404 for no
case), and is audited as coming from the API."""

import json
from datetime import timedelta

import pytest

from audit.models import AuditEvent, Source
from cases.models import (
    Case,
    CaseEvent,
    Category,
    Priority,
    ReplyTemplate,
    ResolutionCode,
    SlaTarget,
    State,
    StripeLink,
    WriteBack,
)
from tests.cases.factories import make_case
from tests.conftest import api_client, signed_in

RESOLUTION = {"resolution_code": ResolutionCode.EXPLAINED,
              "summary": "Explained the proration."}

# Each action, with a body it accepts on a new case.
ACTIONS = {
    "assign": {"assignee": "specialist"},
    "state": {"state": State.IN_PROGRESS},
    "category": {"category": Category.DUPLICATE_CHARGE},
    "priority": {"priority": Priority.HIGH},
    "notes": {"body": "Called the customer back."},
    "resolve": RESOLUTION,
    "stripe/customer": {"customer_id": "cus_Matched"},
}


def _post(user, case, action, body):
    return api_client(user).post(f"/api/v1/cases/{case.pk}/{action}/", json.dumps(body),
                                 content_type="application/json",
                                 REMOTE_ADDR="203.0.113.9")


def _api_event(action):
    """The one audit event of `action`, which must say it came from the API, and from
    where."""
    event = AuditEvent.objects.get(action=action)
    assert (event.source, event.ip_address) == (Source.API, "203.0.113.9")
    return event


@pytest.fixture
def case(db):
    return make_case(stripe_customer_id="cus_Matched", stripe_link=StripeLink.UNVERIFIED)


# --- who may act ---------------------------------------------------------------------------


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("role", ["tier2", "finance", "admin", "outsider"])
def test_only_billing_specialists_act_on_cases(action, role, actors, case):
    response = _post(actors[role], case, action, ACTIONS[action])

    assert response.status_code == 403, response.json()
    assert response.json()["code"] == "permission_denied"
    assert not AuditEvent.objects.filter(action__startswith="case.").exists()


@pytest.mark.parametrize("action", ACTIONS)
def test_each_action_of_a_specialist_is_done_and_audited_as_from_the_api(action, specialist,
                                                                          case):
    response = _post(specialist, case, action, ACTIONS[action])

    assert response.status_code in (200, 201), response.json()
    assert AuditEvent.objects.filter(action__startswith="case.").exclude(
        source=Source.API).count() == 0
    assert AuditEvent.objects.filter(action__startswith="case.", source=Source.API).exists()


@pytest.mark.parametrize("action", ACTIONS)
def test_no_token_is_a_401(action, client, case):
    response = client.post(f"/api/v1/cases/{case.pk}/{action}/", ACTIONS[action],
                           content_type="application/json")

    assert response.status_code == 401 and response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize("action", ACTIONS)
def test_a_case_that_does_not_exist_is_a_404(action, specialist, db):
    response = api_client(specialist).post(f"/api/v1/cases/999999/{action}/",
                                           ACTIONS[action], format="json")

    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_the_same_action_on_the_page_is_still_audited_as_the_consoles(specialist, case):
    signed_in(specialist).post(f"/cases/{case.pk}/priority/", {"priority": Priority.HIGH})

    assert AuditEvent.objects.get(action="case.priority_changed").source == Source.CONSOLE


# --- assign ----------------------------------------------------------------------------------


def test_assigning_a_new_case_to_a_specialist_triages_it(specialist, second_specialist, case):
    response = _post(specialist, case, "assign", {"assignee": "specialist2"})

    assert response.status_code == 200
    assert (response.json()["assignee"], response.json()["state"]) == ("specialist2",
                                                                       State.TRIAGED)
    event = _api_event("case.assigned")
    assert (event.actor_username, event.after) == ("specialist",
                                                   {"assignee": second_specialist.pk})


def test_null_unassigns(specialist, case):
    Case.objects.filter(pk=case.pk).update(assignee=specialist)

    response = _post(specialist, case, "assign", {"assignee": None})

    assert response.status_code == 200 and response.json()["assignee"] is None
    assert _api_event("case.assigned").after == {"assignee": None}


@pytest.mark.parametrize("assignee", ["finance", "tier2", "nobody-of-that-name"])
def test_only_an_active_specialist_can_be_the_assignee(assignee, specialist, finance, tier2,
                                                       case):
    response = _post(specialist, case, "assign", {"assignee": assignee})

    assert response.status_code == 409
    assert response.json() == {"message": "Cases can be assigned to billing specialists only.",
                               "code": "not_a_specialist"}
    assert Case.objects.get(pk=case.pk).assignee is None


def test_an_inactive_specialist_cannot_be_the_assignee(specialist, second_specialist, case):
    second_specialist.is_active = False
    second_specialist.save()

    response = _post(specialist, case, "assign", {"assignee": "specialist2"})

    assert response.status_code == 409 and response.json()["code"] == "not_a_specialist"


# --- state, category, priority -----------------------------------------------------------


def test_the_state_moves_as_the_workflow_allows(specialist, case):
    response = _post(specialist, case, "state", {"state": State.IN_PROGRESS})

    assert response.status_code == 200 and response.json()["state"] == State.IN_PROGRESS
    assert _api_event("case.state_changed").after == {"state": State.IN_PROGRESS}
    assert WriteBack.objects.get(case=case).zendesk_status == "open"


def test_a_move_the_workflow_does_not_allow_is_a_409(specialist, case):
    response = _post(specialist, case, "state", {"state": State.WAITING_CUSTOMER})

    assert response.status_code == 409
    assert response.json() == {"message": "A case that is new cannot move to waiting on "
                                          "customer.", "code": "invalid_transition"}


def test_resolving_needs_the_resolve_action(specialist, case):
    response = _post(specialist, case, "state", {"state": State.RESOLVED})

    assert response.status_code == 409 and response.json()["code"] == "resolution_required"
    assert Case.objects.get(pk=case.pk).state == State.NEW


def test_the_category_is_set_by_staff(specialist, case):
    response = _post(specialist, case, "category", {"category": Category.TAX})

    assert response.status_code == 200 and response.json()["category"] == Category.TAX
    assert Case.objects.get(pk=case.pk).category_set_by_staff
    assert _api_event("case.category_changed").after == {"category": Category.TAX}


def test_the_priority_moves_the_sla_deadlines(specialist, case):
    SlaTarget.objects.update_or_create(priority=Priority.URGENT, defaults={
        "first_response_hours": 1, "resolution_hours": 4})

    response = _post(specialist, case, "priority", {"priority": Priority.URGENT})

    assert response.status_code == 200 and response.json()["priority"] == Priority.URGENT
    case.refresh_from_db()
    assert (case.first_response_due, case.resolution_due) == (
        case.zendesk_created_at + timedelta(hours=1), case.zendesk_created_at + timedelta(hours=4))
    assert _api_event("case.priority_changed").after == {"priority": Priority.URGENT}


@pytest.mark.parametrize("action, body", [
    ("state", {"state": "bogus"}), ("state", {"state": 3}), ("state", {}),
    ("category", {"category": "Tax / VAT"}), ("priority", {"priority": None}),
    ("assign", {"assignee": 7}), ("assign", {}), ("notes", {"body": 0}),
    ("notes", {"body": "a\x00b"}), ("notes", {"body": "x", "post_to_zendesk": "yes"}),
    ("notes", {"body": "x" * 5_001}), ("resolve", {**RESOLUTION, "resolution_code": "done"}),
    ("resolve", {"resolution_code": ResolutionCode.EXPLAINED}),
    ("stripe/customer", {"customer_id": ""}),
])
def test_a_body_that_does_not_fit_its_schema_is_a_400(action, body, specialist, case):
    response = _post(specialist, case, action, body)

    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "invalid" and response.json()["errors"]
    assert not AuditEvent.objects.filter(action__startswith="case.").exists()


def test_a_body_that_is_not_json_is_a_415(specialist, case):
    response = api_client(specialist).post(f"/api/v1/cases/{case.pk}/state/",
                                           "state=in_progress",
                                           content_type="application/x-www-form-urlencoded")

    assert response.status_code == 415 and set(response.json()) == {"message", "code"}


# --- the Stripe customer -------------------------------------------------------------------


def test_confirming_one_of_the_candidates_links_it(specialist):
    case = make_case(stripe_link=StripeLink.AMBIGUOUS, stripe_candidates=[
        {"id": "cus_One", "name": "Ava", "email": ""}, {"id": "cus_Two", "name": "AP",
                                                        "email": ""}])

    response = _post(specialist, case, "stripe/customer", {"customer_id": "cus_Two"})

    assert response.status_code == 200
    assert (response.json()["stripe_customer_id"], response.json()["stripe_link"]) == (
        "cus_Two", StripeLink.VERIFIED)
    assert _api_event("case.stripe_customer_confirmed").after == {
        "customer": "cus_Two", "link": StripeLink.VERIFIED}


def test_a_customer_not_matched_for_the_case_is_refused(specialist, case):
    response = _post(specialist, case, "stripe/customer", {"customer_id": "cus_Other"})

    assert response.status_code == 409 and response.json()["code"] == "unknown_customer"
    assert Case.objects.get(pk=case.pk).stripe_link == StripeLink.UNVERIFIED


# --- notes ---------------------------------------------------------------------------------


def test_a_note_stays_in_the_console_unless_asked(specialist, case):
    response = _post(specialist, case, "notes", {"body": "Called the customer back."})

    assert response.status_code == 201
    body = response.json()
    assert (body["kind"], body["body"], body["actor"], body["public"]) == (
        CaseEvent.Kind.NOTE, "Called the customer back.", "specialist", False)
    assert not WriteBack.objects.exists()
    assert _api_event("case.note_added").after == {"posted_to_zendesk": False}


def test_a_note_posted_to_zendesk_goes_as_an_internal_note(specialist, case):
    response = _post(specialist, case, "notes", {"body": "Refund **approved**.",
                                                 "post_to_zendesk": True})

    assert response.status_code == 201
    write_back = WriteBack.objects.get(case=case)
    assert (write_back.note, write_back.public) == ("Refund **approved**.", False)
    assert "<strong>approved</strong>" in write_back.note_html
    assert _api_event("case.note_added").after == {"posted_to_zendesk": True}


def test_a_blank_note_is_refused_by_the_rule(specialist, case):
    response = _post(specialist, case, "notes", {"body": "   "})

    assert response.status_code == 409
    assert response.json() == {"message": "Write the note before saving it.",
                               "code": "empty_note"}
    assert not CaseEvent.objects.filter(kind=CaseEvent.Kind.NOTE).exists()


# --- resolve -------------------------------------------------------------------------------


def test_resolving_tells_zendesk_and_replies_publicly(specialist, case):
    response = _post(specialist, case, "resolve", {
        **RESOLUTION, "public_reply": "Hi Ava, the charge is the proration of your upgrade."})

    assert response.status_code == 200
    assert (response.json()["state"], response.json()["resolution_code"]) == (
        State.RESOLVED, ResolutionCode.EXPLAINED)
    notes = list(WriteBack.objects.filter(case=case).order_by("pk")
                 .values_list("public", "note", "zendesk_status"))
    assert notes == [
        (False, "Billing Console: this case is resolved (explained, no change needed). "
                "Explained the proration.", "solved"),
        (True, "Hi Ava, the charge is the proration of your upgrade.", "")]
    event = _api_event("case.resolved")
    assert (event.after, event.reason) == ({"state": State.RESOLVED,
                                            "code": ResolutionCode.EXPLAINED},
                                           "Explained the proration.")


def test_a_reply_template_is_filled_in_for_the_case(specialist, case):
    ReplyTemplate.objects.create(name="Explained", body="Hi {requester_name}, about ticket "
                                                        "#{ticket_id}: all is in order.")

    response = _post(specialist, case, "resolve", {**RESOLUTION, "reply_template": "Explained"})

    assert response.status_code == 200
    reply = WriteBack.objects.get(case=case, public=True).note
    assert reply == f"Hi Ava Okafor, about ticket #{case.zendesk_ticket_id}: all is in order."


@pytest.mark.parametrize("extra, code", [
    ({"reply_template": "Retired"}, "reply_template"),
    ({"reply_template": "No such template"}, "reply_template"),
    ({"reply_template": "Explained", "public_reply": "Hello"}, "reply_twice"),
])
def test_a_reply_template_must_be_active_and_alone(extra, code, specialist, case):
    ReplyTemplate.objects.create(name="Explained", body="All is in order.")
    ReplyTemplate.objects.create(name="Retired", body="Old words.", active=False)

    response = _post(specialist, case, "resolve", {**RESOLUTION, **extra})

    assert response.status_code == 409 and response.json()["code"] == code
    assert Case.objects.get(pk=case.pk).state == State.NEW


@pytest.mark.parametrize("body, code", [
    ({**RESOLUTION, "summary": "  "}, "resolution_summary"),
    ({**RESOLUTION, "public_reply": "x" * 5_001}, "invalid"),
])
def test_a_resolution_needs_a_summary_and_a_reply_of_note_length(body, code, specialist,
                                                                 case):
    response = _post(specialist, case, "resolve", body)

    assert response.status_code == (400 if code == "invalid" else 409)
    assert response.json()["code"] == code


def test_a_resolved_case_is_not_resolved_again(specialist, case):
    Case.objects.filter(pk=case.pk).update(state=State.RESOLVED)

    response = _post(specialist, case, "resolve", RESOLUTION)

    assert response.status_code == 409 and response.json()["code"] == "already_resolved"
    assert not WriteBack.objects.exists()


def test_the_reply_templates_come_filled_in_for_the_case(specialist, case):
    ReplyTemplate.objects.all().delete()
    ReplyTemplate.objects.create(name="Second", body="Bye {requester_name}.", position=2)
    ReplyTemplate.objects.create(name="First", body="Ticket #{ticket_id}.", position=1)
    ReplyTemplate.objects.create(name="Retired", body="Old.", active=False)

    response = api_client(specialist).get(f"/api/v1/cases/{case.pk}/reply-templates/")

    assert response.status_code == 200
    assert response.json() == {"results": [
        {"name": "First", "body": f"Ticket #{case.zendesk_ticket_id}."},
        {"name": "Second", "body": "Bye Ava Okafor."}], "next": None}


@pytest.mark.parametrize("role", ["tier2", "finance", "admin"])
def test_only_specialists_read_the_reply_templates(role, actors, case):
    response = api_client(actors[role]).get(f"/api/v1/cases/{case.pk}/reply-templates/")

    assert response.status_code == 403

"""Tier 2 sees the cases they or their Zendesk group escalated, and any other case is "not
found": by page, by ticket number and by API, on every route Tier 2 has to a case."""

import pytest

from billing_console.access import Role
from billing_console.integrations.stripe.sandbox.builders import charge, create_customer
from billing_console.models import ZendeskIdentity
from cases import sync
from cases.models import Case, StripeLink
from guidance.models import Question
from guidance.services import question_answer, question_ask
from tests.cases.factories import make_case
from tests.cases.zendesk_sandbox import ticket_spec
from tests.conftest import (
    TIER2_ZENDESK_GROUP_ID,
    TIER2_ZENDESK_USER_ID,
    api_client,
    make_tier2,
    make_user,
    signed_in,
)

OTHER_AGENT = 90_002
OTHER_GROUP = 360_000_000_499


@pytest.fixture
def own(db):
    return make_case(subject="Mine to follow", escalated_by_zendesk_id=TIER2_ZENDESK_USER_ID)


@pytest.fixture
def others(db):
    return make_case(subject="Someone else's", escalated_by_zendesk_id=OTHER_AGENT,
                     escalation_group_id=OTHER_GROUP)


# The routes Tier 2 has to one case: (method, path template, data), each answering 404
# for a case Tier 2 may not see.
CASE_ROUTES = {
    "summary page": lambda client, case: client.get(f"/cases/{case.pk}/summary/"),
    "find by ticket": lambda client, case: client.get(
        "/cases/find/", {"ticket": case.zendesk_ticket_id}),
    "question on the case (page)": lambda client, case: client.post(
        "/guidance/questions/ask/", {"body": "May we promise a credit?", "case": case.pk}),
}
API_ROUTES = {
    "case guidance (API)": lambda client, case: client.get(
        f"/api/v1/cases/{case.pk}/guidance/"),
    "question on the case (API)": lambda client, case: client.post(
        "/api/v1/questions/", {"body": "May we promise a credit?", "case_id": case.pk},
        format="json"),
}


@pytest.mark.parametrize("route", CASE_ROUTES)
def test_tier2_reaches_their_own_escalation_by_page(route, tier2, own):
    response = CASE_ROUTES[route](signed_in(tier2), own)
    assert response.status_code in (200, 302)
    if route == "find by ticket":
        assert response["Location"] == f"/cases/{own.pk}/summary/"


@pytest.mark.parametrize("route", CASE_ROUTES)
def test_another_agents_case_is_not_found_by_page(route, tier2, others):
    response = CASE_ROUTES[route](signed_in(tier2), others)
    assert response.status_code == 404
    assert others.subject not in response.content.decode()
    assert not Question.objects.filter(case=others).exists()


@pytest.mark.parametrize("route", API_ROUTES)
def test_tier2_reaches_their_own_escalation_by_api(route, tier2, own):
    response = API_ROUTES[route](api_client(tier2), own)
    assert response.status_code in (200, 201)


@pytest.mark.parametrize("route", API_ROUTES)
def test_another_agents_case_is_not_found_by_api(route, tier2, others):
    response = API_ROUTES[route](api_client(tier2), others)
    assert response.status_code == 404
    assert others.subject not in response.content.decode()
    assert not Question.objects.filter(case=others).exists()


def test_a_case_their_group_escalated_is_theirs_too(tier2):
    colleague_case = make_case(escalated_by_zendesk_id=OTHER_AGENT,
                               escalation_group_id=TIER2_ZENDESK_GROUP_ID)
    assert signed_in(tier2).get(f"/cases/{colleague_case.pk}/summary/").status_code == 200
    assert api_client(tier2).get(
        f"/api/v1/cases/{colleague_case.pk}/guidance/").status_code == 200


def test_an_agent_not_tied_to_zendesk_sees_no_case(db, own):
    untied = make_user("tier2-untied", Role.TIER2)
    assert signed_in(untied).get(f"/cases/{own.pk}/summary/").status_code == 404
    assert signed_in(untied).get(
        "/cases/find/", {"ticket": own.zendesk_ticket_id}).status_code == 404


def test_an_agent_tied_only_to_a_group_sees_that_groups_cases(db, own, others):
    grouped = make_tier2("tier2-group", zendesk_group_id=OTHER_GROUP)
    assert signed_in(grouped).get(f"/cases/{others.pk}/summary/").status_code == 200
    assert signed_in(grouped).get(f"/cases/{own.pk}/summary/").status_code == 404


def test_specialists_and_finance_still_read_any_cases_guidance(specialist, finance, others):
    for user in (specialist, finance):
        assert api_client(user).get(
            f"/api/v1/cases/{others.pk}/guidance/").status_code == 200


def test_the_sync_records_who_escalated_a_ticket_when_its_case_is_made(
        db, zendesk_sandbox):
    store = zendesk_sandbox.server.store
    agent = store.create_user({"name": "Noor (Tier 2)", "email": "noor@tier2.example",
                               "role": "agent"})
    filer = store.create_user({"name": "Marek (Tier 2)", "email": "marek@tier2.example",
                               "role": "agent"})
    customer = store.create_user({"name": "Ava", "email": "ava@example.com"})
    assigned, filed, by_customer = zendesk_sandbox.add_tickets([
        ticket_spec(1, assignee_id=agent["id"], group_id=TIER2_ZENDESK_GROUP_ID),
        ticket_spec(2, submitter_id=filer["id"]),
        ticket_spec(3, requester_id=customer["id"], submitter_id=customer["id"])])
    sync.sync_zendesk_once()

    case = Case.objects.get(zendesk_ticket_id=assigned["id"])
    assert (case.escalated_by_zendesk_id, case.escalation_group_id) == (
        agent["id"], TIER2_ZENDESK_GROUP_ID)
    assert Case.objects.get(zendesk_ticket_id=filed["id"]).escalated_by_zendesk_id == filer["id"]
    # Filed by the customer and assigned to nobody: no agent is known to have escalated it.
    assert Case.objects.get(zendesk_ticket_id=by_customer["id"]).escalated_by_zendesk_id is None

    # Later changes to the ticket do not change who escalated it.
    store.update_ticket(assigned["id"], {"assignee_id": filer["id"]}, agent["id"])
    sync.sync_zendesk_once()
    case.refresh_from_db()
    assert case.escalated_by_zendesk_id == agent["id"]


def test_admins_tie_a_tier2_user_to_their_zendesk_agent_and_group(admin_user):
    agent = make_user("noor", Role.TIER2)
    client = signed_in(admin_user)
    page = client.get(f"/manage/users/{agent.pk}/")
    assert page.status_code == 200
    assert "Zendesk user id" in page.content.decode()

    response = client.post(f"/manage/users/{agent.pk}/", {
        "email": agent.email, "is_active": "on", "roles": [Role.TIER2.value],
        "zendesk_user_id": str(TIER2_ZENDESK_USER_ID),
        "zendesk_group_id": str(TIER2_ZENDESK_GROUP_ID),
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    identity = ZendeskIdentity.objects.get(user=agent)
    assert (identity.zendesk_user_id, identity.zendesk_group_id) == (
        TIER2_ZENDESK_USER_ID, TIER2_ZENDESK_GROUP_ID)


@pytest.mark.parametrize("link", [StripeLink.NAMED, StripeLink.UNVERIFIED])
def test_tier2_reads_no_billing_facts_until_the_customer_is_verified(stripe_sandbox, tier2,
                                                                     link):
    """A customer id typed into the ticket, or an email match, may be someone else's."""
    other = create_customer(stripe_sandbox, name="Someone Else", email="else@example.com")
    for _ in range(2):
        charge(stripe_sandbox, customer=other.id, amount=1_600)
    case = make_case(stripe_customer_id=other.id, stripe_link=link)

    body = api_client(tier2).get(f"/api/v1/cases/{case.pk}/guidance/").json()

    assert body["facts"] == []


def test_a_question_on_a_case_no_longer_theirs_is_not_found(tier2, specialist, own):
    question = question_ask(asker=tier2, case=own, body="Can we refund the duplicate?")
    question_answer(question=question, answered_by=specialist,
                    answer="Yes: cus_X was charged twice on ch_123; refund one.")
    ZendeskIdentity.objects.filter(user=tier2).update(zendesk_user_id=1, zendesk_group_id=1)

    assert signed_in(tier2).get(f"/guidance/questions/{question.pk}/").status_code == 404
    assert api_client(tier2).get("/api/v1/questions/").json()["results"] == []
    assert signed_in(specialist).get(f"/guidance/questions/{question.pk}/").status_code == 200


def test_another_agents_case_says_which_cases_tier2_sees(tier2, others):
    """Before: "Tier 2 sees the cases it or its Zendesk group escalated"."""
    page = signed_in(tier2).get(f"/cases/{others.pk}/summary/").content.decode()

    assert "you see the cases you escalated and those your Zendesk group escalated" in page

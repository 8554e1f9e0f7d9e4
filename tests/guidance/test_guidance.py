"""Playbooks (versions, diffs, search, inert HTML), case guidance, and questions from
Tier 2 with billing's answers, through the pages and the API."""

import pytest

from cases.models import WriteBack
from guidance import services
from guidance.models import CaseGuidance, Playbook, Question
from tests.cases.factories import make_case
from tests.conftest import api_client, signed_in

XSS = "Hello <script>alert(1)</script> and [x](javascript:alert(1)) <img src=x onerror=alert(1)>"


@pytest.fixture
def playbook(db, specialist):
    return services.playbook_save(title="Refund timing", category="refund_request",
                                  body="Refunds arrive in 5–10 business days.",
                                  author=specialist)


def test_the_demo_playbooks_cover_the_common_questions(db):
    titles = set(Playbook.objects.values_list("title", flat=True))

    assert {"How a proration appears on an invoice", "Duplicate charges",
            "When a refund arrives", "Tax and VAT questions", "Failed payment retries",
            "Cancellations"} <= titles


def test_a_playbook_with_script_and_javascript_links_renders_inert(db, specialist, tier2):
    book = services.playbook_save(title="Hostile", category="other", body=XSS,
                                  author=specialist)

    page = signed_in(tier2).get(f"/guidance/playbooks/{book.slug}/").content.decode()
    body = page[page.index('id="playbook-body"'):page.index("</article>")]
    assert "<script" not in body and "javascript:" not in body and "onerror" not in body
    assert "Hello" in body and "<a rel=\"noopener noreferrer\">x</a>" in body
    found = api_client(tier2).get("/api/v1/playbooks/", {"q": "Hostile"}).json()
    html = found["results"][0]["html"]
    assert "<script" not in html and "javascript:" not in html


def test_every_edit_keeps_a_version_and_versions_can_be_compared(playbook, specialist,
                                                                 second_specialist):
    services.playbook_save(playbook=playbook, title="Refund timing", category="refund_request",
                           body="Refunds arrive in 5–10 business days.\nSome banks are faster.",
                           author=second_specialist)

    versions = list(playbook.versions.order_by("number").values_list("number", "author__username"))
    assert versions == [(1, "specialist"), (2, "specialist2")]
    page = signed_in(specialist).get(f"/guidance/playbooks/{playbook.slug}/versions/2/")
    diff = page.content.decode()
    assert '<span class="diff-add">+Some banks are faster.</span>' in diff
    unchanged = services.playbook_save(playbook=playbook, title=playbook.title,
                                       category="refund_request",
                                       body="Refunds arrive in 5–10 business days.\n"
                                            "Some banks are faster.", author=specialist)
    assert unchanged.versions.count() == 2  # nothing changed, no new version


def test_search_looks_in_titles_and_text(playbook, tier2):
    client = signed_in(tier2)

    assert "Refund timing" in client.get("/guidance/", {"q": "business days"}).content.decode()
    assert "Refund timing" not in client.get("/guidance/", {"q": "VAT"}).content.decode()
    assert "No playbook mentions" in client.get("/guidance/", {"q": "zebra"}).content.decode()


def test_a_specialist_writes_a_playbook_from_the_page(db, specialist):
    client = signed_in(specialist)

    response = client.post("/guidance/playbooks/new/", {
        "title": "Chargebacks", "category": "other", "body": "Do not promise anything."})

    book = Playbook.objects.get(title="Chargebacks")
    assert response.status_code == 302 and response.url == f"/guidance/playbooks/{book.slug}/"
    assert client.post("/guidance/playbooks/new/", {"title": "", "category": "other",
                                                    "body": ""}).status_code == 400


@pytest.mark.django_db(transaction=True)
def test_guidance_on_a_case_starts_from_a_playbook_and_can_go_to_the_ticket(specialist, tier2,
                                                                           playbook):
    case = make_case(category="refund_request")
    client = signed_in(specialist)
    assert f'<option value="{playbook.pk}" selected>' in client.get(
        f"/cases/{case.pk}/").content.decode()

    client.post(f"/guidance/cases/{case.pk}/", {"playbook": playbook.pk, "body": "",
                                                "post_to_zendesk": "on"})

    guidance = CaseGuidance.objects.get(case=case)
    assert guidance.body == playbook.body and guidance.playbook == playbook
    assert WriteBack.objects.get(case=case).note.startswith("Guidance for Tier 2")
    summary = signed_in(tier2).get(f"/cases/{case.pk}/summary/").content.decode()
    assert "Refunds arrive in 5–10 business days." in summary


@pytest.mark.django_db(transaction=True)
def test_tier2_asks_on_a_case_and_the_answer_reaches_page_and_ticket(specialist, tier2):
    case = make_case()
    signed_in(tier2).post("/guidance/questions/ask/", {"body": "Can we promise a credit?",
                                                       "case": case.pk})
    question = Question.objects.get()
    assert question.case == case and question.is_open
    queue = signed_in(specialist).get("/guidance/questions/").content.decode()
    assert f'data-question-id="{question.pk}"' in queue and "in 1" in queue

    signed_in(specialist).post(f"/guidance/questions/{question.pk}/answer/",
                               {"answer": "No; the duplicate was refunded on the 20th."})

    summary = signed_in(tier2).get(f"/cases/{case.pk}/summary/").content.decode()
    assert "No; the duplicate was refunded on the 20th." in summary
    assert "Can we promise a credit?" in WriteBack.objects.get(case=case).note
    again = signed_in(specialist).post(f"/guidance/questions/{question.pk}/answer/",
                                       {"answer": "Twice"}, follow=True)
    assert "answered already" in again.content.decode()


def test_the_open_count_shows_in_the_specialists_navigation(db, specialist, tier2):
    services.question_ask(asker=tier2, body="Why was I charged VAT?")

    page = signed_in(specialist).get("/cases/").content.decode()

    assert 'aria-label="1 open">1</span>' in page


def test_an_answer_is_promoted_into_a_playbook(db, specialist, tier2, playbook):
    question = services.question_ask(asker=tier2, body="Do refunds reach closed cards?")
    services.question_answer(question=question, answer="Yes, the bank forwards them.",
                             answered_by=specialist)

    signed_in(specialist).post(f"/guidance/questions/{question.pk}/promote/",
                               {"playbook": playbook.pk})

    playbook.refresh_from_db()
    assert "### Do refunds reach closed cards?" in playbook.body
    assert playbook.versions.count() == 2


def test_a_question_is_seen_by_its_asker_and_specialists_only(db, specialist, tier2):
    from billing_console.access import Role
    from tests.conftest import make_user

    question = services.question_ask(asker=tier2, body="Why?")
    other_agent = make_user("agent2", Role.TIER2)

    assert signed_in(tier2).get(f"/guidance/questions/{question.pk}/").status_code == 200
    assert signed_in(specialist).get(f"/guidance/questions/{question.pk}/").status_code == 200
    assert signed_in(other_agent).get(f"/guidance/questions/{question.pk}/").status_code == 404


def test_the_api_lets_tier2_ask_and_read_and_specialists_answer(db, specialist, tier2):
    case = make_case()
    asked = api_client(tier2).post("/api/v1/questions/",
                                   {"body": "Refund date?", "case_id": case.pk}, format="json")
    assert asked.status_code == 201
    waiting = api_client(specialist).get("/api/v1/questions/open/").json()
    assert [q["id"] for q in waiting["results"]] == [asked.json()["id"]]
    assert waiting["next"] is None

    answered = api_client(specialist).post(f"/api/v1/questions/{asked.json()['id']}/answer/",
                                    {"answer": "The 20th."}, format="json")

    assert answered.status_code == 200
    guidance = api_client(tier2).get(f"/api/v1/cases/{case.pk}/guidance/").json()
    assert guidance["questions"][0]["answer"] == "The 20th."
    assert set(guidance["case"]) == {"id", "zendesk_ticket_id", "subject", "state", "category",
                                     "resolution_code", "resolution_summary"}


@pytest.mark.parametrize("method, path", [
    ("post", "/guidance/playbooks/new/"),
    ("get", "/guidance/playbooks/new/"),
    ("get", "/guidance/questions/"),
    ("post", "/guidance/questions/1/answer/"),
    ("post", "/guidance/questions/1/promote/"),
    ("post", "/guidance/cases/1/"),
    ("get", "/cases/1/stripe/"),
    ("get", "/audit/"),
    ("get", "/approvals/"),
    ("get", "/api/v1/questions/open/"),
    ("post", "/api/v1/questions/1/answer/"),
    ("post", "/api/v1/refunds/"),
    ("get", "/api/v1/audit-events/"),
])
def test_tier2_writes_nothing_but_questions_and_sees_no_billing_internals(db, tier2, method,
                                                                         path):
    response = getattr(signed_in(tier2), method)(path)

    assert response.status_code == 403, path


@pytest.mark.parametrize("path", ["/guidance/questions/ask/", "/api/v1/questions/"])
def test_only_tier2_asks(db, specialist, finance, path):
    for user in (specialist, finance):
        assert signed_in(user).post(path, {"body": "x"}).status_code == 403


def test_tier2_sees_the_billing_facts_and_the_playbook_they_point_to(sandbox, tier2,
                                                                    specialist):
    from tests.refunds.conftest import new_charge

    customer, _ = new_charge(sandbox, amount=1_600)
    new_charge(sandbox, amount=1_600, customer=customer)
    case = make_case(stripe_customer_id=customer, stripe_link="verified", category="other")

    page = signed_in(tier2).get(f"/cases/{case.pk}/summary/").content.decode()

    assert "2 charges of 16.00 USD within" in page and "likely duplicate" in page
    assert 'id="suggested-playbook">Duplicate charges</a>' in page
    assert "4242" not in page and "pm_" not in page and "visa" not in page.lower()
    facts = api_client(tier2).get(f"/api/v1/cases/{case.pk}/guidance/").json()["facts"]
    assert facts[0]["kind"] == "duplicate_charge"
    panel = signed_in(specialist).get(f"/cases/{case.pk}/stripe/").content.decode()
    assert 'id="panel-facts"' in panel and "likely duplicate" in panel


def test_stripe_being_down_is_a_message_among_the_facts(sandbox, tier2):
    from tests.refunds.conftest import new_charge

    customer, _ = new_charge(sandbox)
    case = make_case(stripe_customer_id=customer, stripe_link="verified")
    sandbox.inject(f"/v1/customers/{customer}", 500, count=20)

    page = signed_in(tier2).get(f"/cases/{case.pk}/summary/")

    assert page.status_code == 200
    assert "the billing facts cannot be shown" in page.content.decode()


def test_an_agent_sees_only_their_own_questions_on_a_case(db, tier2, specialist):
    from billing_console.access import Role
    from tests.conftest import make_user

    case = make_case()
    other = make_user("agent2", Role.TIER2)
    services.question_ask(asker=other, body="Another agent's question", case=case)
    services.question_ask(asker=tier2, body="My own question", case=case)

    page = signed_in(tier2).get(f"/cases/{case.pk}/summary/").content.decode()
    api_questions = api_client(tier2).get(f"/api/v1/cases/{case.pk}/guidance/").json()["questions"]

    assert "My own question" in page and "Another agent's question" not in page
    assert [question["body"] for question in api_questions] == ["My own question"]
    specialist_view = api_client(specialist).get(f"/api/v1/cases/{case.pk}/guidance/").json()
    assert len(specialist_view["questions"]) == 2


def test_an_answer_goes_into_a_playbook_once(db, tier2, specialist, playbook):
    from billing_console.exceptions import ApplicationError

    question = services.question_ask(asker=tier2, body="Once?")
    services.question_answer(question=question, answer="Once.", answered_by=specialist)
    services.question_promote(question=question, playbook=playbook, author=specialist)

    with pytest.raises(ApplicationError, match="in a playbook already"):
        services.question_promote(question=question, playbook=playbook, author=specialist)


def test_a_customer_stripe_does_not_know_is_said_in_stripes_words(sandbox, tier2):
    case = make_case(stripe_customer_id="cus_gone", stripe_link="verified")

    page = signed_in(tier2).get(f"/cases/{case.pk}/summary/").content.decode()

    assert "Stripe refused: No such customer" in page

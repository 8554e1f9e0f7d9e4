"""Each list of the handover: what it holds, what it leaves out, its limit, its links and
its empty state; and each list's query answered by an index."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.models import ChainVerification
from audit.services import record
from cases.models import Case, State
from cases.services import case_transition
from finance.models import Match, ReconciliationItem, ReconciliationRun
from guidance.models import Question
from handover.selectors import LIST_SIZE, Since, handover
from handover.services import handover_note_leave
from tests.cases.factories import make_case
from tests.conftest import signed_in
from tests.handover.factories import (
    approved_refund,
    failed_refund,
    linked_case,
    refund,
    rejected_refund,
)

URL = "/handover/"


def _since(at):
    return Since(at, "the time you chose")


def _page(user, since=None):
    """The page as `user` sees it: from a time typed to the minute, or, without one, from
    the end of their last shift (see `_shift_ends`)."""
    if since is None:
        record(action="auth.login", actor=user, object_type="user", object_id=user.pk)
    query = {"since": since.strftime("%Y-%m-%d %H:%M")} if since else {}
    return signed_in(user).get(URL, query).content.decode()


def _shift_ends(user):
    """`user` signs out: their shift ends now, to the microsecond."""
    return record(action="auth.logout", actor=user, object_type="user",
                  object_id=user.pk).created_at


def _section(page, section_id):
    start = page.index(f'id="{section_id}"')
    return page[start:page.index("</section>", start)]


def _minute_ago():
    """A moment, to the minute, as a person types it, just gone."""
    return (timezone.now() - timedelta(minutes=1)).replace(second=0, microsecond=0)


def _opened_at(case, at):
    Case.objects.filter(pk=case.pk).update(created_at=at)


def test_cases_opened_since_are_listed_newest_first(specialist):
    since = _minute_ago()
    old = make_case(subject="Opened last week")
    _opened_at(old, since - timedelta(days=1))
    first = make_case(subject="First new one")
    make_case(subject="Second new one")
    page = _section(_page(specialist, since), "opened")
    assert old.subject not in page
    assert page.index("Second new one") < page.index("First new one")
    assert f'href="/cases/{first.pk}/">Ticket #{first.zendesk_ticket_id}</a>' in page


def test_cases_reopened_since_are_those_that_came_back_from_resolved_or_closed(
        specialist, second_specialist):
    back_before = make_case(state=State.RESOLVED)
    case_transition(case=back_before, to_state=State.IN_PROGRESS, actor=specialist)
    since = _shift_ends(specialist)
    reopened = make_case(state=State.RESOLVED)
    case_transition(case=reopened, to_state=State.IN_PROGRESS, actor=second_specialist)
    moved_on = make_case(state=State.NEW)
    case_transition(case=moved_on, to_state=State.IN_PROGRESS, actor=second_specialist)
    rows = handover(since=_since(since), now=timezone.now()).reopened.rows
    assert [event.case_id for event in rows] == [reopened.pk]
    page = _section(_page(specialist), "reopened")
    assert f'href="/cases/{reopened.pk}/">Ticket #{reopened.zendesk_ticket_id}</a>' in page
    assert "by specialist2" in page


def test_cases_waiting_on_finance_now_are_listed_by_due_time(specialist):
    now = timezone.now()
    later = make_case(state=State.WAITING_FINANCE, resolution_due=now + timedelta(hours=9))
    sooner = make_case(state=State.WAITING_FINANCE, resolution_due=now + timedelta(hours=2))
    make_case(state=State.IN_PROGRESS)
    rows = handover(since=_since(now), now=now).waiting_on_finance.rows
    assert rows == [sooner, later]


def test_cases_due_in_the_next_four_hours_are_listed_soonest_first(specialist):
    now = timezone.now()
    in_three = make_case(resolution_due=now + timedelta(hours=3))
    in_one = make_case(resolution_due=now + timedelta(hours=1))
    make_case(resolution_due=now + timedelta(hours=5))  # later
    make_case(resolution_due=now - timedelta(hours=1))  # already breached
    make_case(state=State.RESOLVED, resolution_due=now + timedelta(hours=1))  # done
    assert handover(since=_since(now), now=now).due_soon.rows == [in_one, in_three]
    page = _section(_page(specialist, _minute_ago()), "due-soon")
    assert 'href="/cases/?sla=breached"' in page


def test_money_actions_approved_rejected_or_failed_since_are_listed(specialist, finance):
    case = linked_case()
    failed_refund(case, specialist, why="Failed before the moment.")
    since = _shift_ends(specialist)
    refund(case, specialist, state="pending_approval")  # requested only: not listed
    failed_refund(case, specialist, amount=1_234, why="The customer's card was closed.")
    approved_refund(case, specialist, finance, amount=60_000)
    rejected_refund(case, specialist, finance, amount=70_000)
    rows = handover(since=_since(since), now=timezone.now()).actions.rows
    assert [(row.label, row.event.amount) for row in rows] == [
        ("Refund rejected", 70_000), ("Refund approved", 60_000), ("Refund failed", 1_234)]
    page = _section(_page(specialist), "money-actions")
    assert "12.34 USD" in page and "The customer&#x27;s card was closed." in page
    assert "Failed before the moment." not in page
    assert f'href="/cases/{case.pk}/">Ticket #{case.zendesk_ticket_id}</a>' in page
    assert "finance" in page and "Not under policy." in page


def test_questions_answered_since_and_those_waiting(specialist, tier2):
    now = timezone.now()
    case = make_case()

    def ask(body, answered_at=None):
        return Question.objects.create(asker=tier2, case=case, body=body, created_at=now,
                                       answer_due=now + timedelta(hours=2), answer="Yes.",
                                       answered_by=specialist if answered_at else None,
                                       answered_at=answered_at)

    ask("Answered long ago?", answered_at=now - timedelta(days=2))
    answered = ask("Answered this shift?", answered_at=now - timedelta(minutes=5))
    waiting = ask("Still waiting?")
    result = handover(since=_since(now - timedelta(hours=1)), now=now)
    assert result.answered.rows == [answered]
    assert result.waiting_questions.rows == [waiting]
    page = _section(_page(specialist, _minute_ago() - timedelta(hours=1)), "questions")
    assert f'href="/guidance/questions/{waiting.pk}/">Still waiting?</a>' in page
    assert f"ticket #{case.zendesk_ticket_id}" in page


def _run():
    return ReconciliationRun.objects.create(period_start=timezone.localdate(),
                                            period_end=timezone.localdate(), status="done",
                                            days_total=1, days_done=1)


def test_finance_flags_are_unexplained_differences_and_a_broken_chain(specialist, finance):
    run, case = _run(), make_case()
    unexplained = ReconciliationItem.objects.create(
        run=run, object_type="refund", stripe_object_id="re_Handover1",
        match=Match.AMOUNTS_DIFFER, console_amount=1_000, stripe_amount=900, currency="usd",
        case_id=case.pk)
    ReconciliationItem.objects.create(
        run=run, object_type="refund", stripe_object_id="re_Handover2",
        match=Match.STRIPE_ONLY, stripe_amount=500, currency="usd", explained_by=finance,
        explained_at=timezone.now(), explanation="Made in the Dashboard by finance.")
    ChainVerification.objects.create(finished_at=timezone.now(), checked=10, broken_id=7,
                                     problem="hash mismatch")
    result = handover(since=_since(timezone.now()), now=timezone.now())
    assert [difference.item for difference in result.differences.rows] == [unexplained]
    page = _section(_page(specialist, _minute_ago()), "finance-flags")
    assert "The audit trail's chain is broken at event #7" in page
    assert "Amounts differ · console 10.00 USD · Stripe 9.00 USD" in page
    assert f'href="/cases/{case.pk}/">Ticket #{case.zendesk_ticket_id}</a>' in page
    assert "re_Handover" not in page


def test_handover_notes_left_since_are_shown_newest_first(specialist, second_specialist):
    handover_note_leave(author=specialist, body="Before the moment.")
    since = timezone.now()
    handover_note_leave(author=specialist, body="Ticket #41 waits on the customer's bank.")
    handover_note_leave(author=second_specialist, body="Finance knows about the duplicate.")
    rows = handover(since=_since(since), now=timezone.now()).notes.rows
    assert [note.body for note in rows] == ["Finance knows about the duplicate.",
                                            "Ticket #41 waits on the customer's bank."]


def test_every_list_says_when_it_is_empty(specialist):
    page = _page(specialist, _minute_ago())
    for words in ("No handover note since then.", "No case opened since then.",
                  "No case reopened since then.", "No case is waiting on finance.",
                  "No open case falls due in the next 4 hours.",
                  "No money action was approved, rejected or failed since then.",
                  "No question answered since then.", "No question is waiting for an answer.",
                  "No reconciliation difference is waiting for an explanation.",
                  "The audit trail's chain has not been checked yet."):
        assert words in page


def test_a_list_shows_at_most_its_size_and_links_to_the_whole_list(specialist):
    now = timezone.now()
    for hours in range(LIST_SIZE + 1):
        make_case(state=State.WAITING_FINANCE, resolution_due=now + timedelta(hours=hours))
    result = handover(since=_since(now), now=now)
    assert len(result.waiting_on_finance.rows) == LIST_SIZE and result.waiting_on_finance.more
    page = _section(_page(specialist, _minute_ago()), "waiting-on-finance")
    assert page.count("data-case-id=") == LIST_SIZE
    assert f"The {LIST_SIZE} due first" in page
    assert 'href="/cases/?state=waiting_finance"' in page


def test_the_page_reads_the_same_number_of_queries_however_much_there_is(
        specialist, finance, django_assert_max_num_queries):
    since = _minute_ago()
    client = signed_in(specialist)
    with CaptureQueriesContext(connection) as empty:
        client.get(URL, {"since": since.strftime("%Y-%m-%d %H:%M")})
    case = linked_case(state=State.WAITING_FINANCE)
    for _ in range(3):
        make_case(resolution_due=timezone.now() + timedelta(hours=1))
        failed_refund(case, specialist)
        handover_note_leave(author=finance, body="A note.")
    with django_assert_max_num_queries(len(empty.captured_queries)):
        client.get(URL, {"since": since.strftime("%Y-%m-%d %H:%M")})


HANDOVER_TABLES = ("cases_case", "audit_auditevent", "guidance_question",
                   "handover_handovernote")


@pytest.mark.postgres
def test_each_list_is_answered_by_an_index(specialist):
    if connection.vendor != "postgresql":
        pytest.skip("these plans are PostgreSQL's; set DATABASE_URL to run this")
    since = Since(timezone.now() - timedelta(hours=8), "the time you chose")
    handover_note_leave(author=specialist, body="Makes the trail hold an event since.")
    with CaptureQueriesContext(connection) as queries:
        handover(since=since, now=timezone.now())
    with connection.cursor() as cursor:
        # A handful of rows is cheaper to scan; the plans must still show an index applies.
        cursor.execute("SET LOCAL enable_seqscan = off")
        for query in queries.captured_queries:
            if not any(f'"{table}"' in query["sql"] for table in HANDOVER_TABLES):
                continue
            cursor.execute(f"EXPLAIN {query['sql']}")
            plan = "\n".join(row for row, in cursor.fetchall())
            scanned = [table for table in HANDOVER_TABLES if f"Seq Scan on {table}" in plan]
            assert not scanned, f"{query['sql']}\n{plan}"


def test_a_money_action_the_policy_approved_is_listed_as_the_policys(specialist):
    case = linked_case()
    since = _shift_ends(specialist)
    action = refund(case, specialist, state="approved", amount=4_200)
    record(action="refund.auto_approved", actor=None, actor_role="policy",
           object_type="money_action", object_id=str(action.pk), amount=4_200,
           currency="usd", case_id=case.pk, zendesk_ticket_id=case.zendesk_ticket_id)
    rows = handover(since=_since(since), now=timezone.now()).actions.rows
    assert [(row.label, row.event.amount) for row in rows] == [
        ("Refund approved by the policy", 4_200)]


def test_the_handover_names_people_the_policy_and_the_console_not_usernames(
        specialist, finance):
    """Before: finance's username as who decided, "the console" for the money policy's own
    approval, and a note's author by username."""
    for user, first, last in ((specialist, "Sam", "Specialist"), (finance, "Fin", "Ance")):
        user.first_name, user.last_name = first, last
        user.save()
    case = linked_case()
    since = _shift_ends(specialist)
    rejected_refund(case, specialist, finance, amount=70_000)
    failed_refund(case, specialist, amount=1_234, why="The customer's card was closed.")
    action = refund(case, specialist, state="approved", amount=4_200)
    record(action="refund.auto_approved", actor=None, actor_role="policy",
           object_type="money_action", object_id=str(action.pk), amount=4_200,
           currency="usd", case_id=case.pk, zendesk_ticket_id=case.zendesk_ticket_id)
    handover_note_leave(author=specialist, body="Ticket #41 waits on the customer's bank.")

    rows = handover(since=_since(since), now=timezone.now()).actions.rows
    page = _page(specialist, since=_minute_ago())

    assert [row.by for row in rows] == ["Money policy", "Billing Console", "Fin Ance"]
    assert "<strong>Sam Specialist</strong>" in _section(page, "notes")
    assert ">finance<" not in _section(page, "money-actions")

"""A plan change reads as people think of it, both its sides ("Console Team monthly × 5 →
Console Pro annual × 3"), wherever it is read after its preview: the approvals page, the
audit trail and an event's page, the case's timeline and money actions, the ticket's note
and the handover."""

import html
import re
from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from audit.services import record
from billing_console.integrations.stripe.sandbox.builders import subscribe
from cases.models import CaseEvent, WriteBack
from guidance.services import question_ask
from handover.selectors import Since, handover
from money_actions import tasks
from money_actions.models import MoneyAction, State
from money_actions.selectors import stuck_after
from money_actions.services import money_action_approve
from tests.conftest import api_client
from tests.credit_memos.conftest import post_memo
from tests.refunds.conftest import signed_in

pytestmark = pytest.mark.django_db(transaction=True)
CHANGE = "Console Team monthly × 5 → Console Pro annual × 3"


@pytest.fixture
def pending(sandbox, customer, case, specialist):
    """Console Team monthly × 5 moving to Console Pro annual × 3, waiting for finance: the
    new interval invoices the year now, less the unused month, 1,375.00 USD taken, above
    the limit for taking."""
    team = sandbox.client.v1.products.create(params={"name": "Console Team"})
    pro = sandbox.client.v1.products.create(params={"name": "Console Pro"})
    monthly = sandbox.client.v1.prices.create(params={
        "product": team.id, "unit_amount": 1_900, "currency": "usd",
        "recurring": {"interval": "month"}})
    annual = sandbox.client.v1.prices.create(params={
        "product": pro.id, "unit_amount": 49_000, "currency": "usd",
        "recurring": {"interval": "year"}})
    subscription = subscribe(sandbox.client, customer=customer.id, price=monthly.id,
                             quantity=5)
    created = post_memo(specialist, {
        "case_id": case.pk, "subscription_id": subscription.id, "kind": "subscription_change",
        "item_id": subscription["items"].data[0].id, "price_id": annual.id, "quantity": 3,
        "proration_behavior": "create_prorations", "reason_code": "courtesy",
        "note": "Moving to the annual plan."}, "/api/v1/subscription-changes/")
    assert created.status_code == 201, created.json()
    action = MoneyAction.objects.get(pk=created.json()["id"])
    assert (action.state, action.amount) == (State.PENDING_APPROVAL, 137_500)
    assert [verdict["rule"] for verdict in action.policy_verdicts] == ["take_limit"]
    return action


def shown(page, element_id):
    """The visible text of the element with `element_id`, spaces collapsed."""
    found = re.search(rf'id="{element_id}"[^>]*>(.*?)</(?:li|p)>', page, re.S).group(1)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", found)).split())


def test_finance_and_the_audit_trail_read_a_plan_change_as_both_its_sides(pending, finance):
    named = f"Plan change: customer pays 1,375.00 USD now ({CHANGE})"
    client = signed_in(finance)

    approvals = client.get("/approvals/").content.decode()
    assert shown(approvals, f"approval-{pending.pk}").startswith(named)

    requested = AuditEvent.objects.get(object_id=str(pending.pk),
                                       action="subscription_change.requested")
    event = html.unescape(client.get(f"/audit/{requested.pk}/").content.decode())
    assert f"<dt>About</dt><dd>{named}</dd>" in event
    assert shown(event, "approval").startswith(f"{named}, requested by")
    trail = html.unescape(client.get("/audit/?kind=subscription_change").content.decode())
    assert named in trail
    assert "the subscription to Console Team monthly × 5" not in approvals + event + trail


def test_the_timeline_the_ticket_note_and_the_handover_read_it_the_same_way(
        pending, finance, specialist, eager_tasks):
    since = record(action="auth.logout", actor=specialist, object_type="user",
                   object_id=specialist.pk).created_at
    named = f"Plan change: customer pays 1,375.00 USD now ({CHANGE})"

    signed_in(finance).post(f"/approvals/{pending.pk}/approve/",
                            {"note": "Fine.", "amount": pending.amount})

    pending.refresh_from_db()
    assert pending.state == State.SUCCEEDED
    timeline = list(CaseEvent.objects.filter(case=pending.case, kind=CaseEvent.Kind.MONEY)
                    .order_by("created_at", "id").values_list("body", flat=True))
    assert timeline[0] == f"{named} requested; waiting for approval."
    assert timeline[-1] == f"{named} succeeded."
    [note] = WriteBack.objects.filter(case=pending.case, add_tags=["billing_plan_changed"])
    assert note.note == (f"Plan changed: {CHANGE}, its first period invoiced now, less the "
                         "unused time (courtesy).")
    rows = handover(since=Since(since, "the time you chose"),
                    now=timezone.now() + timedelta(seconds=1)).actions.rows
    assert [(row.label, row.about) for row in rows] == [("Plan change approved", named)]
    case_page = html.unescape(signed_in(specialist).get(
        f"/cases/{pending.case_id}/").content.decode())
    assert named in case_page


def named(action):
    return f"Plan change: customer pays {action.amount / 100:,.2f} USD now ({CHANGE})"


def test_a_plan_change_stuck_on_its_way_reads_as_both_sides_wherever_it_is_listed(
        pending, finance, specialist):
    with mock.patch.object(tasks.submit_money_action, "delay"):
        money_action_approve(action_id=pending.pk, actor=finance, note="Fine.")
    MoneyAction.objects.filter(pk=pending.pk).update(
        updated_at=timezone.now() - stuck_after() - timedelta(minutes=1))

    approvals = html.unescape(signed_in(finance).get("/approvals/").content.decode())
    handover_page = html.unescape(signed_in(specialist).get("/handover/").content.decode())
    case_page = html.unescape(signed_in(specialist).get(
        f"/cases/{pending.case_id}/").content.decode())
    listed = api_client(specialist).get("/api/v1/handover/").json()["money_actions_stuck"]

    assert shown(approvals, f"stuck-{pending.pk}").startswith(f"{named(pending)} · Ticket #")
    assert shown(handover_page, f"stuck-{pending.pk}").startswith(
        f"Ticket #{pending.case.zendesk_ticket_id} · {named(pending)} · Approved since")
    case_action = case_page[case_page.index(f'id="stuck-{pending.pk}"') - 600:]
    assert f"<strong>{named(pending)}</strong>" in case_action
    assert [row["name"] for row in listed["rows"]] == [named(pending)]


def test_a_decision_on_a_plan_change_reads_as_both_sides_on_the_case(pending, finance):
    signed_in(finance).post(f"/approvals/{pending.pk}/reject/", {"note": "Not this year."})

    timeline = list(CaseEvent.objects.filter(case=pending.case).order_by("created_at", "id")
                    .values_list("body", flat=True))
    assert timeline[-2].startswith(f"{named(pending)} rejected by ")
    assert timeline[-2].endswith(": Not this year.")
    assert timeline[-1] == f"Waiting on finance → New: {named(pending)} rejected"


def test_a_plan_change_withdrawn_reads_as_both_sides(pending, specialist):
    response = signed_in(specialist).post(f"/approvals/{pending.pk}/withdraw/",
                                          follow=True)

    assert f"{named(pending)} withdrawn; nothing was sent to Stripe" in html.unescape(
        response.content.decode())
    assert CaseEvent.objects.filter(
        case=pending.case, body__startswith=f"{named(pending)} withdrawn by ").exists()


def test_a_case_waiting_for_a_plan_change_says_which(pending, specialist):
    waits = CaseEvent.objects.filter(case=pending.case, kind=CaseEvent.Kind.STATE).last()
    note = WriteBack.objects.get(case=pending.case, zendesk_status="hold").note

    refused = api_client(specialist).post(f"/api/v1/cases/{pending.case_id}/resolve/", {
        "resolution_code": "subscription_changed", "summary": "Moved to annual."},
        format="json")

    assert waits.body.endswith(f": {named(pending)} waits for approval")
    assert note.endswith(f"approval of a plan change: customer pays "
                         f"{pending.amount / 100:,.2f} USD now ({CHANGE}).")
    assert refused.json()["message"].startswith(
        f"A plan change: customer pays {pending.amount / 100:,.2f} USD now ({CHANGE}) waits "
        "for finance;")


def test_a_question_on_the_case_lists_the_plan_change_by_both_sides(pending, tier2,
                                                                    specialist):
    asked = question_ask(asker=tier2, case=pending.case, body="Is the annual plan cheaper?")

    page = html.unescape(signed_in(specialist).get(
        f"/guidance/questions/{asked.pk}/").content.decode())

    assert f"<li>{named(pending)} · " in page


def test_the_resolution_drafted_after_a_plan_change_names_both_sides(
        pending, finance, specialist, eager_tasks):
    money_action_approve(action_id=pending.pk, actor=finance, note="Fine.")

    page = html.unescape(signed_in(specialist).get(
        f"/cases/{pending.case_id}/").content.decode())

    assert f">\n{named(pending)}. Moving to the annual plan.</textarea>" in page

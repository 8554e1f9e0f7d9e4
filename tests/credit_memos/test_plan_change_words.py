"""A plan change reads as people think of it, both its sides ("Console Team monthly × 5 →
Console Pro annual × 3"), wherever it is read after its preview: the approvals page, the
audit trail and an event's page, the case's timeline and money actions, the ticket's note
and the handover."""

import html
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from audit.services import record
from billing_console.integrations.stripe.sandbox.builders import subscribe
from cases.models import CaseEvent, WriteBack
from handover.selectors import Since, handover
from money_actions.models import CurrencyLimit, MoneyAction, State
from tests.credit_memos.conftest import post_memo
from tests.refunds.conftest import signed_in

pytestmark = pytest.mark.django_db(transaction=True)
CHANGE = "Console Team monthly × 5 → Console Pro annual × 3"


@pytest.fixture
def pending(sandbox, customer, case, specialist):
    """Console Team monthly × 5 moving to Console Pro annual × 3, waiting for finance: every
    credit needs approval."""
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
    CurrencyLimit.objects.filter(currency="usd").update(auto_approve_limit=0)
    created = post_memo(specialist, {
        "case_id": case.pk, "subscription_id": subscription.id, "kind": "subscription_change",
        "item_id": subscription["items"].data[0].id, "price_id": annual.id, "quantity": 3,
        "proration_behavior": "create_prorations", "reason_code": "courtesy",
        "note": "Moving to the annual plan."}, "/api/v1/subscription-changes/")
    assert created.status_code == 201, created.json()
    action = MoneyAction.objects.get(pk=created.json()["id"])
    assert action.state == State.PENDING_APPROVAL
    return action


def shown(page, element_id):
    """The visible text of the element with `element_id`, spaces collapsed."""
    found = re.search(rf'id="{element_id}"[^>]*>(.*?)</(?:li|p)>', page, re.S).group(1)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", found)).split())


def test_finance_and_the_audit_trail_read_a_plan_change_as_both_its_sides(pending, finance):
    named = f"Plan change of {pending.amount / 100:,.2f} USD ({CHANGE})"
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
    named = f"Plan change of {pending.amount / 100:,.2f} USD ({CHANGE})"

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

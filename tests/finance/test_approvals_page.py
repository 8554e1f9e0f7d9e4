"""The approvals page: what waits and why, deciding from it, flags, and who may open it."""

import pytest

from audit.models import AuditEvent
from money_actions.models import MoneyAction, State
from tests.refunds.conftest import api_client, refunds_created, signed_in


def test_finance_sees_what_waits_and_the_rule_that_sent_it(pending, finance):
    page = signed_in(finance).get("/approvals/").content.decode()

    assert f'id="approval-{pending.pk}"' in page
    assert "Fraud: Money given back for fraud always needs approval." in page
    assert pending.note in page and "40.00 USD" in page
    assert f'/approvals/{pending.pk}/approve/' in page


def test_the_page_says_when_nothing_waits(finance):
    page = signed_in(finance).get("/approvals/").content.decode()

    assert "Nothing waiting for approval" in page


@pytest.mark.django_db(transaction=True)
def test_finance_approves_from_the_page_and_stripe_refunds(pending, finance, sandbox,
                                                           eager_tasks):
    response = signed_in(finance).post(f"/approvals/{pending.pk}/approve/",
                                       {"note": "Checked with the customer."}, follow=True)

    assert "approved; it is on its way to Stripe" in response.content.decode()
    pending.refresh_from_db()
    assert pending.state == State.SUCCEEDED and pending.approved_by == finance
    assert len(refunds_created(sandbox)) == 1
    assert "approved by finance" in pending.case.events.filter(kind="money")[1].body


def test_a_rejection_without_a_note_is_refused_with_a_message(pending, finance):
    response = signed_in(finance).post(f"/approvals/{pending.pk}/reject/", {"note": ""},
                                       follow=True)

    assert "A note is required." in response.content.decode()
    assert MoneyAction.objects.get(pk=pending.pk).state == State.PENDING_APPROVAL


def test_own_requests_show_no_decision_and_a_forged_one_is_refused(charged, sandbox):
    from billing_console.access import Role
    from tests.conftest import make_user
    from tests.refunds.conftest import post_refund, refund_body

    case, charge_id = charged
    both = make_user("maker-checker", Role.SPECIALIST, Role.FINANCE)
    action_id = post_refund(both, refund_body(case, charge_id, stripe_reason="fraudulent")
                            ).json()["id"]
    client = signed_in(both)

    assert "someone else must decide on it" in client.get("/approvals/").content.decode()
    response = client.post(f"/approvals/{action_id}/approve/", follow=True)
    assert "You cannot decide on your own request" in response.content.decode()
    assert MoneyAction.objects.get(pk=action_id).state == State.PENDING_APPROVAL


@pytest.mark.parametrize("role", ["specialist", "tier2"])
def test_only_approvers_reach_the_approvals_page(pending, request, role):
    client = signed_in(request.getfixturevalue(role))

    assert client.get("/approvals/").status_code == 403
    assert client.post(f"/approvals/{pending.pk}/approve/").status_code == 403


def test_a_flagged_refund_shows_until_finance_says_what_was_done(pending, finance):
    MoneyAction.objects.filter(pk=pending.pk).update(
        state=State.FAILED, finance_flag="Refund of 40.00 USD failed after it had succeeded.")
    client = signed_in(finance)
    assert f'id="flag-{pending.pk}"' in client.get("/approvals/").content.decode()

    refused = client.post(f"/approvals/{pending.pk}/handled/", {"note": ""}, follow=True)
    assert "A note is required." in refused.content.decode()
    client.post(f"/approvals/{pending.pk}/handled/", {"note": "Paid by bank transfer."})

    assert f'id="flag-{pending.pk}"' not in client.get("/approvals/").content.decode()
    cleared = AuditEvent.objects.get(action="refund.flag_cleared")
    assert (cleared.actor_username, cleared.reason) == ("finance", "Paid by bank transfer.")
    assert pending.case.events.filter(body__contains="Paid by bank transfer.").exists()
    # The name inside the sentence keeps its currency's capitals ("usd" before).
    assert pending.case.events.filter(
        body__contains=f"on the refund of 40.00 USD on {pending.target_name}: Paid by bank "
                       "transfer.").exists()


def test_finance_sees_the_customers_recent_history_beside_each_request(pending, finance,
                                                                      specialist):
    from tests.refunds.conftest import post_refund, refund_body

    earlier = post_refund(specialist, refund_body(pending.case, pending.stripe_target_id,
                                                  amount=1_200)).json()

    page = signed_in(finance).get("/approvals/").content.decode()

    history = page[page.index(f'id="approval-{pending.pk}"'):]
    assert "1 other action" in history
    assert "Refund of 12.00 USD" in history and State(earlier["state"]).label in history


def test_an_amount_changed_after_finance_looked_is_not_approved_unseen(pending, finance,
                                                                       specialist):
    page = signed_in(finance).get("/approvals/").content.decode()
    assert 'name="amount" value="4000"' in page
    api_client(specialist).post(f"/api/v1/refunds/{pending.pk}/amount/", {"amount": 9_000},
                                format="json")

    response = signed_in(finance).post(f"/approvals/{pending.pk}/approve/",
                                       {"note": "ok", "amount": 4_000}, follow=True)
    api = api_client(finance).post(f"/api/v1/money-actions/{pending.pk}/approve/",
                                   {"amount": 4_000}, format="json")

    assert "The amount is now 90.00 USD, not what you saw" in response.content.decode()
    assert api.status_code == 409 and api.json()["code"] == "amount_changed"
    assert MoneyAction.objects.get(pk=pending.pk).state == State.PENDING_APPROVAL


@pytest.mark.parametrize("decision,form", [
    ("approve", {"note": "x" * 5_001, "amount": "999"}),
    ("approve", {"note": "Checked.", "amount": "-1"}),
    ("reject", {"note": "x" * 5_001}),
])
def test_a_decision_on_a_form_that_does_not_hold_decides_nothing(pending, finance, decision,
                                                                 form):
    response = signed_in(finance).post(f"/approvals/{pending.pk}/{decision}/", form,
                                       follow=True)

    assert "Nothing was decided" in response.content.decode()
    pending.refresh_from_db()
    assert pending.state == State.PENDING_APPROVAL and pending.decided_at is None

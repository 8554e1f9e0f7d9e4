"""A kind of money action is one object in the registry, declared by the module that owns
it: a new kind, declared here and nowhere else, runs through the whole mechanism (policy,
approval, submission, ledger, audit, the ticket's note) with no migration."""

import io

import pytest
from django.core.management import call_command
from django.db import transaction

from audit.models import AuditEvent
from billing_console.integrations.stripe import gateway
from cases.models import StripeLink
from credit_memos.selectors import read_customer
from money_actions import kinds
from money_actions.executors import UNCHANGED, Outcome
from money_actions.kinds import ActionKind, Event, Family
from money_actions.ledger import balance_transaction_fact, customer_given_back
from money_actions.models import LedgerEntry, MoneyAction, State
from money_actions.policy import verdicts_for
from money_actions.services import lock_target, money_action_request
from tests.cases.factories import make_case


class GoodwillExecutor:
    """A balance credit with a note of its own: the whole of a kind but its declaration."""

    success_tags = ("billing_goodwill",)

    def refresh(self, action):
        return UNCHANGED

    def submit(self, action):
        transaction = gateway.create_balance_transaction(
            customer_id=action.stripe_target_id, amount=-action.amount,
            currency=action.currency, idempotency_key=action.idempotency_key,
            description="Goodwill", metadata=GOODWILL.metadata(action))
        return Outcome(State.SUCCEEDED, stripe_object_id=transaction.id,
                       ledger=(balance_transaction_fact(transaction),))

    def find(self, action):
        return None

    def success_note(self, action):
        return f"Goodwill credit {action.stripe_object_id}."


GOODWILL = ActionKind(
    slug="goodwill_credit", label="Goodwill credit", family=Family.GIVES_BACK,
    executor=GoodwillExecutor(), read_target=read_customer, target_noun="customer",
    ledger_type="balance_transaction", ledger_variant="goodwill")


@pytest.fixture
def goodwill():
    kinds.register(GOODWILL)
    yield GOODWILL
    kinds.unregister(GOODWILL.slug)


@pytest.mark.django_db(transaction=True)
def test_a_kind_declared_in_one_module_runs_the_whole_mechanism(
        goodwill, sandbox, specialist, refund_policy, eager_tasks):
    customer = sandbox.client.v1.customers.create(params={"email": "ada@example.com"})
    case = make_case(stripe_customer_id=customer.id, stripe_link=StripeLink.VERIFIED)
    verdicts = verdicts_for(family=goodwill.family, amount=1_500, currency="usd",
                            customer_id=customer.id, requester=specialist)
    with transaction.atomic():
        lock_target(customer.id, customer_id=customer.id)
        action = money_action_request(
            kind=goodwill, case=case, stripe_customer_id=customer.id,
            stripe_target_id=customer.id, amount=1_500, currency="usd", params={},
            reason_code="courtesy", note="Sorry for the wait.", verdicts=verdicts,
            actor=specialist)

    action = MoneyAction.objects.get(pk=action.pk)
    assert (action.kind, action.state) == ("goodwill_credit", State.SUCCEEDED)
    assert action.idempotency_key == f"console-goodwill_credit-{action.pk}"
    trail = set(AuditEvent.objects.filter(object_id=str(action.pk))
                .values_list("action", flat=True))
    assert trail == {goodwill.audit_action(event) for event in (
        Event.REQUESTED, Event.AUTO_APPROVED, Event.SUBMITTED, Event.SUCCEEDED)}
    entry = LedgerEntry.objects.get(money_action=action)
    assert (entry.entry_type, entry.given_back) == ("balance_transaction", 1_500)
    assert customer_given_back(customer.id, "usd", 30) == 1_500
    assert case.write_backs.filter(note__contains="Goodwill credit").exists()


@pytest.mark.django_db
def test_a_new_kind_needs_no_migration(goodwill):
    out = io.StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)

    assert "No changes detected" in out.getvalue()


def test_a_slug_is_declared_once():
    with pytest.raises(ValueError, match="already registered"):
        kinds.register(ActionKind(slug="refund", label="Another refund",
                                  family=Family.GIVES_BACK, executor=None,
                                  read_target=None, target_noun="charge"))


def test_a_request_names_its_action_whatever_the_kind():
    action_id = "0f8fad5b-d9cb-469f-a165-70867728950e"

    assert str(kinds.action_id_from_key(f"console-refund-{action_id}")) == action_id
    assert str(kinds.action_id_from_key(f"console-invoice_edit-{action_id}-add-0")) == \
        action_id
    assert kinds.action_id_from_key(f"other-refund-{action_id}") is None
    assert kinds.action_id_from_key(None) is None

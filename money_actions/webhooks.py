"""Stripe's webhooks about money, as the inbox hands them over: each object an event names
is read again from Stripe (the payload is not trusted), kept in the ledger once per Stripe
id, attributed to the money action that caused it, and settles that action where its kind
says the event does (`ActionKind.settling_events`).

Attribution, in order: the object's metadata; the idempotency key of the request behind
the event (a credit note's refund carries no metadata, but Stripe names the console's
request that made it); otherwise it was made outside the console.

Registered when the app loads (`MoneyActionsConfig.ready`); every handler is safe to run
twice.
"""

from audit.models import Source
from billing_console.integrations import inbox
from billing_console.integrations.stripe import gateway
from money_actions import ledger
from money_actions.kinds import KEY_PREFIX, action_id_from_key, kind_of
from money_actions.models import LedgerEntry, MoneyAction, State
from money_actions.services import money_action_flag_for_finance, money_action_record_outcome

WEBHOOK = LedgerEntry.Learnt.WEBHOOK
# Stripe's events for refunds: `charge.refund.updated` is the only one that carries a
# card refund's failure on API versions before 2024-10-28.acacia.
REFUND_EVENTS = ("refund.created", "refund.updated", "refund.failed", "charge.refund.updated")
CREDIT_NOTE_EVENTS = ("credit_note.created", "credit_note.updated", "credit_note.voided")
INVOICE_STATUS_EVENTS = {"invoice.voided": "void", "invoice.marked_uncollectible": "uncollectible"}
DISPUTE_EVENTS = ("charge.dispute.created", "charge.dispute.updated", "charge.dispute.closed")
# Balance transactions that are adjustments (the rest is Stripe applying the balance to
# invoices, which moves no money of its own).
ADJUSTMENT_TYPES = ("adjustment", "credit_note")
SUBSCRIPTION_EVENTS = {"customer.subscription.updated": "subscription_change",
                       "customer.subscription.deleted": "subscription_cancel"}


def _object_id(payload):
    obj = ((payload or {}).get("data") or {}).get("object") or {}
    object_id = obj.get("id")
    return object_id if isinstance(object_id, str) and object_id else None


def _request(payload):
    return (payload or {}).get("request") or {}


def _request_action(payload):
    """The money action whose request caused the event, named by its idempotency key."""
    return action_id_from_key(_request(payload).get("idempotency_key"))


@inbox.handles("stripe", *REFUND_EVENTS)
def on_refund(event):
    refund_id = _object_id(event.payload)
    if refund_id:
        refund = gateway.get_refund(refund_id=refund_id)
        record_refund(refund, event)


@inbox.handles("stripe", "charge.refunded")
def on_charge_refunded(event):
    charge_id = _object_id(event.payload)
    if charge_id:
        charge = gateway.get_charge(charge_id=charge_id)
        for refund in charge.refunds:
            record_refund(refund, event, customer=charge.customer)


def record_refund(refund, event, *, customer=None):
    """Keep the refund; settle the refund action it is, if the console made it."""
    if customer is None:
        customer = gateway.get_charge(charge_id=refund.charge).customer if refund.charge else ""
    entry = ledger.ledger_record(ledger.refund_fact(refund, customer=customer),
                                 learnt_from=WEBHOOK, action_id=_request_action(event.payload))
    _settle(entry, event, refund)


@inbox.handles("stripe", *CREDIT_NOTE_EVENTS)
def on_credit_note(event):
    note_id = _object_id(event.payload)
    if not note_id:
        return
    note = gateway.get_credit_note(credit_note_id=note_id)
    refunds = [gateway.get_refund(refund_id=refund_id) for refund_id in note.refunds]
    for fact in ledger.credit_note_facts(note, refunds=refunds):
        ledger.ledger_record(fact, learnt_from=WEBHOOK, action_id=_request_action(event.payload))


@inbox.handles("stripe", *INVOICE_STATUS_EVENTS)
def on_invoice_status(event):
    invoice_id = _object_id(event.payload)
    if not invoice_id:
        return
    invoice = gateway.get_invoice(invoice_id=invoice_id)
    status = INVOICE_STATUS_EVENTS[event.event_type]
    given_up = ((event.payload.get("data") or {}).get("object") or {}).get("amount_remaining")
    # What the invoice let go of is what it still asked for at the change: Stripe's
    # invoice now shows nothing remaining, so the event's own figure is kept.
    fact = ledger.invoice_status_fact(invoice, status, at=event.payload.get("created") or
                                      invoice.created,
                                      amount=given_up if isinstance(given_up, int) else 0)
    ledger.ledger_record(fact, learnt_from=WEBHOOK, action_id=_request_action(event.payload))


@inbox.handles("stripe", "customer.updated")
def on_customer_updated(event):
    """A balance moved: its newest adjustments are kept (Stripe has no event of its own
    for a customer balance transaction)."""
    before = (event.payload.get("data") or {}).get("previous_attributes") or {}
    customer_id = _object_id(event.payload)
    if "balance" not in before or not customer_id:
        return
    for transaction in gateway.list_balance_transactions(customer_id=customer_id).items:
        if transaction.type in ADJUSTMENT_TYPES:
            ledger.ledger_record(ledger.balance_transaction_fact(transaction),
                                 learnt_from=WEBHOOK,
                                 action_id=_request_action(event.payload))


@inbox.handles("stripe", *DISPUTE_EVENTS)
def on_dispute(event):
    dispute_id = _object_id(event.payload)
    if dispute_id:
        dispute = gateway.get_dispute(dispute_id=dispute_id)
        customer = gateway.get_charge(charge_id=dispute.charge).customer
        ledger.ledger_record(ledger.dispute_fact(dispute, customer=customer),
                             learnt_from=WEBHOOK)


@inbox.handles("stripe", *SUBSCRIPTION_EVENTS)
def on_subscription_changed(event):
    """A plan changed or canceled by a request outside the console: audited, not money.
    Renewals and Stripe's own changes name no request and are left alone."""
    request = _request(event.payload)
    if not request.get("id") or (request.get("idempotency_key") or "").startswith(KEY_PREFIX):
        return
    subscription_id = _object_id(event.payload)
    if subscription_id:
        subscription = gateway.get_subscription(subscription_id=subscription_id)
        ledger.record_outside_change(
            kind=kind_of(SUBSCRIPTION_EVENTS[event.event_type]), event_id=event.event_id,
            stripe_id=subscription.id, customer=subscription.customer,
            status=subscription.status)


def _settle(entry, event, stripe_object):
    """The event settles the action the entry belongs to, where its kind says so."""
    action = MoneyAction.objects.filter(pk=entry.money_action_id).first() \
        if entry.money_action_id else None
    if action is None:
        return
    kind = action.kind_def
    if event.event_type in kind.settling_events and kind.ledger_type == entry.entry_type:
        money_action_record_outcome(action_id=action.pk,
                                    outcome=kind.executor.settle(action, stripe_object),
                                    source=Source.STRIPE, learnt_from=WEBHOOK)
    elif entry.status in ("failed", "canceled") and action.state == State.SUCCEEDED:
        # The refund that carried out another action (a credit memo's) gave nothing back.
        money_action_flag_for_finance(
            action_id=action.pk,
            reason=f"Refund {entry.stripe_id}, which paid out this {kind.label.lower()}, "
                   f"{entry.status}: the customer did not get the money back.")


"""Stripe's webhooks about money, as the inbox hands them over: each object an event names
is read again from Stripe (the payload is not trusted), kept in the ledger once per Stripe
id, attributed to the money action that caused it, and settles that action where its kind
says the event does (`ActionKind.settling_events`).

Attribution, in order: the object's metadata; the idempotency key of the request behind
the event, when the event is about the object that request made (a credit note's refund
carries no metadata, but its `refund.created` names the console's request); otherwise it
was made outside the console. An event about something else (a charge's `charge.refunded`
lists every refund of the charge, a customer's `customer.updated` every balance
transaction) attributes nothing by its request: each refund and balance transaction is
kept as its own object says, and a refund it does not name is left to its own
`refund.created`.

Registered when the app loads (`MoneyActionsConfig.ready`); every handler is safe to run
twice.
"""

from dataclasses import replace

from audit.models import Source
from billing_console.integrations import inbox
from billing_console.integrations.stripe import gateway
from billing_console.names import in_sentence, plan_changes_name, stripe_status
from money_actions import ledger
from money_actions.kinds import KEY_PREFIX, action_id_from_key, all_kinds, kind_of
from money_actions.models import LedgerEntry, MoneyAction, State
from money_actions.services import money_action_flag_for_finance, money_action_record_outcome

WEBHOOK = LedgerEntry.Learnt.WEBHOOK
# Stripe's events for refunds: `charge.refund.updated` is the only one that carries a
# card refund's failure on API versions before 2024-10-28.acacia.
REFUND_EVENTS = ("refund.created", "refund.updated", "refund.failed", "charge.refund.updated")
CREDIT_NOTE_EVENTS = ("credit_note.created", "credit_note.updated", "credit_note.voided")
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
    """Every refund of the charge, each as its own object says. The request behind the
    event made at most one of them: a refund with no metadata is the requesting credit
    memo's only if the memo's credit note lists it."""
    charge_id = _object_id(event.payload)
    if not charge_id:
        return
    charge = gateway.get_charge(charge_id=charge_id)
    requested = MoneyAction.objects.filter(pk=_request_action(event.payload)).first()
    known = set(LedgerEntry.objects.filter(entry_type=LedgerEntry.Type.REFUND,
                                           parent_id=charge.id)
                .values_list("stripe_id", flat=True))
    for refund in charge.refunds:
        fact = ledger.refund_fact(refund, customer=charge.customer)
        if refund.id in known or fact.money_action_id:
            _keep_refund(fact, refund, event, action_id=None)
        elif not _makes_credit_notes(requested):
            _keep_refund(_as_a_credit_notes(fact, refund), refund, event, action_id=None)
        elif requested.stripe_object_id:
            note = gateway.get_credit_note(credit_note_id=requested.stripe_object_id)
            if refund.id in note.refunds:
                fact = replace(fact, settles=note.id)
            _keep_refund(fact, refund, event,
                         action_id=requested.pk if fact.settles else None)
        # Otherwise the memo's own outcome, not yet recorded, keeps the refund it made.


def _makes_credit_notes(action):
    return action is not None and \
        action.kind_def.ledger_type == LedgerEntry.Type.CREDIT_NOTE


def record_refund(refund, event):
    """Keep the refund the event is about; settle the refund action it is, if the console
    made it."""
    customer = gateway.get_charge(charge_id=refund.charge).customer if refund.charge else ""
    action_id = _request_action(event.payload)
    fact = ledger.refund_fact(refund, customer=customer)
    if not (fact.money_action_id or action_id) and not _known(refund):
        fact = _as_a_credit_notes(fact, refund)
    _keep_refund(fact, refund, event, action_id=action_id)


def _known(refund):
    return LedgerEntry.objects.filter(entry_type=LedgerEntry.Type.REFUND,
                                      stripe_id=refund.id).exists()


def _as_a_credit_notes(fact, refund):
    """A refund no one names may be a credit note's, made outside the console, whose own
    event has not come yet: the note of the invoice the refund's payment paid that lists
    it. Network: two reads."""
    invoice_id = gateway.invoice_paid_by(payment_intent_id=refund.payment_intent) \
        if refund.payment_intent else None
    if not invoice_id:
        return fact
    notes = gateway.list_credit_notes(invoice_id=invoice_id, limit=100).items
    note = next((note for note in notes if refund.id in note.refunds), None)
    return replace(fact, settles=note.id) if note else fact


def _keep_refund(fact, refund, event, *, action_id):
    entry = ledger.ledger_record(fact, learnt_from=WEBHOOK, action_id=action_id)
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


@inbox.handles("stripe", *ledger.INVOICE_STATUS_EVENTS)
def on_invoice_status(event):
    invoice_id = _object_id(event.payload)
    if not invoice_id:
        return
    invoice = gateway.get_invoice(invoice_id=invoice_id)
    status = ledger.INVOICE_STATUS_EVENTS[event.event_type]
    data = event.payload.get("data") or {}
    given_up = (data.get("object") or {}).get("amount_remaining")
    if (data.get("previous_attributes") or {}).get("status") == "uncollectible":
        given_up = 0  # the write-off already let the customer off it
    # What the invoice let go of is what it still asked for at the change: Stripe's
    # invoice now shows nothing remaining, so the event's own figure is kept.
    given_up = given_up if isinstance(given_up, int) else 0
    fact = ledger.invoice_status_fact(invoice, status, amount=given_up, given=given_up)
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
                                 learnt_from=WEBHOOK)


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
    Renewals and Stripe's own changes name no request and are left alone; the console's
    requests carry its idempotency key, but for a deletion, which Stripe keeps none for
    (`_deleted_by_console`)."""
    request = _request(event.payload)
    if not request.get("id") or (request.get("idempotency_key") or "").startswith(KEY_PREFIX):
        return
    subscription_id = _object_id(event.payload)
    if event.event_type == "customer.subscription.deleted" \
            and _deleted_by_console(subscription_id):
        return
    if subscription_id:
        subscription = gateway.get_subscription(subscription_id=subscription_id)
        ledger.record_outside_change(
            kind=kind_of(SUBSCRIPTION_EVENTS[event.event_type]), event_id=event.event_id,
            stripe_id=subscription.id, customer=subscription.customer,
            status=subscription.status, change=_plan_change(event.payload))


def _deleted_by_console(stripe_id):
    """Whether the console has sent its deletion of the Stripe object `stripe_id`: an
    action of a kind that deletes its target (`ActionKind.deletes_target`) claimed for
    sending, or through. An object is deleted once, and the action is claimed before its
    request leaves, so the deletion's webhook finds it."""
    deleting = [kind.slug for kind in all_kinds() if kind.deletes_target]
    return MoneyAction.objects.filter(
        stripe_target_id=stripe_id, kind__in=deleting,
        state__in=(State.SUBMITTING, State.REQUIRES_ACTION, State.SUCCEEDED)).exists()


def _plan_change(payload):
    """The plans the event changed, both sides ("Console Team monthly × 5 → Console Pro
    annual × 3"), from its items before (`previous_attributes`) and after (its object: what
    this event changed, whatever came after it); "" when it changed none."""
    data = payload.get("data") or {}
    before = (data.get("previous_attributes") or {}).get("items")
    if not before:
        return ""
    after = (data.get("object") or {}).get("items")
    return plan_changes_name(gateway.subscription_items_named(before),
                             gateway.subscription_items_named(after))


def _settle(entry, event, stripe_object):
    """The event settles the action the entry belongs to, where its kind says so."""
    action = MoneyAction.objects.filter(pk=entry.money_action_id).first() \
        if entry.money_action_id else None
    if action is None:
        return
    kind = action.kind_def
    own = kind.ledger_type == entry.entry_type and \
        action.stripe_object_id in ("", entry.stripe_id)
    if event.event_type in kind.settling_events and own:
        money_action_record_outcome(action_id=action.pk,
                                    outcome=kind.executor.settle(action, stripe_object),
                                    source=Source.STRIPE, learnt_from=WEBHOOK)
    elif not own and entry.status in ("failed", "canceled") and \
            action.state == State.SUCCEEDED:
        # The refund that carried out another action (a credit memo's) gave nothing back.
        money_action_flag_for_finance(
            action_id=action.pk,
            reason=f"The refund that paid out this {in_sentence(kind.label)} "
                   f"{in_sentence(stripe_status(entry.status))}: the customer did not get "
                   "the money back.")


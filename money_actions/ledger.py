"""The ledger of Stripe money: what the console knows Stripe did, once per Stripe object.

Every refund, credit note, customer balance transaction, dispute and invoice status change
the console learns of goes through `ledger_record`, whoever made it and however the
console heard: the money action's own call (`Learnt.CONSOLE`), a webhook, or the
reconciler. Each is attributed to the money action that caused it (the object's metadata,
the idempotency key of the request that made it, or, for the refund or balance
transaction a credit note made, the credit note's action) or to nobody: made outside the
console, which the audit trail records as `<kind>.external` on the customer's latest case.

Readers: the policy's customer totals (`customer_given_back`), reconciliation and finance's
summaries; each write makes the Stripe panel read Stripe again.

Facts are built from the gateway's objects by the `*_fact` functions below; they are
plain data, so the executors can hand them over in an `Outcome`.
"""

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef, Q, Sum
from django.utils import timezone

from audit.models import AuditEvent, Source
from audit.services import record
from billing_console.money import format_amount
from billing_console.names import stripe_status
from cases.models import CaseEvent
from cases.selectors import forget_stripe_snapshot, latest_case_of_customer
from money_actions.kinds import (
    MOVES_PARAM,
    Event,
    Family,
    Moves,
    action_id_from_metadata,
    kind_leaving,
    slugs,
)
from money_actions.models import COMMITTED_STATES, LedgerEntry, MoneyAction

Type = LedgerEntry.Type
# Statuses in which a refund has given money back, or is giving it.
REFUND_MOVING_MONEY = ("pending", "requires_action", "succeeded")
# Stripe's events of an invoice's status changes that let money go, and the status each
# records (`invoice.paid` is raised for every paid invoice, so it says nothing of money).
INVOICE_STATUS_EVENTS = {"invoice.voided": "void",
                         "invoice.marked_uncollectible": "uncollectible"}
# Where an invoice's `status_transitions` records its move to each status.
TRANSITION_FIELDS = {"void": "voided_at", "uncollectible": "marked_uncollectible_at",
                     "paid": "paid_at"}
# The audit action of a dispute, which no money action makes.
DISPUTE_OPENED = "dispute.external"


@dataclass(frozen=True)
class Fact:
    """One Stripe object as the ledger keeps it. Amounts in minor units; `created` in
    Unix seconds (Stripe's). `money_action_id`: the action the object itself names."""

    entry_type: str
    stripe_id: str
    customer: str
    amount: int
    given_back: int
    currency: str
    status: str
    created: int
    parent_id: str = ""
    settles: str = ""
    invoice_status: str = ""
    money_action_id: object = None
    tax: int = 0  # of `amount`, as Stripe states it (credit notes)

    def attributed_to(self, action_id):
        return self if self.money_action_id or not action_id else \
            replace(self, money_action_id=action_id)


# Facts from Stripe's objects -----------------------------------------------------------


def refund_fact(refund, *, customer, settles=""):
    moving = refund.status in REFUND_MOVING_MONEY
    return Fact(Type.REFUND, refund.id, customer or "", refund.amount,
                refund.amount if moving else 0, refund.currency,
                refund.status, refund.created, parent_id=refund.charge or "",
                settles=settles, money_action_id=action_id_from_metadata(refund.metadata))


def credit_note_facts(note, *, refunds=()):
    """The note and what carried it out: its refunds (`refunds`: the Refund objects, when
    read) and its balance transaction."""
    action_id = action_id_from_metadata(note.metadata)
    issued = note.status != "void"
    facts = [Fact(Type.CREDIT_NOTE, note.id, note.customer, note.amount,
                  note.amount if issued else 0, note.currency, note.status, note.created,
                  parent_id=note.invoice, money_action_id=action_id, tax=note.tax)]
    facts += [refund_fact(refund, customer=note.customer, settles=note.id)
              .attributed_to(action_id) for refund in refunds]
    if note.customer_balance_transaction:
        facts.append(Fact(Type.BALANCE_TRANSACTION, note.customer_balance_transaction,
                          note.customer, -note.post_payment_amount, 0, note.currency, "",
                          note.created, parent_id=note.invoice, settles=note.id,
                          money_action_id=action_id))
    return facts


def balance_transaction_fact(transaction_):
    return Fact(Type.BALANCE_TRANSACTION, transaction_.id, transaction_.customer,
                transaction_.amount, max(-transaction_.amount, 0), transaction_.currency,
                transaction_.type, transaction_.created,
                settles=transaction_.credit_note or "",
                money_action_id=action_id_from_metadata(transaction_.metadata))


def invoice_status_fact(invoice, status, *, given, amount=None):
    """An invoice moved to `status`, at the time Stripe's `status_transitions` records,
    letting the customer off `given` (minor units; nothing for a payment). `amount` is
    Stripe's figure for the change: by default what the invoice still asks, or for a
    payment what it was paid."""
    if amount is None:
        amount = invoice.amount_paid if status == "paid" else invoice.amount_remaining
    at = invoice.status_transitions.get(TRANSITION_FIELDS[status]) or invoice.created
    gives = given if status in ("void", "uncollectible") else 0
    return Fact(Type.INVOICE_STATUS, invoice.id, invoice.customer, amount, gives,
                invoice.currency, status, at, invoice_status=status)


def moved_to(invoice, status):
    """Whether Stripe records the invoice's move to `status`, whatever it is now."""
    return bool(invoice.status_transitions.get(TRANSITION_FIELDS[status]))


def dispute_fact(dispute, *, customer):
    return Fact(Type.DISPUTE, dispute.id, customer or "", dispute.amount, 0,
                dispute.currency, dispute.status, dispute.created, parent_id=dispute.charge)


# Recording -----------------------------------------------------------------------------


@transaction.atomic
def ledger_record(fact, *, learnt_from, action_id=None):
    """Keep `fact` once per Stripe object, updating its status and amounts when Stripe's
    have changed. `action_id` attributes it when the fact does not name its action (the
    request's idempotency key named it). Returns the entry; attribution, once made, stays.
    A change outside the console is audited, first when it is learnt, then on each change
    of status."""
    fact = fact.attributed_to(action_id) if action_id else fact
    entry, before = _locked_entry(fact, learnt_from)
    _apply(entry, fact)
    entry.save()
    forget_stripe_snapshot(entry.stripe_customer_id)
    # What carries out another object (a credit note's refund) is told with that one.
    if entry.outside_console and not entry.settles and before != entry.status:
        _audit_outside(entry, before)
    return entry


def _locked_entry(fact, learnt_from):
    """The fact's entry, locked, and its status before (None for a new one). Two writers
    learning of one object at once (a refund's two webhooks) meet on its unique key: the
    second waits for the first, then updates what it wrote."""
    entry, created = LedgerEntry.objects.get_or_create(
        entry_type=fact.entry_type, stripe_id=fact.stripe_id,
        invoice_status=fact.invoice_status,
        defaults={"amount": fact.amount, "currency": fact.currency.lower(),
                  "learnt_from": learnt_from,
                  "stripe_created_at": datetime.fromtimestamp(fact.created, tz=UTC)})
    entry = LedgerEntry.objects.select_for_update().get(pk=entry.pk)
    return entry, None if created else entry.status


def _apply(entry, fact):
    entry.stripe_customer_id = fact.customer or entry.stripe_customer_id
    entry.parent_id, entry.settles = fact.parent_id or entry.parent_id, \
        fact.settles or entry.settles
    entry.amount, entry.currency, entry.status = fact.amount, fact.currency.lower(), fact.status
    entry.tax = fact.tax
    entry.stripe_created_at = datetime.fromtimestamp(fact.created, tz=UTC)
    if entry.money_action_id is None and fact.money_action_id:
        action = MoneyAction.objects.filter(pk=fact.money_action_id).first()
        entry.money_action, entry.case_id = action, action.case_id if action else None
    if entry.money_action_id is None and entry.case_id is None:
        case = latest_case_of_customer(entry.stripe_customer_id)
        entry.case_id = case.pk if case else None
    entry.given_back = 0 if carries_out_another(entry) else fact.given_back


def carries_out_another(entry):
    """Whether the entry only carries out another object, counted there: a credit note's
    refund or balance transaction (named in `settles`, or attributed to an action whose
    own Stripe object is of another type)."""
    if entry.settles:
        return True
    action = entry.money_action
    return action is not None and action.kind_def.ledger_type != entry.entry_type


def _audit_outside(entry, before):
    _record_outside(action=outside_audit_action(entry), object_type=entry.entry_type,
                    stripe_id=entry.stripe_id, case=entry.case,
                    before={"status": before} if before else None,
                    after={"status": entry.status, "parent": entry.parent_id,
                           "amount": entry.amount, "customer": entry.stripe_customer_id},
                    amount=abs(entry.amount), currency=entry.currency,
                    told=f"{describe(entry)} outside the console"
                         f"{f' ({stripe_status(entry.status)})' if entry.status else ''}.")


@transaction.atomic
def record_outside_change(*, kind, event_id, stripe_id, customer, status, change=""):
    """A change of `kind` made outside the console that moves no money by itself (a
    plan changed in the Dashboard): audited once per Stripe event. `change`, the change
    in words ("Console Team monthly × 5 → Console Pro annual × 3"), when it is known."""
    action = kind.audit_action(Event.EXTERNAL)
    if AuditEvent.objects.filter(action=action, object_id=stripe_id,
                                 after__stripe_event=event_id).exists():
        return
    after = {"stripe_event": event_id, "status": status, "customer": customer}
    told = f"{kind.label} made outside the console"
    if change:
        after["change"] = change
        told = f"{told}: {change}."
    else:
        told = f"{told}{f' ({stripe_status(status)})' if status else ''}."
    _record_outside(action=action, object_type=kind.target_noun, stripe_id=stripe_id,
                    case=latest_case_of_customer(customer), before=None, after=after,
                    amount=None, currency="", told=told)


def _record_outside(*, action, object_type, stripe_id, case, before, after, amount, currency,
                    told):
    record(action=action, source=Source.STRIPE, object_type=object_type,
           object_id=stripe_id, before=before, after=after, amount=amount, currency=currency,
           case_id=case.pk if case else None,
           zendesk_ticket_id=case.zendesk_ticket_id if case else None,
           stripe_object_id=stripe_id, reason="Made outside the console.")
    if case is not None:
        CaseEvent.objects.create(case=case, kind=CaseEvent.Kind.MONEY, created_at=timezone.now(),
                                 body=told, data={"stripe_object_id": stripe_id,
                                                  "external": True})


def outside_audit_action(entry):
    """The audit trail's name for a change made outside the console: the external event of
    the kind that makes the same change in the console."""
    if entry.entry_type == Type.DISPUTE:
        return DISPUTE_OPENED
    return kind_leaving(entry.entry_type, variant_of(entry)).audit_action(Event.EXTERNAL)


def variant_of(entry):
    """Which change of its type an entry is (see `ActionKind.ledger_variant`)."""
    if entry.entry_type == Type.CREDIT_NOTE:
        return "void" if entry.status == "void" else "issued"
    if entry.entry_type == Type.BALANCE_TRANSACTION:
        return "credit" if entry.amount < 0 else "debit"
    return entry.invoice_status


def describe(entry):
    what = "Dispute" if entry.entry_type == Type.DISPUTE else \
        kind_leaving(entry.entry_type, variant_of(entry)).label
    return f"{what} of {format_amount(abs(entry.amount), entry.currency)}"


# Reading -------------------------------------------------------------------------------


def customer_given_back(customer_id, currency, days, *, now=None, excluding=None):
    """What the customer got back, or was let off, in the last `days` days, in minor units:
    every ledger entry (the console's and outside it, each object once), plus the
    console's requests Stripe has not yet made anything for (but `excluding`, a money
    action's id)."""
    since = (now or timezone.now()) - timedelta(days=days)
    currency = currency.lower()
    in_ledger = LedgerEntry.objects.filter(
        stripe_customer_id=customer_id, currency=currency, stripe_created_at__gte=since
    ).aggregate(total=Sum("given_back"))["total"] or 0
    not_yet = _not_in_ledger(customer_id, currency, since).exclude(pk=excluding)
    return in_ledger + (not_yet.aggregate(total=Sum("amount"))["total"] or 0)


def _not_in_ledger(customer_id, currency, since):
    """The console's committed requests that give back and have no ledger entry yet: a
    plan change by what it moves (`kinds.Moves`), its credit and never its charge. Stripe
    settles a plan change's credit inside an invoice, which the ledger does not keep, so
    the action counts it, once."""
    made = LedgerEntry.objects.filter(money_action=OuterRef("pk"), settles="")
    plan_credits = [moves.value for moves in Moves if moves.gives_back]
    gives_back = Q(kind__in=slugs(family=Family.GIVES_BACK)) | Q(
        kind__in=slugs(family=Family.CHANGES_PLAN), **{f"params__{MOVES_PARAM}__in": plan_credits})
    return MoneyAction.objects.filter(
        gives_back, stripe_customer_id=customer_id, currency=currency,
        state__in=COMMITTED_STATES, created_at__gte=since,
    ).exclude(Exists(made))

"""Writes for credit memos, on the shared money-action mechanism.

A caller reads the invoice from Stripe first (`selectors.read_invoice`, outside any
transaction); these services lock the invoice's target row, check the credit against what
is left, evaluate the money policy and record the request. Voiding a memo is a money
action of its own, since it takes back what was given.
"""

from django.db import transaction
from django.utils import timezone

from audit.models import AuditEvent, Source
from audit.services import record
from billing_console.exceptions import ApplicationError
from billing_console.money import format_amount
from cases.models import CaseEvent
from cases.selectors import latest_case_of_customer
from credit_memos.selectors import (
    CREDITABLE_STATUSES,
    SETTLEMENTS,
    STRIPE_REASONS,
    credit_amount,
    creditable_remainder,
    split_basis,
)
from money_actions import services as money_actions
from money_actions.models import (
    COMMITTED_STATES,
    GIVING_BACK_KINDS,
    IN_FLIGHT_STATES,
    Kind,
    MoneyAction,
    State,
)
from money_actions.policy import Verdict
from refunds.models import ReasonCode
from refunds.policy import money_verdicts
from refunds.services import validate_amount


def validate_spec(spec):
    """The checks of what is asked that need no Stripe call."""
    if spec.settle_to not in SETTLEMENTS:
        raise ApplicationError(f"Settle to one of {', '.join(SETTLEMENTS)}.", "settle_to")
    if spec.stripe_reason and spec.stripe_reason not in STRIPE_REASONS:
        raise ApplicationError(f"The Stripe reason must be one of {', '.join(STRIPE_REASONS)}.",
                               "stripe_reason")
    if bool(spec.lines) == (spec.amount is not None):
        raise ApplicationError("Credit either some of the invoice's lines or one custom "
                               "amount, not both and not neither.", "lines")
    if spec.amount is not None:
        validate_amount(spec.amount)
    for line in spec.lines:
        _validate_line(line)


def validate_reason(*, reason_code, note):
    if not ReasonCode.objects.filter(code=reason_code, active=True).exists():
        raise ApplicationError(f"“{reason_code}” is not an internal reason code.",
                               "reason_code")
    if not (note or "").strip():
        raise ApplicationError("A note is required.", "note_required")


def _validate_line(line):
    if (line.amount is None) == (line.quantity is None):
        raise ApplicationError("Credit each line by amount or by quantity.", "lines")
    if line.amount is not None:
        validate_amount(line.amount)
    elif isinstance(line.quantity, bool) or not isinstance(line.quantity, int) \
            or line.quantity < 1:
        raise ApplicationError("A quantity is a whole number of at least 1.", "lines")


def validate_against_invoice(*, case, invoice, spec):
    """The checks that need the invoice; returns the credit's amount."""
    _check_customer(case, invoice.customer)
    if invoice.status not in CREDITABLE_STATUSES:
        raise ApplicationError(
            f"This invoice is {invoice.status}: Stripe issues credit notes only on finalized "
            "invoices, and the console credits open or paid ones. Edit a draft instead; a "
            "void invoice is owed nothing.", "invoice_status")
    amount = credit_amount(invoice, spec)
    validate_amount(amount)
    remainder = creditable_remainder(invoice)
    if amount > remainder:
        raise ApplicationError(
            f"{format_amount(amount, invoice.currency)} is more than the "
            f"{format_amount(remainder, invoice.currency)} this invoice can still be credited.",
            "amount_above_creditable")
    return amount


@transaction.atomic
def credit_memo_request(*, case, invoice, spec, reason_code, note, actor, origin=None):
    """Request a credit memo on `invoice` (just read from Stripe)."""
    validate_spec(spec)
    validate_reason(reason_code=reason_code, note=note)
    money_actions.lock_target(invoice.id, customer_id=invoice.customer)
    amount = validate_against_invoice(case=case, invoice=invoice, spec=spec)
    return _request(kind=Kind.CREDIT_MEMO, case=case, customer_id=invoice.customer,
                    target=invoice.id, amount=amount, currency=invoice.currency,
                    params={"spec": spec.as_params(), "split_basis": split_basis(invoice)},
                    reason_code=reason_code, note=note, actor=actor, origin=origin,
                    stripe_reason=spec.stripe_reason)


@transaction.atomic
def credit_memo_void(*, memo, reason_code, note, actor, origin=None):
    """Void a credit memo the console issued. Stripe's own rules (the invoice's state)
    decide whether it can; a refusal fails the void with Stripe's words."""
    if memo.kind != Kind.CREDIT_MEMO or memo.state != State.SUCCEEDED:
        raise ApplicationError("Only a credit memo Stripe has issued can be voided.",
                               "invalid_state", status=409)
    money_actions.lock_target(memo.stripe_object_id, customer_id=memo.stripe_customer_id)
    if MoneyAction.objects.filter(kind=Kind.CREDIT_MEMO_VOID, state__in=COMMITTED_STATES,
                                  stripe_target_id=memo.stripe_object_id).exists():
        raise ApplicationError("This credit memo is already voided, or being voided.",
                               "already_voided", status=409)
    validate_reason(reason_code=reason_code, note=note)
    return money_actions.money_action_request(
        kind=Kind.CREDIT_MEMO_VOID, case=memo.case, stripe_customer_id=memo.stripe_customer_id,
        stripe_target_id=memo.stripe_object_id, amount=memo.amount, currency=memo.currency,
        params={"invoice_id": memo.stripe_target_id, "credit_memo": str(memo.pk)},
        reason_code=reason_code, note=note, verdicts=VOID_VERDICTS, actor=actor,
        origin=origin)


# Taking a credit back gives nothing away, so no limit applies to it.
VOID_VERDICTS = [Verdict("void", False, "Voiding takes back a credit; no limit applies.")]


# Invoice adjustments ---------------------------------------------------------------------

# What Stripe allows by the invoice's status, in Stripe's own words.
INVOICE_RULES = {
    Kind.INVOICE_VOID: (("open", "uncollectible"),
                        "Stripe voids only open or uncollectible invoices"),
    Kind.INVOICE_UNCOLLECTIBLE: (("open",), "Stripe writes off (marks uncollectible) only "
                                            "open invoices"),
    Kind.INVOICE_PAID_OUT_OF_BAND: (("open", "uncollectible"),
                                    "Stripe marks paid only open or uncollectible invoices"),
    Kind.INVOICE_EDIT: (("draft",), "Stripe adds and removes items, and finalizes, only on "
                                    "draft invoices"),
}
# What is left to do after a refusal, by the invoice's status.
INSTEAD = {
    "paid": "A paid invoice is credited with a credit memo instead.",
    "void": "A void invoice is owed nothing.",
    "draft": "A draft invoice owes nothing yet: change its items.",
}


def check_invoice_allows(kind, invoice):
    statuses, rule = INVOICE_RULES[kind]
    if invoice.status not in statuses:
        instead = INSTEAD.get(invoice.status, "")
        raise ApplicationError(f"{rule}; this one is {invoice.status}. {instead}".strip(),
                               "invoice_status")


def draft_changes_params(invoice, *, add, remove, finalize):
    """Items to add (description, amount) and lines to remove, as the executor sends them;
    the amount is what the removed lines were worth (given up)."""
    by_id = {line.id: line for line in invoice.lines}
    removed = []
    for line_id in remove:
        line = by_id.get(line_id)
        if line is None or not line.invoice_item:
            raise ApplicationError(f"{line_id} is not an item line of this invoice.", "remove")
        removed.append(line)
    for item in add:
        validate_amount(item["amount"])
        if not str(item.get("description") or "").strip():
            raise ApplicationError("Each added item needs a description.", "add")
    if not add and not removed and not finalize:
        raise ApplicationError("Add or remove an item, or finalize the invoice.", "add")
    params = {"customer": invoice.customer, "currency": invoice.currency,
              "add": [{"description": item["description"].strip(), "amount": item["amount"]}
                      for item in add],
              "remove": [line.invoice_item for line in removed], "finalize": finalize}
    return sum(line.amount for line in removed), params


@transaction.atomic
def invoice_adjustment_request(*, case, kind, invoice, reason_code, note, actor,
                               changes=None, origin=None):
    """Void, write off, mark paid out of band, or change a draft (`changes`: add, remove,
    finalize). Refused, in Stripe's words, where the invoice's status does not allow it."""
    validate_reason(reason_code=reason_code, note=note)
    money_actions.lock_target(invoice.id, customer_id=invoice.customer)
    _check_customer(case, invoice.customer)
    check_invoice_allows(kind, invoice)
    _refuse_if_in_flight(invoice.id, INVOICE_RULES)
    if kind == Kind.INVOICE_EDIT:
        amount, params = draft_changes_params(invoice, **(changes or {}))
    else:
        amount, params = invoice.amount_remaining, {}
    return _request(kind=kind, case=case, customer_id=invoice.customer, target=invoice.id,
                    amount=amount, currency=invoice.currency, params=params,
                    reason_code=reason_code, note=note, actor=actor, origin=origin)


@transaction.atomic
def balance_adjustment_request(*, case, customer, kind, amount, currency, description,
                               reason_code, note, actor, origin=None):
    """Credit (toward the next invoices) or debit the customer's balance."""
    validate_reason(reason_code=reason_code, note=note)
    check_balance_change(case=case, customer=customer, amount=amount, currency=currency,
                         description=description)
    money_actions.lock_target(customer.id, customer_id=customer.id)
    return _request(kind=kind, case=case, customer_id=customer.id, target=customer.id,
                    amount=amount, currency=currency, params={"description": description},
                    reason_code=reason_code, note=note, actor=actor, origin=origin)


def check_balance_change(*, case, customer, amount, currency, description):
    validate_amount(amount)
    if not (description or "").strip():
        raise ApplicationError("A description is required; the customer sees it.",
                               "description")
    _check_customer(case, customer.id)
    if customer.currency and customer.currency.lower() != currency.lower():
        raise ApplicationError(
            f"Stripe keeps a customer's balance in one currency; this one's is "
            f"{customer.currency.upper()}, not {currency.upper()}.", "currency")


def _check_customer(case, customer_id):
    """Money moves only for the customer the case is linked to."""
    if not case.stripe_customer_id:
        raise ApplicationError("Link this case to the requester's Stripe customer first.",
                               "customer")
    if customer_id != case.stripe_customer_id:
        raise ApplicationError("That belongs to another customer than this case's.",
                               "customer")


def _refuse_if_in_flight(target_id, kinds):
    """One change at a time to an object: the second would act on what the first changes."""
    if MoneyAction.objects.filter(stripe_target_id=target_id, kind__in=kinds,
                                  state__in=IN_FLIGHT_STATES).exists():
        raise ApplicationError("Another change to it is waiting or under way; let it finish "
                               "first.", "in_flight", status=409)


def _request(*, kind, case, customer_id, target, amount, currency, params, reason_code,
             note, actor, origin, stripe_reason=None, gives_back=None):
    """`gives_back` says whether `amount` goes back to the customer; by default, whether
    the kind always does."""
    gives_back = kind in GIVING_BACK_KINDS if gives_back is None else gives_back
    verdicts = action_verdicts(gives_back=gives_back, amount=amount, currency=currency,
                               customer_id=customer_id, stripe_reason=stripe_reason,
                               requester=actor)
    return money_actions.money_action_request(
        kind=kind, case=case, stripe_customer_id=customer_id, stripe_target_id=target,
        amount=amount, currency=currency, params=params, reason_code=reason_code, note=note,
        verdicts=verdicts, actor=actor, origin=origin)


def action_verdicts(*, gives_back, amount, currency, customer_id, stripe_reason, requester):
    """The money policy for what gives back; nothing to limit for what takes money."""
    if gives_back:
        return money_verdicts(amount=amount, currency=currency, customer_id=customer_id,
                              stripe_reason=stripe_reason, requester=requester)
    return [Verdict("gives_nothing_back", False,
                    "It gives nothing back to the customer, so no limit applies.")]


# Subscription changes --------------------------------------------------------------------

# What Stripe allows by the subscription's status and schedule, in words.
LIVE_STATUSES = ("active", "trialing", "past_due", "unpaid")
SUBSCRIPTION_KINDS = (Kind.SUBSCRIPTION_CHANGE, Kind.SUBSCRIPTION_CANCEL,
                      Kind.SUBSCRIPTION_CANCEL_AT_PERIOD_END, Kind.SUBSCRIPTION_RESUME)


def check_subscription_allows(kind, subscription):
    if subscription.status not in LIVE_STATUSES:
        raise ApplicationError(f"Stripe changes only live subscriptions; this one is "
                               f"{subscription.status}.", "subscription_status")
    if kind == Kind.SUBSCRIPTION_CANCEL_AT_PERIOD_END and subscription.cancel_at_period_end:
        raise ApplicationError("This subscription already cancels at the end of its period.",
                               "subscription_status")
    if kind == Kind.SUBSCRIPTION_RESUME and not subscription.cancel_at_period_end:
        raise ApplicationError("This subscription has no cancellation scheduled to undo.",
                               "subscription_status")


@transaction.atomic
def subscription_change_request(*, case, subscription, kind, reason_code, note, actor,
                                change=None, proration=0, origin=None):
    """Change a price or quantity (`change`, with `proration` the signed total Stripe's
    preview gave), cancel now (`change`: prorate, invoice_now), cancel at period end, or
    undo that."""
    validate_reason(reason_code=reason_code, note=note)
    money_actions.lock_target(subscription.id, customer_id=subscription.customer)
    _check_customer(case, subscription.customer)
    check_subscription_allows(kind, subscription)
    _refuse_if_in_flight(subscription.id, SUBSCRIPTION_KINDS)
    amount, gives_back = subscription_stake(kind, subscription, change or {}, proration)
    return _request(kind=kind, case=case, customer_id=subscription.customer,
                    target=subscription.id, amount=amount, currency=subscription.currency,
                    params=change or {}, reason_code=reason_code, note=note, actor=actor,
                    origin=origin, gives_back=gives_back)


def subscription_stake(kind, subscription, change, proration):
    """(amount, whether it goes back to the customer). A downgrade's proration credit goes
    back; a prorated cancellation gives back at most the current period's price."""
    if kind == Kind.SUBSCRIPTION_CHANGE:
        return abs(proration), proration < 0
    if kind == Kind.SUBSCRIPTION_CANCEL and change.get("prorate"):
        return sum((item.unit_amount or 0) * item.quantity
                   for item in subscription.items), True
    return 0, False


# Changes made outside the console --------------------------------------------------------


@transaction.atomic
def record_external_change(*, action, event_id, obj, before):
    """Audit a change Stripe reports that the console did not make, once per event."""
    if AuditEvent.objects.filter(action=action, object_id=obj["id"],
                                 after__stripe_event=event_id).exists():
        return
    customer_id = obj["id"] if obj.get("object") == "customer" else obj.get("customer")
    case = latest_case_of_customer(customer_id)
    amount = _external_amount(obj, before)
    record(action=action, source=Source.STRIPE, object_type=obj.get("object", ""),
           object_id=obj["id"], before=before,
           after={"stripe_event": event_id, "status": obj.get("status"), "amount": amount},
           amount=amount, currency=obj.get("currency") or "",
           case_id=case.pk if case else None,
           zendesk_ticket_id=case.zendesk_ticket_id if case else None,
           stripe_object_id=obj["id"], reason="Made outside the console.")
    if case is not None:
        CaseEvent.objects.create(
            case=case, kind=CaseEvent.Kind.MONEY, created_at=timezone.now(),
            body=f"{_describe_external(action, obj, amount)} outside the console.",
            data={"stripe_object_id": obj["id"], "external": True})


def _external_amount(obj, before):
    """What moved: a credit note's amount, what an invoice no longer asks, or the change
    in a balance."""
    if obj.get("object") == "customer":
        return obj.get("balance", 0) - before.get("balance", 0)
    if obj.get("object") == "invoice":
        return obj.get("amount_remaining")
    return obj.get("amount")


def _describe_external(action, obj, amount):
    shown = format_amount(amount, obj["currency"]) if amount is not None and \
        obj.get("currency") else ""
    what = {"credit_memo.external": "Credit note {id} of {amount} issued",
            "credit_memo_void.external": "Credit note {id} of {amount} voided",
            "invoice_void.external": "Invoice {id} voided",
            "invoice_uncollectible.external": "Invoice {id} written off",
            "subscription_change.external": "Subscription {id} changed",
            "subscription_cancel.external": "Subscription {id} canceled",
            "balance_change.external": "Customer balance moved by {amount}"}[action]
    return what.format(id=obj["id"], amount=shown)

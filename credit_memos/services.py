"""Writes for credit memos, invoice adjustments, balance moves and subscription changes,
on the shared money-action mechanism.

A caller reads the Stripe object first (`selectors.read_invoice` and the like, and
`rules.charge_for_credit` when a credit has a refund part), outside any transaction;
these services lock the object's target row, check the request against Stripe's rules
(`credit_memos.rules`) and what is left, evaluate the money policy and record the request.
Voiding a memo is a money action of its own, since it takes back what was given.
"""

import time
from dataclasses import dataclass

from django.db import transaction
from django.utils.text import capfirst

from billing_console.exceptions import ApplicationError
from billing_console.integrations.stripe.types import Charge
from billing_console.money import normalise_currency
from billing_console.names import day_name, plan_change_name, stripe_name
from billing_console.text import quoted
from credit_memos import rules
from credit_memos.kinds import (
    CREDIT_MEMO,
    CREDIT_MEMO_VOID,
    INVOICE_EDIT,
    SUBSCRIPTION_CANCEL,
    SUBSCRIPTION_CANCEL_WITH_REFUND,
    SUBSCRIPTION_CHANGE,
)
from credit_memos.selectors import (
    CANCEL_REFUND_STRIPE_REASON,
    SETTLEMENTS,
    STRIPE_REASONS,
    LastPayment,
    change_in_flight,
    credit_amount,
    restarts_period,
    split_basis,
)
from money_actions import services as money_actions
from money_actions.kinds import MOVES_PARAM, Family, Moves
from money_actions.models import COMMITTED_STATES, IN_FLIGHT_STATES, MoneyAction, State
from money_actions.policy import (
    charge_age_verdict,
    validate_amount,
    validate_reason,
    verdicts_for,
)
from money_actions.selectors import (
    PAYING_CHARGE,
    PAYING_CHARGE_NAME,
    REFUND_PART,
    refund_left_on,
)


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


def _validate_line(line):
    if (line.amount is None) == (line.quantity is None):
        raise ApplicationError("Credit each line by amount or by quantity.", "lines")
    if line.amount is not None:
        validate_amount(line.amount)
    elif isinstance(line.quantity, bool) or not isinstance(line.quantity, int) \
            or line.quantity < 1:
        raise ApplicationError("A quantity is a whole number of at least 1.", "lines")


def validate_against_invoice(*, case, invoice, spec, paid):
    """The checks that need the invoice (and `paid`, `rules.paid_by`'s answer): Stripe's
    rules, the console's credits and refunds not yet in Stripe, and the invoice given back
    once. Returns the credit's amount in minor units."""
    money_actions.check_customer(case, invoice.customer, noun="invoice")
    amount = credit_amount(invoice, spec)
    validate_amount(amount)
    rules.check_credit_note(invoice, spec, amount, basis=split_basis(invoice), paid=paid)
    return amount


@transaction.atomic
def credit_memo_request(*, case, invoice, spec, paid, reason_code, note, actor,
                        origin=None):
    """Request a credit memo on `invoice` (just read from Stripe, with `paid`). Locks the
    customer, the invoice and the charge that paid it, which refunds lock too."""
    validate_spec(spec)
    validate_reason(reason_code=reason_code, note=note)
    money_actions.lock_target(invoice.id, customer_id=invoice.customer)
    if paid:
        money_actions.lock_target(paid.charge.id)
    amount = validate_against_invoice(case=case, invoice=invoice, spec=spec, paid=paid)
    basis = split_basis(invoice)
    return _request(kind=CREDIT_MEMO, case=case, customer_id=invoice.customer,
                    target=invoice.id, target_name=stripe_name(invoice), amount=amount,
                    currency=invoice.currency,
                    params=rules.credit_memo_params(invoice, spec, amount, basis, paid),
                    reason_code=reason_code, note=note, actor=actor, origin=origin,
                    stripe_reason=spec.stripe_reason)


@transaction.atomic
def credit_memo_void(*, memo, credit_note, reason_code, note, actor, origin=None):
    """Void a credit memo the console issued; `credit_note` is its Stripe credit note, just
    read. Refused where Stripe would refuse, or where voiding would not take the money back
    (a refund has gone out)."""
    if memo.kind != CREDIT_MEMO.slug or memo.state != State.SUCCEEDED:
        raise ApplicationError("Only a credit memo Stripe has issued can be voided.",
                               "invalid_state", status=409)
    money_actions.lock_target(memo.stripe_object_id, customer_id=memo.stripe_customer_id)
    if MoneyAction.objects.filter(kind=CREDIT_MEMO_VOID.slug, state__in=COMMITTED_STATES,
                                  stripe_target_id=memo.stripe_object_id).exists():
        raise ApplicationError("This credit memo is already voided, or being voided.",
                               "already_voided", status=409)
    rules.check_void(credit_note)
    validate_reason(reason_code=reason_code, note=note)
    return _request(kind=CREDIT_MEMO_VOID, case=memo.case,
                    customer_id=memo.stripe_customer_id, target=memo.stripe_object_id,
                    target_name=stripe_name(credit_note),
                    amount=memo.amount, currency=memo.currency,
                    params={"invoice_id": memo.stripe_target_id, "credit_memo": str(memo.pk)},
                    reason_code=reason_code, note=note, actor=actor, origin=origin)


# Invoice adjustments ---------------------------------------------------------------------


def draft_changes_params(invoice, *, add, remove, finalize):
    """Items to add (description, amount) and lines to remove, as the executor sends them.
    Returns (removed, added, params): what the removed lines were worth (given up) and
    what the added items take, in minor units."""
    by_id = {line.id: line for line in invoice.lines}
    removed = []
    for line_id in remove:
        line = by_id.get(line_id)
        if line is None or not line.invoice_item:
            raise ApplicationError(f"{quoted(line_id)} is not an item line of this invoice.",
                                   "remove")
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
    return (sum(line.amount for line in removed), sum(item["amount"] for item in add),
            params)


def draft_change_verdicts(*, invoice, removed, added, requester):
    """Removing lines gives back; adding items takes (and may not pass the cap)."""
    verdicts = []
    if removed or not added:
        verdicts += verdicts_for(family=Family.GIVES_BACK, amount=removed,
                                 currency=invoice.currency, customer_id=invoice.customer,
                                 requester=requester)
    if added:
        verdicts += verdicts_for(family=Family.TAKES, amount=added, currency=invoice.currency,
                                 customer_id=invoice.customer, requester=requester)
    return verdicts


@transaction.atomic
def invoice_adjustment_request(*, case, kind, invoice, reason_code, note, actor,
                               changes=None, origin=None):
    """Void, write off, mark paid out of band, or change a draft (`changes`: add, remove,
    finalize). Refused, in Stripe's words, where the invoice's status does not allow it."""
    validate_reason(reason_code=reason_code, note=note)
    money_actions.lock_target(invoice.id, customer_id=invoice.customer)
    money_actions.check_customer(case, invoice.customer, noun="invoice")
    rules.check_invoice_allows(kind.slug, invoice)
    _refuse_if_in_flight(invoice.id, list(rules.INVOICE_RULES))
    if kind == INVOICE_EDIT:
        removed, added, params = draft_changes_params(invoice, **(changes or {}))
        verdicts = draft_change_verdicts(invoice=invoice, removed=removed, added=added,
                                         requester=actor)
        return _request(kind=kind, case=case, customer_id=invoice.customer,
                        target=invoice.id, target_name=stripe_name(invoice), amount=removed,
                        currency=invoice.currency,
                        params=params, reason_code=reason_code, note=note, actor=actor,
                        origin=origin, verdicts=verdicts)
    return _request(kind=kind, case=case, customer_id=invoice.customer, target=invoice.id,
                    target_name=stripe_name(invoice), amount=let_off(invoice),
                    currency=invoice.currency, params={},
                    reason_code=reason_code, note=note, actor=actor, origin=origin)


def let_off(invoice):
    """What voiding, writing off or marking paid lets the customer off (minor units): what
    the invoice still asks, unless a write-off already let them off it (Stripe still shows
    an uncollectible invoice's `amount_remaining`)."""
    return 0 if invoice.status == "uncollectible" else invoice.amount_remaining


@transaction.atomic
def balance_adjustment_request(*, case, customer, kind, amount, currency, description,
                               reason_code, note, actor, origin=None):
    """Credit (toward the next invoices) or debit the customer's balance; a debit above
    the currency's cap is refused."""
    validate_reason(reason_code=reason_code, note=note)
    currency = check_balance_change(case=case, customer=customer, amount=amount,
                                    currency=currency, description=description)
    money_actions.lock_target(customer.id, customer_id=customer.id)
    return _request(kind=kind, case=case, customer_id=customer.id, target=customer.id,
                    target_name=stripe_name(customer), amount=amount, currency=currency,
                    params={"description": description},
                    reason_code=reason_code, note=note, actor=actor, origin=origin)


def check_balance_change(*, case, customer, amount, currency, description):
    """Returns the currency, as Stripe writes it."""
    validate_amount(amount)
    currency = normalise_currency(currency).lower()
    if not (description or "").strip():
        raise ApplicationError("A description is required; the customer sees it.",
                               "description")
    money_actions.check_customer(case, customer.id)
    rules.check_balance_currency(customer, currency)
    return currency


def _refuse_if_in_flight(target_id, kind_slugs):
    """One change at a time to an object: the second would act on what the first changes."""
    if MoneyAction.objects.filter(stripe_target_id=target_id, kind__in=kind_slugs,
                                  state__in=IN_FLIGHT_STATES).exists():
        raise _in_flight()


def _refuse_while_changing(subscription):
    """One change at a time to a subscription (`selectors.change_in_flight`)."""
    if change_in_flight(subscription.id):
        raise _in_flight()


def _in_flight():
    return ApplicationError("Another change to it is waiting or under way; let it finish "
                            "first.", "in_flight", status=409)


def _request(*, kind, case, customer_id, target, target_name, amount, currency, params,
             reason_code, note, actor, origin, stripe_reason=None, gives_back=None,
             verdicts=None):
    """`target` is the Stripe object's id, `target_name` what people call it; `gives_back`
    says, for a plan change, whether `amount` goes back to the customer."""
    if verdicts is None:
        verdicts = verdicts_for(family=kind.family, amount=amount, currency=currency,
                                customer_id=customer_id, stripe_reason=stripe_reason,
                                requester=actor, gives_back=gives_back)
    return money_actions.money_action_request(
        kind=kind, case=case, stripe_customer_id=customer_id, stripe_target_id=target,
        target_name=target_name, amount=amount, currency=currency, params=params,
        reason_code=reason_code, note=note, verdicts=verdicts, actor=actor, origin=origin)


# Subscription changes --------------------------------------------------------------------


@transaction.atomic
def subscription_change_request(*, case, subscription, kind, reason_code, note, actor,
                                change=None, price=None, preview=None, origin=None):
    """Change a price or quantity (`change`, to `price`, the `Price` that
    `selectors.check_item_change` found, with `preview` what
    `selectors.subscription_change_preview` gave), cancel now (`change`: prorate,
    invoice_now), cancel at period end, or undo that. A plan change is named by both its
    sides (`names.plan_change_name`) and keeps what it moves (`kinds.Moves`)."""
    validate_reason(reason_code=reason_code, note=note)
    money_actions.lock_target(subscription.id, customer_id=subscription.customer)
    money_actions.check_customer(case, subscription.customer, noun="subscription")
    rules.check_subscription_allows(kind.slug, subscription)
    _refuse_while_changing(subscription)
    amount, gives_back = subscription_stake(kind, subscription, change or {}, preview)
    target_name, params = stripe_name(subscription), change or {}
    if kind == SUBSCRIPTION_CHANGE:
        item = next(item for item in subscription.items if item.id == change["item_id"])
        target_name = plan_change_name(item, price, change.get("quantity"))
        # Not sent to Stripe: the ticket's note says when the customer is invoiced, the
        # action's name what it moves.
        params = {**change, "restarts_period": restarts_period(item, price),
                  MOVES_PARAM: plan_change_moves(preview)[0].value}
    return _request(kind=kind, case=case, customer_id=subscription.customer,
                    target=subscription.id, target_name=target_name,
                    amount=amount, currency=subscription.currency,
                    params=params, reason_code=reason_code, note=note, actor=actor,
                    origin=origin, gives_back=gives_back)


def subscription_stake(kind, subscription, change, preview=None):
    """(amount in minor units, whether it goes back to the customer), which the policy
    checks, the page's preview and the request alike. A plan change by what it moves
    (`plan_change_moves` of Stripe's `preview`); a prorated cancellation gives back at
    most the current period's price."""
    if kind == SUBSCRIPTION_CHANGE:
        moves, amount = plan_change_moves(preview)
        return amount, moves.gives_back
    if kind == SUBSCRIPTION_CANCEL and change.get("prorate"):
        return sum((item.unit_amount or 0) * item.quantity
                   for item in subscription.items), True
    return 0, False


def subscription_verdicts(*, kind, subscription, change, preview, requester):
    """The policy's verdicts on a subscription change (`subscription_stake`), as its
    request will have them: the page's preview and the API's ask here. Raises
    ApplicationError for money taken above the currency's cap, and for a subscription
    with another change waiting or under way, which its request would refuse."""
    _refuse_while_changing(subscription)
    amount, gives_back = subscription_stake(kind, subscription, change, preview)
    return verdicts_for(family=kind.family, amount=amount, currency=subscription.currency,
                        customer_id=subscription.customer, requester=requester,
                        gives_back=gives_back)


def plan_change_moves(preview):
    """(`Moves`, amount in minor units) of a plan change whose Stripe preview is `preview`
    (`selectors.subscription_change_preview`). One invoiced at once moves that invoice's
    total now, tax included: a new billing interval charges its first period less the
    unused time, so an upgrade to annual takes money even though its proration is a
    credit. One prorated on the next invoice moves its proration then; one not prorated
    moves nothing."""
    if preview["invoiced_now"]:
        total, now = preview["invoice_total"], (Moves.TAKES_NOW, Moves.GIVES_BACK_NOW)
    else:
        total, now = preview["proration_total"], (Moves.TAKES_NEXT_INVOICE,
                                                  Moves.GIVES_BACK_NEXT_INVOICE)
    if not total:
        return Moves.NOTHING, 0
    return (now[0] if total > 0 else now[1]), abs(total)


# Cancel now with a refund ----------------------------------------------------------------

# How long a cancellation's form keeps the moment it works the unused time out at: a form
# opened earlier is worked out again, so that no one refunds time the customer has used.
MOMENT_KEPT_SECONDS = 3_600


@dataclass(frozen=True)
class CancelWithRefund:
    """What cancelling a subscription now gives back: `asked` (minor units), the unused
    part of `payment`'s period at `at` (Unix seconds) or, `whole`, the whole charge that
    paid it; `amount`, what goes back, which is `asked` but at most `left`, what
    `charge` can still refund; and the policy's `verdicts` on `amount`."""

    payment: LastPayment
    charge: Charge
    whole: bool
    at: int
    asked: int
    left: int
    amount: int
    verdicts: list

    def params(self):
        """What the action keeps: the charge and its refund part
        (`money_actions.selectors.PAYING_CHARGE`, `REFUND_PART`), so that refunds and credits
        of that charge's invoice count it, the charge's name (`PAYING_CHARGE_NAME`), which
        its reply names, and how the amount was worked out."""
        payment = self.payment
        return {PAYING_CHARGE: self.charge.id, REFUND_PART: self.amount,
                PAYING_CHARGE_NAME: stripe_name(self.charge), "invoice": payment.invoice.id,
                "invoice_name": stripe_name(payment.invoice), "whole": self.whole,
                "at": self.at, "period_start": payment.period_start,
                "period_end": payment.period_end, "paid_for_period": payment.paid_for_period,
                "stripe_reason": CANCEL_REFUND_STRIPE_REASON}


# The console gives a form (or an API preview) the moment it is opened: one still to come,
# or before the period it works the unused time out in began, was sent otherwise.
MOMENT_NOT_GIVEN = ("This form's moment is not one the console gave; open the form again "
                    "from the subscription, or preview again.")


def check_moment(at, *, now=None):
    """`at`, the moment a cancellation's form was opened or its API preview made (Unix
    seconds), is at most `MOMENT_KEPT_SECONDS` old and not ahead of the clock (a minute
    allowed); ApplicationError "at" otherwise."""
    now = int(time.time()) if now is None else now
    if at > now + 60:
        raise ApplicationError(MOMENT_NOT_GIVEN, "at")
    if at < now - MOMENT_KEPT_SECONDS:
        raise ApplicationError("The unused time was worked out more than an hour ago, so "
                               "it is out of date: open the form again from the case, or "
                               "preview again.", "at")


def cancel_with_refund(*, case, subscription, payment, paid, whole, at, requester,
                       excluding=None):
    """The `CancelWithRefund` of `subscription` (just read) whose `LastPayment` is
    `payment` and whose charge `paid` (`rules.paid_by`'s answer), or the refusal, as an
    ApplicationError, of what the preview and the request must not go on with. The
    preview and the request both ask here, so the policy checks the amount shown.
    Reads the console's own rows; call it with the subscription and charge locked to
    request."""
    money_actions.check_customer(case, subscription.customer, noun="subscription")
    rules.check_subscription_allows(SUBSCRIPTION_CANCEL_WITH_REFUND.slug, subscription)
    _refuse_while_changing(subscription)
    check_moment(at)
    if payment is None or paid is None:
        raise ApplicationError(
            "No card charge paid this subscription's last invoice, so nothing can go back "
            "to the card: cancel it now without a refund, or credit the customer's balance.",
            "last_payment")
    if at < payment.period_start:
        raise ApplicationError(MOMENT_NOT_GIVEN, "at")
    charge = paid.charge
    money_actions.check_customer(case, charge.customer, noun="charge")
    rules.check_refundable(charge)
    if not whole and not payment.runs_at(at):
        raise ApplicationError(
            f"The period {stripe_name(payment.invoice)} paid for ended on "
            f"{day_name(payment.period_end)}, so none of it is unused: refund the whole last "
            "payment, or cancel now without a refund.", "last_payment")
    asked = charge.amount_captured if whole else payment.unused_refund(at)
    left = refund_left_on(charge, excluding=excluding)
    amount = min(asked, left)
    if not amount:
        raise ApplicationError(
            f"{capfirst(stripe_name(charge))}, which paid {stripe_name(payment.invoice)}, "
            f"has nothing left to refund: it was refunded already, or a refund is on its "
            "way. Cancel now without a refund.", "amount_above_refundable")
    verdicts = [*verdicts_for(family=Family.GIVES_BACK, amount=amount,
                              currency=charge.currency, customer_id=subscription.customer,
                              stripe_reason=CANCEL_REFUND_STRIPE_REASON, requester=requester,
                              excluding=excluding),
                charge_age_verdict(charge)]
    return CancelWithRefund(payment=payment, charge=charge, whole=whole, at=at, asked=asked,
                            left=left, amount=amount, verdicts=verdicts)


@transaction.atomic
def subscription_cancel_with_refund_request(*, case, subscription, payment, paid, whole, at,
                                            reason_code, note, actor, origin=None):
    """Cancel `subscription` now and refund the unused part of its last payment (or,
    `whole`, all of it) to the card, as one action (`cancel_with_refund` says what it
    gives back). Locks the customer, the subscription and the charge, which refunds lock
    too."""
    validate_reason(reason_code=reason_code, note=note)
    money_actions.lock_target(subscription.id, customer_id=subscription.customer)
    if paid is not None:
        money_actions.lock_target(paid.charge.id)
    offer = cancel_with_refund(case=case, subscription=subscription, payment=payment,
                               paid=paid, whole=whole, at=at, requester=actor)
    return money_actions.money_action_request(
        kind=SUBSCRIPTION_CANCEL_WITH_REFUND, case=case,
        stripe_customer_id=subscription.customer, stripe_target_id=subscription.id,
        target_name=stripe_name(subscription), amount=offer.amount,
        currency=offer.charge.currency, params=offer.params(), reason_code=reason_code,
        note=note, verdicts=offer.verdicts, actor=actor, origin=origin)

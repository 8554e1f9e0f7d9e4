"""Reads for credit memos: the invoice from Stripe, what a credit asks for and how it
settles, and Stripe's own preview shown before confirming. Stripe is read here, outside
any transaction."""

from dataclasses import asdict, dataclass

from django.db.models import Sum
from django.utils.text import capfirst

from billing_console.exceptions import ApplicationError
from billing_console.integrations.stripe import gateway
from billing_console.integrations.stripe.errors import PermanentStripeError
from billing_console.integrations.stripe.types import (
    BILLING_PERIODS,
    CreditLine,
    Invoice,
    InvoiceLine,
    Price,
    exclusive_tax,
    tax_included,
    tax_names,
    tax_on_top,
)
from billing_console.money import format_amount
from billing_console.names import CREDIT_NOTE_REASONS, day_name, stripe_name
from billing_console.text import quoted
from money_actions.kinds import Family, kind_leaving
from money_actions.models import IN_FLIGHT_STATES, MoneyAction, State
from money_actions.policy import needs_approval, verdicts_for
from money_actions.selectors import (
    given_back_on,
    read_from_stripe,
    refunded_of,
    voided_credit_notes,
)


def _memo_slug():
    """The credit memo kind's slug, from the registry (the kind is declared in
    `credit_memos.kinds`, which reads invoices through this module)."""
    return kind_leaving("credit_note", "issued").slug


# Where the part of a credit that the invoice no longer owes goes (Stripe's split).
SETTLEMENTS = {
    "customer_balance": "credit_amount",
    "refund": "refund_amount",
    "out_of_band": "out_of_band_amount",
}
STRIPE_REASONS = tuple(CREDIT_NOTE_REASONS)
# No subscription item comes near this many units; more is a typo, refused before Stripe.
MAX_QUANTITY = 1_000_000
# The console credits open and paid invoices; Stripe also allows uncollectible ones, but a
# written-off invoice is finance's, not a specialist's.
CREDITABLE_STATUSES = ("open", "paid")


@dataclass(frozen=True)
class CreditSpec:
    """What a specialist asks to credit on one invoice: some of its lines (by amount or by
    quantity) or one custom amount, and where what is no longer owed goes."""

    invoice_id: str
    lines: tuple[CreditLine, ...] = ()
    amount: int | None = None
    settle_to: str = "customer_balance"
    stripe_reason: str | None = None
    memo: str = ""

    def as_params(self):
        return {**asdict(self), "lines": [asdict(line) for line in self.lines]}

    @classmethod
    def from_params(cls, params):
        return cls(**{**params, "lines": tuple(CreditLine(**line) for line in params["lines"])})


def console_memo(credit_note_id):
    """The console's credit memo behind a Stripe credit note: the console voids only its own."""
    memo = MoneyAction.objects.filter(kind=_memo_slug(), state=State.SUCCEEDED,
                                      stripe_object_id=credit_note_id).first()
    if memo is None:
        raise ApplicationError("This credit note was not issued by the console; "
                               "void it in the Stripe Dashboard.", "credit_note")
    return memo


def console_credit_note_ids(customer_id):
    """The customer's credit notes the console issued, for the Stripe panel's void links."""
    return set(MoneyAction.objects.filter(kind=_memo_slug(), state=State.SUCCEEDED,
                                          stripe_customer_id=customer_id)
               .values_list("stripe_object_id", flat=True))


def read_invoice(invoice_id):
    return read_from_stripe(lambda found: gateway.get_invoice(invoice_id=found), invoice_id,
                            noun="invoice", missing="Choose an invoice to credit.")


def read_credit_note(credit_note_id):
    return read_from_stripe(lambda found: gateway.get_credit_note(credit_note_id=found),
                            credit_note_id, noun="credit note",
                            missing="Choose a credit memo to void.")


def read_customer(customer_id):
    """A case's Stripe customer; a case without one has no balance to adjust."""
    return read_from_stripe(lambda found: gateway.get_customer(customer_id=found),
                            customer_id, noun="customer",
                            missing="Link this case to a Stripe customer first.")


def credit_amount(invoice, spec):
    """The credit's total including tax (minor units), worked out as Stripe does, so that
    the split can be sent with it: each line's amount plus the exclusive tax on it at the
    line's rates (an inclusive tax is inside the amount already). Refuses, as Stripe would,
    a line credited twice or above what it charged."""
    if not spec.lines:
        return spec.amount
    asked = [line.invoice_line_item for line in spec.lines]
    if len(set(asked)) != len(asked):
        raise ApplicationError("Credit each invoice line once.", "line")
    by_id = {line.id: line for line in invoice.lines}
    total = 0
    for asked_line in spec.lines:
        line, amount = _line_amount(by_id, asked_line, invoice.credited_lines)
        total += amount + _tax_on_top(line, amount, invoice.tax_rates)
    return total


def _line_amount(by_id, asked, credited):
    """The invoice line asked for, and the amount credited on it (before exclusive tax).
    `credited`: what earlier credit notes credited on each line, which Stripe counts too."""
    line = by_id.get(asked.invoice_line_item)
    if line is None:
        raise ApplicationError(f"Invoice line {quoted(asked.invoice_line_item)} is not on "
                               "this invoice.", "line")
    if asked.quantity is not None and asked.quantity > (line.quantity or 1):
        raise ApplicationError(f"Line {quoted(line.description)} has a quantity of "
                               f"{line.quantity or 1}; a "
                               f"credit cannot take back {asked.quantity}.", "line")
    amount = asked.amount if asked.amount is not None else \
        line.amount * asked.quantity // max(line.quantity or 1, 1)
    if amount > line.amount:
        raise ApplicationError(
            f"{format_amount(amount, line.currency)} is more than line {quoted(line.description)} "
            f"charged "
            f"({format_amount(line.amount, line.currency)}).", "line")
    before = credited.get(line.id, 0)
    if amount > line.amount - before:
        raise ApplicationError(
            f"{format_amount(amount, line.currency)} is more than line {quoted(line.description)} "
            f"has left to "
            f"credit: {format_amount(line.amount - before, line.currency)} of its "
            f"{format_amount(line.amount, line.currency)}, as earlier credit notes took "
            f"{format_amount(before, line.currency)}.", "line")
    return line, amount


def _tax_on_top(line, amount, rates):
    """The exclusive tax Stripe adds to `amount` credited on `line`, at the line's rates."""
    if any(tax.tax_rate not in rates for tax in line.taxes):
        raise ApplicationError(f"Stripe worked out the tax of line {quoted(line.description)} "
                               "without a tax rate the "
                               "console can read; credit it from the Stripe Dashboard.", "line")
    return tax_on_top(amount, [rates[tax.tax_rate] for tax in line.taxes])


def pending_credit(invoice, *, excluding=None):
    """The console's credits on the invoice not yet in Stripe's totals (minor units), but
    `excluding` (an action's id). Call it with the invoice's target lock held."""
    pending = MoneyAction.objects.filter(kind=_memo_slug(), stripe_target_id=invoice.id,
                                         state__in=IN_FLIGHT_STATES).exclude(pk=excluding)
    return pending.aggregate(total=Sum("amount"))["total"] or 0


def credited_on(invoice):
    """What the invoice has been credited (minor units): Stripe's totals as read, and at
    least what the console's own memos Stripe issued on it (less those voided) come to,
    for a read that is older than a memo issued since. Call it with the invoice's target
    lock held."""
    read = invoice.pre_payment_credit_notes_amount + invoice.post_payment_credit_notes_amount
    issued = MoneyAction.objects.filter(kind=_memo_slug(), state=State.SUCCEEDED,
                                        stripe_target_id=invoice.id)
    console = issued.exclude(voided_credit_notes()) \
        .aggregate(total=Sum("amount"))["total"] or 0
    return max(read, console)


def creditable_remainder(invoice, paid, *, excluding=None):
    """What the invoice can still be credited (minor units): its total, less its credit
    notes (`credited_on`), the console's credits on their way (`pending_credit`) and what
    the charge that paid it refunded outside credit notes (`refunded_outside_notes`).
    `paid`: `rules.paid_by`'s answer for it; `excluding`: an action left out (the one being
    sent). Call it with the invoice's target lock held."""
    return max(invoice.total - credited_on(invoice)
               - pending_credit(invoice, excluding=excluding)
               - refunded_outside_notes(paid, excluding=excluding), 0)


def refunded_outside_notes(paid, *, excluding=None):
    """What was refunded of the charge that paid an invoice outside its credit notes
    (minor units; 0 when no charge paid it, `paid` None): Stripe's read
    (`paid.refunded_outside_notes`), or the console's refunds and cancellations' refunds, on
    their way or through, whichever says more."""
    if paid is None:
        return 0
    given = [each for each in given_back_on(paid.charge.id, excluding=excluding)
             if not each.by_credit_note]
    return refunded_of(paid.charge, given, read=paid.refunded_outside_notes)


def split_basis(invoice):
    """What the split depends on, kept with the request so that every attempt sends the
    same split, whatever the invoice has become meanwhile."""
    return {"invoice_status": invoice.status, "outstanding": invoice.amount_remaining}


def split(basis, settle_to, amount):
    """Stripe's rule: a credit first lowers what is left to pay on an open invoice; the rest
    goes where `settle_to` says."""
    outstanding = basis["outstanding"] if basis["invoice_status"] == "open" else 0
    pre_payment = min(amount, outstanding)
    parts = {"refund_amount": 0, "credit_amount": 0, "out_of_band_amount": None}
    if amount - pre_payment:
        parts[SETTLEMENTS[settle_to]] = amount - pre_payment
    return parts


def stripe_credit_note_params(spec, amount, basis):
    """The parameters sent to Stripe, the same for the preview and for every attempt."""
    return {"invoice_id": spec.invoice_id, "lines": spec.lines,
            "amount": None if spec.lines else amount, "reason": spec.stripe_reason,
            "memo": spec.memo or None, **split(basis, spec.settle_to, amount)}


def credit_memo_preview(*, case, invoice, paid, spec, amount, requester):
    """Stripe's preview of the note (totals, tax, split) and the policy's verdicts. Refuses
    a preview whose total is not `amount`, the console's figure that the split and the
    policy were worked out on: what is created is what was previewed."""
    try:
        note = gateway.preview_credit_note(**stripe_credit_note_params(spec, amount,
                                                                       split_basis(invoice)))
    except PermanentStripeError as error:
        raise ApplicationError(f"Stripe refuses this credit note: {error.message}",
                               "credit_note") from error
    if note.total != amount:
        raise ApplicationError(
            f"Stripe works this credit out at {format_amount(note.total, invoice.currency)} "
            f"and the console at {format_amount(amount, invoice.currency)}, so nothing was "
            "sent: the invoice may have changed. Open it again and retry.", "credit_note")
    verdicts = verdicts_for(family=Family.GIVES_BACK, amount=amount,
                            currency=invoice.currency, customer_id=invoice.customer,
                            stripe_reason=spec.stripe_reason, requester=requester)
    return {
        "invoice_id": invoice.id, "invoice_status": invoice.status,
        "currency": invoice.currency,
        "creditable_remainder": creditable_remainder(invoice, paid),
        "amount": note.amount, "subtotal": note.subtotal, "tax": note.tax, "total": note.total,
        "tax_names": tax_names(note.taxes, invoice.tax_rates),
        "tax_included": tax_included(note.taxes),
        "pre_payment_amount": note.pre_payment_amount,
        "post_payment_amount": note.post_payment_amount,
        "refund_amount": _split_part(spec, "refund", note.post_payment_amount),
        "credit_amount": _split_part(spec, "customer_balance", note.post_payment_amount),
        "out_of_band_amount": note.out_of_band_amount or 0,
        "needs_approval": needs_approval(verdicts),
        "verdicts": [verdict.as_json() for verdict in verdicts],
    }


def _split_part(spec, settlement, post_payment):
    return post_payment if spec.settle_to == settlement else 0


# Subscriptions ---------------------------------------------------------------------------


def read_subscription(subscription_id):
    return read_from_stripe(lambda found: gateway.get_subscription(subscription_id=found),
                            subscription_id, noun="subscription",
                            missing="Choose a subscription.")


def plans_for(subscription):
    """The plans (`Price`s) the subscription's items can move to, by product name, period
    and amount: the active recurring prices in its currency, and each item's own price,
    even one no longer offered, so that its quantity alone can change."""
    offered = gateway.list_recurring_prices(currency=subscription.currency)
    listed = {price.id for price in offered}
    own = {item.price: Price(id=item.price, product=item.product,
                             product_name=item.product_name, unit_amount=item.unit_amount,
                             currency=item.currency, interval=item.interval,
                             interval_count=item.interval_count or 1)
           for item in subscription.items if item.price not in listed}
    shortest_first = list(BILLING_PERIODS)
    return sorted([*own.values(), *offered], key=lambda price: (
        price.product_name, shortest_first.index(price.interval), price.interval_count,
        price.unit_amount or 0))


def check_item_change(subscription, change, plans):
    """A change names one of the subscription's items and a new price among `plans`
    (`plans_for`) or a new quantity. Returns the `Price` the item moves to: its own when
    only its quantity changes."""
    item = next((item for item in subscription.items if item.id == change.get("item_id")),
                None)
    if item is None:
        raise ApplicationError("Choose an item of this subscription to change.", "item_id")
    quantity = change.get("quantity")
    if quantity is not None and (isinstance(quantity, bool) or not isinstance(quantity, int)
                                 or not 1 <= quantity <= MAX_QUANTITY):
        raise ApplicationError(f"A quantity is a whole number from 1 to {MAX_QUANTITY:,}.",
                               "quantity")
    if not change.get("price_id") and quantity is None:
        raise ApplicationError("Give a new price, a new quantity, or both.", "price_id")
    if change.get("proration_behavior") not in gateway.PRORATION_BEHAVIORS:
        raise ApplicationError(f"Proration is one of {', '.join(gateway.PRORATION_BEHAVIORS)}.",
                               "proration_behavior")
    price = {plan.id: plan for plan in plans}.get(change.get("price_id") or item.price)
    if price is None:
        raise ApplicationError(
            "That price is not a plan this subscription can move to: choose an active "
            f"recurring price in {subscription.currency.upper()}.", "price_id")
    return price


def restarts_period(item, price):
    """Whether moving `item` to `price` changes its billing interval (monthly to annual):
    Stripe then resets the billing cycle anchor to now, so the new price's first full
    period starts at once and is invoiced at once, whatever the proration behavior."""
    return (price.interval, price.interval_count or 1) != \
        (item.interval, item.interval_count or 1)


def subscription_change_preview(subscription, change, price):
    """Stripe's invoice preview of the change to `price` (`check_item_change`), at the
    change's own proration date, so that the change made later prorates exactly as shown.
    Amounts in minor units; the proration's total includes the exclusive tax on it
    (`proration_tax`). `invoiced_now`: the change makes an invoice at once (`invoice_total`,
    whose lines are `lines`), as `always_invoice` does and a new billing interval does
    (`restarts_period`); the next invoice is the renewal after that invoice."""
    item = next(item for item in subscription.items if item.id == change["item_id"])
    restarts = restarts_period(item, price)
    invoice = _preview_invoice(subscription, change)
    prorations = [line for line in invoice.lines if line.proration]
    tax = sum(exclusive_tax(line.taxes) for line in prorations)
    next_total, next_date = _next_invoice(subscription, change, invoice, restarts)
    return {
        "subscription_id": subscription.id, "currency": invoice.currency,
        "proration_behavior": change["proration_behavior"],
        # With the tax added on top, as the customer is charged or credited it.
        "proration_total": sum(line.amount for line in prorations) + tax,
        "proration_tax": tax,
        "restarts_period": restarts,
        "invoiced_now": restarts or change["proration_behavior"] == "always_invoice",
        "invoice_total": invoice.total, "amount_due": invoice.amount_due,
        "next_invoice_total": next_total, "next_invoice_date": next_date,
        "lines": [{"description": line.description, "amount": line.amount,
                   "proration": line.proration, "period_start": line.period_start,
                   "period_end": line.period_end} for line in invoice.lines],
    }


def _next_invoice(subscription, change, invoice, restarts):
    """(total with tax, Unix seconds or None) of the renewal that follows the change."""
    if restarts:
        # The invoice made now bills the new price's first full period; the next one
        # renews it when that period ends, at the same price.
        periods = [line for line in invoice.lines if not line.proration]
        return (sum(line.amount + exclusive_tax(line.taxes) for line in periods),
                min((line.period_end for line in periods if line.period_end), default=None))
    renewal = invoice
    if change["proration_behavior"] == "always_invoice":
        # The preview is then the invoice made at once; the renewal after it is Stripe's
        # preview of the same change without prorations.
        renewal = _preview_invoice(subscription, {**change, "proration_behavior": "none"})
    return renewal.total, min((line.period_start for line in renewal.lines
                               if not line.proration and line.period_start), default=None)


def _preview_invoice(subscription, change):
    try:
        return gateway.preview_subscription_change(subscription_id=subscription.id, **change)
    except PermanentStripeError as error:
        raise ApplicationError(f"Stripe refuses this change: {error.message}",
                               "subscription") from error


# What the case page suggests (`guidance.suggestions`) and these pages prepare ------------

# The names of the suggestions in their addresses (`money_actions.pages.SUGGESTED`).
SUGGEST_OVERBILLED_SEATS = "overbilled_seats"
SUGGEST_CANCEL_AT_PERIOD_END = "cancel_at_period_end"
# The internal reasons (seeded by `refunds/migrations/0002_seed_policy.py`) and Stripe's
# credit note reason they give.
OVERBILLED_REASON_CODE = "billing_error"
OVERBILLED_STRIPE_REASON = "order_change"
CANCELLATION_REASON_CODE = "cancellation"


@dataclass(frozen=True)
class OverbilledSeats:
    """`seats` units that line `line_index` (`line`) of `invoice` billed of a plan of which
    the subscription has `now` units left: seats removed after the invoice was made."""

    invoice: Invoice
    line_index: int
    line: InvoiceLine
    seats: int
    now: int


def latest_billed_invoice(subscription, invoices):
    """The subscription's latest open or paid invoice among `invoices`; None for none."""
    billed = [invoice for invoice in invoices if invoice.subscription == subscription.id
              and invoice.status in CREDITABLE_STATUSES]
    return max(billed, key=lambda invoice: invoice.created, default=None)


def overbilled_seats(invoice, subscription, credited):
    """The first line of `invoice` that bills more units of a plan than `subscription` has
    of it now, less the units credit notes have credited on it already (`credited`: by
    line id, the amount credited, as `Invoice.credited_lines`); None when there is none.
    A proration line bills part of a period, not seats, and is left out."""
    if invoice.subscription != subscription.id or invoice.status not in CREDITABLE_STATUSES:
        return None
    items = {item.price: item for item in subscription.items}
    for index, line in enumerate(invoice.lines):
        item = items.get(line.price)
        if item is None or line.proration or not line.quantity:
            continue
        unit = line.amount // line.quantity
        credited_units = credited.get(line.id, 0) // unit if unit else 0
        seats = line.quantity - item.quantity - credited_units
        if seats > 0:
            return OverbilledSeats(invoice=invoice, line_index=index, line=line, seats=seats,
                                   now=item.quantity)
    return None


def seats_words(seats):
    """"the overbilled seat", "the 2 overbilled seats"."""
    return "the overbilled seat" if seats == 1 else f"the {seats} overbilled seats"


def overbilled_seats_note(found):
    """The note drafted for crediting `found` (`OverbilledSeats`): "Invoice W9GW-0002
    billed 5 seats; the subscription has 4 since seats were removed, so the overbilled
    seat is credited."."""
    verb = "is" if found.seats == 1 else "are"
    return (f"{capfirst(stripe_name(found.invoice))} billed {found.line.quantity} seats; "
            f"the subscription has {found.now} since seats were removed, so "
            f"{seats_words(found.seats)} {verb} credited.")


def cancellable_at_period_end(subscription):
    """Whether the subscription runs and nothing is set to end it yet."""
    return subscription.status == "active" and not subscription.cancel_at_period_end \
        and not subscription.cancel_at


def cancel_at_period_end_note(subscription):
    """The note drafted for cancelling `subscription` at the end of its period."""
    ends = min((item.current_period_end for item in subscription.items
                if item.current_period_end), default=None)
    until = f", on {day_name(ends)}" if ends else ""
    return (f"The customer asked to cancel: {stripe_name(subscription)} runs to the end of "
            f"the period paid for{until}, and does not renew.")


# Cancel now with a refund of the last payment ---------------------------------------------

SUGGEST_CANCEL_WITH_REFUND = "cancel_with_refund"
# Stripe's reason on the refund of a cancellation.
CANCEL_REFUND_STRIPE_REASON = "requested_by_customer"
# The choice of what goes back: the unused part of the period, or the whole payment.
REFUND_UNUSED, REFUND_WHOLE = "unused", "whole"


@dataclass(frozen=True)
class LastPayment:
    """The subscription's latest paid invoice that bills a period of its plans.
    `period_start` and `period_end`: that period, in Unix seconds; `paid_for_period`: what
    the customer paid for the period's plan lines, their tax included, at most what the
    invoice was paid (minor units of the invoice's currency)."""

    invoice: Invoice
    period_start: int
    period_end: int
    paid_for_period: int

    @property
    def period_seconds(self):
        return self.period_end - self.period_start

    def runs_at(self, at):
        """Whether the period runs at `at` (Unix seconds)."""
        return self.period_start <= at < self.period_end

    def unused_seconds(self, at):
        """The seconds of the period after `at` (Unix seconds); none once it has ended."""
        return min(max(self.period_end - at, 0), self.period_seconds)

    def unused_refund(self, at):
        """What the part of the period unused at `at` gives back, in minor units:
        unused seconds / period seconds × `paid_for_period`, in whole numbers. Rounded up,
        in the customer's favour: Stripe rounds a proration to the nearest unit, but this
        is the customer's money going back, and the two differ by one unit at most."""
        return -(-self.unused_seconds(at) * self.paid_for_period // self.period_seconds)


def _plan_lines(invoice):
    """The invoice's lines that bill a plan for a whole period: not a proration, not an
    item added by hand."""
    return [line for line in invoice.lines if not line.proration and not line.invoice_item
            and line.period_start and line.period_end and line.period_end > line.period_start]


def last_payment_in(subscription, invoices):
    """The subscription's `LastPayment` among `invoices` (with their lines, as listed):
    its latest paid invoice with plan lines; None for none. Reads nothing."""
    billed = [invoice for invoice in invoices if invoice.subscription == subscription.id
              and invoice.status == "paid" and invoice.amount_paid and _plan_lines(invoice)]
    invoice = max(billed, key=lambda each: each.created, default=None)
    if invoice is None:
        return None
    lines = _plan_lines(invoice)
    paid = sum(line.amount + exclusive_tax(line.taxes) for line in lines)
    return LastPayment(invoice=invoice, period_start=min(line.period_start for line in lines),
                       period_end=max(line.period_end for line in lines),
                       paid_for_period=min(paid, invoice.amount_paid))


def last_payment(subscription):
    """The subscription's `LastPayment` as Stripe has it now, its invoice read whole; None
    for none. Network: the customer's latest paid invoices, then the one found."""
    listed = gateway.list_invoices(customer_id=subscription.customer, status="paid",
                                   limit=20).items
    found = last_payment_in(subscription, listed)
    if found is None:
        return None
    return last_payment_in(subscription, [gateway.get_invoice(invoice_id=found.invoice.id)])


def change_in_flight(subscription_id):
    """Whether a change the console asked for on the subscription waits for approval or
    Stripe: only changes to subscriptions act on one."""
    return MoneyAction.objects.filter(stripe_target_id=subscription_id,
                                      state__in=IN_FLIGHT_STATES).exists()


def unused_words(seconds):
    """"12 days", "1 day", "5 hours", "less than an hour": an unused time as people say
    it, whole days or hours, rounded down."""
    days, hours = seconds // 86_400, seconds // 3_600
    if days:
        return f"{days} day{'' if days == 1 else 's'}"
    if hours:
        return f"{hours} hour{'' if hours == 1 else 's'}"
    return "less than an hour"


def cancel_with_refund_note(subscription, payment):
    """The note drafted for cancelling `subscription` now with a refund of `payment` (a
    `LastPayment`), whichever part of it goes back."""
    return (f"The customer asked to cancel now and be refunded: {stripe_name(subscription)} "
            f"ends today, though {stripe_name(payment.invoice)} paid it to "
            f"{day_name(payment.period_end)}.")

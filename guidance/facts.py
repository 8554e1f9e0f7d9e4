"""Billing facts for Tier 2, in plain words, from a customer's Stripe snapshot.

`stripe_facts(snapshot)` says what matters on a case, most useful first: a likely duplicate
charge, disputes, refunds and when they reach the customer, the subscription, invoices,
credit notes and the customer's balance. `suggested_category(facts, case_category)` names
the case category whose playbook fits best.

Tier 2 is outsourced and sees only what it needs: a fact names amounts (`format_amount`),
dates (YYYY-MM-DD, UTC), reasons in words, and invoices by the number the customer has on
them (charges by amount and day); never Stripe's ids, card details, payment methods or the
customer's contact details.

Pure functions over the gateway's dataclasses: no network, and no database except the
refund policy's duplicate window when the caller does not pass one.
"""

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from operator import attrgetter

from django.utils import timezone

from billing_console.integrations.stripe.types import tax_names
from billing_console.money import REFUND_ARRIVAL, REFUND_BUSINESS_DAYS, format_amount
from billing_console.names import in_sentence, moment_name, reason_label, seconds_needed
from cases.models import Category
from money_actions.policy import duplicate_window, likely_duplicates

# Enough to answer the customer without burying the one fact that matters.
MAX_PER_KIND = 3
OPEN_DISPUTE_STATUSES = frozenset(
    ["warning_needs_response", "warning_under_review", "needs_response", "under_review"])
CLOSED_DISPUTE_OUTCOMES = frozenset(["won", "lost"])
# Subscription statuses in which the customer's payments are not going through.
UNPAID_SUBSCRIPTION_WORDS = {
    "past_due": "past due",
    "unpaid": "unpaid: payment retries have run out",
    "incomplete": "incomplete: the first payment has not gone through",
    "incomplete_expired": "expired: the first payment never went through",
}
# A likely duplicate changes what Tier 2 tells the customer whatever the ticket asked for.
OVERRIDING_KINDS = frozenset(["duplicate_charge"])


@dataclass(frozen=True)
class Fact:
    kind: str  # duplicate_charge, dispute, refund, subscription, invoice_status, ...
    text: str
    category_hint: str  # a cases.models.Category value


def stripe_facts(snapshot, *, now=None, duplicate_window_hours=None):
    """The facts of a `BillingSnapshot` that matter on a case, most useful first.

    `now` (an aware datetime, default: now) decides what is overdue or should have arrived;
    `duplicate_window_hours` defaults to the money policy's."""
    now = now or timezone.now()
    window = duplicate_window() if duplicate_window_hours is None else \
        timedelta(hours=duplicate_window_hours)
    charges = {charge.id: charge for charge in snapshot.charges}
    numbers = {invoice.id: invoice.number for invoice in snapshot.invoices}
    return [
        *_duplicate_facts(snapshot.charges, window),
        *(_dispute_fact(dispute, charges.get(dispute.charge))
          for dispute in _newest(snapshot.disputes)),
        *(_refund_fact(refund, now) for refund in _newest(snapshot.refunds)),
        *map(_subscription_fact, _newest(snapshot.subscriptions, "start_date")),
        *_invoice_facts(snapshot.invoices, now),
        *(_credit_note_fact(note, numbers.get(note.invoice))
          for note in _newest(snapshot.credit_notes)),
        *_balance_facts(snapshot.customer),
    ]


def suggested_category(facts, case_category):
    """The category whose playbook fits best: the case's own unless a fact overrides it
    (a likely duplicate); a case filed as "other" takes the most useful fact's."""
    for fact in facts:
        if fact.kind in OVERRIDING_KINDS:
            return fact.category_hint
    if case_category == Category.OTHER and facts:
        return facts[0].category_hint
    return case_category


# Duplicate charges ------------------------------------------------------------------------


def _duplicate_facts(charges, window):
    return [_duplicate_fact(run) for run in likely_duplicates(charges, window)[:MAX_PER_KIND]]


def _duplicate_fact(run):
    """`run`: newest first, as the Stripe panel's charges list it."""
    newest, oldest = run[0], run[-1]
    text = (f"{len(run)} charges of {format_amount(newest.amount, newest.currency)} within "
            f"{_duration(newest.created - oldest.created)}, {_times(run)}: likely duplicate")
    refunded = sum(charge.amount_refunded for charge in run)
    if refunded:
        text += f"; {format_amount(refunded, newest.currency)} already refunded"
    return Fact("duplicate_charge", text, Category.DUPLICATE_CHARGE)


def _times(run):
    """"at 10:52 and 10:51 UTC on 2026-11-30", each time with its day when they differ,
    and with its seconds when two are of one minute."""
    seconds = seconds_needed([charge.created for charge in run])
    times = [moment_name(charge.created, day=False, seconds=seconds) for charge in run]
    days = [_date(charge.created) for charge in run]
    if len(set(days)) == 1:
        return f"at {_listed(times)} UTC on {days[0]}"
    each = [f"{time} on {day}" for time, day in zip(times, days, strict=True)]
    return f"at {_listed(each)} (UTC)"


def _listed(words):
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _duration(seconds):
    """Rounded up, so that "within" stays true."""
    minutes = max(1, math.ceil(seconds / 60))
    if minutes < 60:
        return _count(minutes, "minute")
    return _count(math.ceil(minutes / 60), "hour")


# Disputes and refunds -----------------------------------------------------------------------


def _dispute_fact(dispute, charge):
    """`charge`: the disputed charge, when the snapshot lists it."""
    if dispute.status in OPEN_DISPUTE_STATUSES:
        state = f"open since {_date(dispute.created)}"
    else:
        state = dispute.status if dispute.status in CLOSED_DISPUTE_OUTCOMES else "closed"
    on = f"the charge of {_date(charge.created)}" if charge else "a charge"
    text = (f"dispute of {format_amount(dispute.amount, dispute.currency)} on {on} {state} "
            f"({_stripe_reason(dispute.reason)})")
    # The customer has asked their bank for the money back, and no refund is possible
    # while it is open: the refund playbook says what to tell them.
    return Fact("dispute", text, Category.REFUND_REQUEST)


def _refund_fact(refund, now):
    money, issued = format_amount(refund.amount, refund.currency), _date(refund.created)
    if refund.status == "failed":
        text = (f"refund of {money} from {issued} failed "
                f"({_stripe_reason(refund.failure_reason) or 'no reason given'})")
    elif refund.status == "canceled":
        text = f"refund of {money} from {issued} canceled"
    else:
        text = f"refund of {money} issued {issued}; {_refund_arrival(refund, now)}"
    return Fact("refund", text, Category.REFUND_REQUEST)


def _refund_arrival(refund, now):
    """Past the last business day a succeeded refund may take, the customer should ask
    their bank; a pending one has not left Stripe yet, so its days have not started."""
    arrives_by = _add_business_days(_day(refund.created), REFUND_BUSINESS_DAYS)
    if refund.status == "succeeded" and now.astimezone(UTC).date() > arrives_by:
        return f"should have arrived by {arrives_by.isoformat()}"
    return f"arrives in {REFUND_ARRIVAL}"


def _add_business_days(day, count):
    while count:
        day += timedelta(days=1)
        if day.weekday() < 5:
            count -= 1
    return day


# Subscriptions ------------------------------------------------------------------------------


def _subscription_fact(subscription):
    words, hint = _subscription_state(subscription)
    return Fact("subscription", f"subscription {words}", hint)


def _subscription_state(subscription):
    """(words, category hint). A payment problem comes first: it is what the customer
    feels, even on a subscription that is also set to cancel."""
    status = subscription.status
    if status == "canceled":
        ended = subscription.ended_at or subscription.canceled_at
        return f"canceled{_on(ended)}", Category.PLAN_CHANGE
    if status in UNPAID_SUBSCRIPTION_WORDS:
        return UNPAID_SUBSCRIPTION_WORDS[status], Category.FAILED_PAYMENT
    period_end = _period_end(subscription)
    if subscription.cancel_at_period_end:
        return (f"cancels at period end{_on(subscription.cancel_at or period_end)}",
                Category.PLAN_CHANGE)
    if subscription.cancel_at:
        return f"cancels{_on(subscription.cancel_at)}", Category.PLAN_CHANGE
    if status == "trialing":
        return f"in trial{_on(period_end, 'until')}", Category.PLAN_CHANGE
    if status == "paused":
        return "paused", Category.PLAN_CHANGE
    return f"active; renews{_on(period_end)}", Category.PLAN_CHANGE


def _period_end(subscription):
    ends = [item.current_period_end for item in subscription.items if item.current_period_end]
    return min(ends, default=None)


# Invoices, credit notes and the balance -----------------------------------------------------


def _invoice_facts(invoices, now):
    # A draft is unfinished work in Stripe that the customer has not seen.
    sent = [invoice for invoice in invoices if invoice.status != "draft"]
    return [_invoice_fact(invoice, now) for invoice in _newest(sent)]


def _invoice_fact(invoice, now):
    words, hint = _invoice_state(invoice, now)
    return Fact("invoice_status", f"{_invoice_name(invoice.number)} {words}", hint)


def _invoice_name(number):
    """Stripe numbers an invoice once it is sent; the number is what the customer has."""
    return f"invoice {number}" if number else "an invoice"


def _invoice_state(invoice, now):
    """(words, category hint) for an invoice that is not a draft."""
    moved = invoice.status_transitions
    total = format_amount(invoice.total, invoice.currency) + _including_tax(invoice)
    remaining = format_amount(invoice.amount_remaining, invoice.currency) + \
        _including_tax(invoice)
    if invoice.status == "paid":
        return f"of {total} paid{_on(moved.get('paid_at'))}", Category.INVOICE_DISPUTE
    if invoice.status == "void":
        return f"voided{_on(moved.get('voided_at'))}", Category.INVOICE_DISPUTE
    if invoice.status == "uncollectible":
        return (f"marked uncollectible{_on(moved.get('marked_uncollectible_at'))}, "
                f"{remaining} unpaid", Category.INVOICE_DISPUTE)
    if invoice.due_date is None:
        # Charged automatically: still open means the payment has not gone through.
        return f"open, {remaining} not yet paid", Category.FAILED_PAYMENT
    if now.timestamp() > invoice.due_date:
        return (f"open, {remaining} overdue since {_date(invoice.due_date)}",
                Category.FAILED_PAYMENT)
    return f"open, {remaining} due on {_date(invoice.due_date)}", Category.INVOICE_DISPUTE


def _including_tax(document):
    """" including 20% VAT" for an invoice or credit note with tax, else ""."""
    names = tax_names(document.taxes, document.tax_rates)
    return f" including {' and '.join(names)}" if names else ""


def _credit_note_fact(note, invoice_number):
    money = format_amount(note.total or note.amount, note.currency) + _including_tax(note)
    if note.status == "void":
        text = (f"credit note of {money} on {_invoice_name(invoice_number)} "
                f"voided{_on(note.voided_at)}")
    else:
        text = (f"credit note of {money} issued {_date(note.created)} on "
                f"{_invoice_name(invoice_number)}")
        if settlement := _credit_note_settlement(note):
            text += f": {settlement}"
    return Fact("credit_note", text, Category.INVOICE_DISPUTE)


def _credit_note_settlement(note):
    """Where the credit went ("" for none); amounts only when it went more than one way."""
    out_of_band = note.out_of_band_amount or 0
    parts = [(amount, words) for amount, words in (
        (note.pre_payment_amount, "taken off the amount due"),
        (note.refund_amount, "refunded"),
        (out_of_band, "settled outside Stripe"),
        (note.post_payment_amount - note.refund_amount - out_of_band,
         "credited to the customer balance"),
    ) if amount > 0]
    if len(parts) == 1:
        return parts[0][1]
    return ", ".join(f"{format_amount(amount, note.currency)} {words}"
                     for amount, words in parts)


def _balance_facts(customer):
    # Stripe sets the currency with the first balance change; without one there is none.
    if not customer.balance or not customer.currency:
        return []
    money = format_amount(abs(customer.balance), customer.currency)
    # Stripe's customer balance is what the customer owes: negative is credit.
    if customer.balance < 0:
        text = f"customer has {money} of credit toward the next invoices"
    else:
        text = f"customer owes {money}, added to the next invoice"
    return [Fact("balance", text, Category.INVOICE_DISPUTE)]


# Words --------------------------------------------------------------------------------------


def _newest(items, field="created"):
    return sorted(items, key=attrgetter(field), reverse=True)[:MAX_PER_KIND]


def _day(timestamp):
    return datetime.fromtimestamp(timestamp, UTC).date()


def _date(timestamp):
    return _day(timestamp).isoformat()


def _on(timestamp, preposition="on"):
    """" on YYYY-MM-DD", or nothing when Stripe gave no time."""
    return f" {preposition} {_date(timestamp)}" if timestamp else ""


def _stripe_reason(code):
    """Stripe's `expired_or_canceled_card` as "expired or canceled card" (Stripe's reasons
    only: no database)."""
    return in_sentence(reason_label(code, console={}))


def _count(number, noun):
    return f"{number} {noun}{'' if number == 1 else 's'}"

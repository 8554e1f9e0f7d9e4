"""What the case page offers to do, worked out from the billing facts it shows: each
suggestion is one link to the usual form of a money action, prepared.

- **A duplicate.** In each run of likely duplicate charges (`policy.likely_duplicates`,
  the rule and the order of Tier 2's facts too), the oldest is kept and each later one
  with something left to refund and no refund on its way is to be refunded: all that is
  left of it (`money_actions.selectors.refund_left_on`), named when it is not the whole.
- **Overbilled seats.** A subscription's latest open or paid invoice bills more seats of a
  plan than the subscription has now, and no credit is on its way: credit the difference.
- **Cancel at period end.** The case asks for a plan change or cancellation and a
  subscription runs with nothing set to end it.
- **Cancel now with a refund.** The case asks for a plan change or cancellation, a
  subscription is active, and its last payment's period runs now: cancel now and refund
  the unused part (`credit_memos.selectors.LastPayment`), its amount named only while
  nothing can have been given back of that payment (`_all_of_it_left`).

Neither cancellation is offered for a subscription with a change to it on its way: its
preview, like its request, would refuse another.

A suggestion's address names the suggestion (`money_actions.pages.SUGGESTED`), never an
amount: the form reads Stripe again and fills in what still holds, or shows its usual blank
form, and the preview and the policy follow as for any action. The Stripe panel shows the
suggestions to those who may move money, and lists a run's charges together
(`charge_rows`), the one kept and those to refund marked.

Reads: the snapshot, and the console's requests in flight on the objects concerned (a few
queries per duplicate and per subscription); no Stripe call.
"""

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

from django.urls import reverse

from billing_console.integrations.stripe.types import Charge, credited_by_line
from billing_console.money import format_amount
from billing_console.names import moment_name, seconds_needed, stripe_name
from cases.models import Category
from credit_memos import kinds as credit_kinds
from credit_memos.selectors import (
    SUGGEST_CANCEL_AT_PERIOD_END,
    SUGGEST_CANCEL_WITH_REFUND,
    SUGGEST_OVERBILLED_SEATS,
    cancellable_at_period_end,
    change_in_flight,
    last_payment_in,
    latest_billed_invoice,
    overbilled_seats,
    pending_credit,
    seats_words,
    unused_words,
)
from money_actions.pages import SUGGESTED
from money_actions.policy import duplicate_window, likely_duplicates
from money_actions.selectors import gives_back_on_the_way, refund_left_on
from refunds.selectors import (
    SUGGEST_DUPLICATE,
    charge_kept,
    refund_in_flight,
)

# The words of the Charges table's marks.
KEEP, REFUND_THIS, DUPLICATE = "Keep", "Refund this", "Duplicate"


@dataclass(frozen=True)
class Suggestion:
    kind: str  # the name its address gives it: SUGGEST_DUPLICATE, SUGGEST_OVERBILLED_SEATS…
    text: str  # "Refund the duplicate 17.50 USD charge of 30 Nov 10:52 (keep the one of 10:51)"
    url: str  # the prepared form


@dataclass(frozen=True)
class DuplicateRun:
    """A run of likely duplicate charges, newest first; `to_refund`, those of them worth
    refunding: not the one kept, not disputed, something left, no refund on its way;
    `left`, what each of those has left to refund (minor units, by charge id)."""

    charges: tuple[Charge, ...]
    kept: Charge
    to_refund: tuple[Charge, ...]
    left: dict[str, int]


@dataclass(frozen=True)
class ChargeRow:
    """A row of the Stripe panel's Charges table: the charge, its disputes, its mark
    (KEEP, REFUND_THIS, DUPLICATE or "") and, to refund, the suggestion's address."""

    charge: Charge
    disputes: tuple
    mark: str = ""
    refund_url: str = ""


def duplicate_runs(snapshot, *, window=None):
    """The snapshot's runs of likely duplicates (`DuplicateRun`), newest first; `window`,
    a timedelta, defaults to the money policy's."""
    runs = []
    for run in likely_duplicates(snapshot.charges, window or duplicate_window()):
        kept = charge_kept(run)
        left = {charge.id: refund_left_on(charge) for charge in run
                if charge is not kept and not charge.disputed}
        to_refund = tuple(charge for charge in run if left.get(charge.id)
                          and not refund_in_flight(charge))
        runs.append(DuplicateRun(charges=tuple(run), kept=kept, to_refund=to_refund,
                                 left={charge.id: left[charge.id] for charge in to_refund}))
    return runs


def suggested_actions(case, snapshot, *, runs=None):
    """The actions to offer on `case`, whose Stripe customer's `snapshot` the panel shows,
    most pressing first: refunds of duplicates, credits of overbilled seats, cancellations
    at period end. `runs`: `duplicate_runs(snapshot)`, when the caller has them."""
    runs = duplicate_runs(snapshot) if runs is None else runs
    return [
        *(_duplicate_suggestion(case, run, charge) for run in runs for charge in run.to_refund),
        *_overbilled_seats_suggestions(case, snapshot),
        *_cancel_suggestions(case, snapshot),
    ]


def charge_rows(case, snapshot, runs):
    """The Charges table: newest first, as Stripe lists them, but each run of duplicates
    together at its newest charge's place, in the run's order (the facts' order), even when
    another charge (one that failed) came between them."""
    runs_by_charge = {charge.id: run for run in runs for charge in run.charges}
    disputes = {}
    for dispute in snapshot.disputes:
        disputes.setdefault(dispute.charge, []).append(dispute)
    rows, shown = [], set()
    for charge in snapshot.charges:
        if charge.id in shown:
            continue
        run = runs_by_charge.get(charge.id)
        for each in run.charges if run else (charge,):
            rows.append(_charge_row(case, each, tuple(disputes.get(each.id, ())), run))
            shown.add(each.id)
    return rows


def _charge_row(case, charge, disputes, run):
    if run is None:
        return ChargeRow(charge, disputes)
    if charge is run.kept:
        return ChargeRow(charge, disputes, KEEP)
    if charge in run.to_refund:
        return ChargeRow(charge, disputes, REFUND_THIS, _refund_url(case, charge))
    return ChargeRow(charge, disputes, DUPLICATE)


# Each suggestion ----------------------------------------------------------------------------


def _duplicate_suggestion(case, run, charge):
    kept = run.kept
    seconds = seconds_needed([charge.created, kept.created])
    same_day = _day(kept.created) == _day(charge.created)
    # Charges of one second have one time: the table's marks tell them apart.
    keep = "the other, made the same second" if kept.created == charge.created else \
        f"the one of {moment_name(kept.created, day=not same_day, seconds=seconds)}"
    left = run.left[charge.id]
    what = "the duplicate" if left == charge.amount else \
        f"the {format_amount(left, charge.currency)} left of the duplicate"
    return Suggestion(
        SUGGEST_DUPLICATE,
        f"Refund {what} {format_amount(charge.amount, charge.currency)} charge of "
        f"{moment_name(charge.created, seconds=seconds)} (keep {keep})",
        _refund_url(case, charge))


def _overbilled_seats_suggestions(case, snapshot):
    credited = credited_by_line(snapshot.credit_notes)
    for subscription in snapshot.subscriptions:
        invoice = latest_billed_invoice(subscription, snapshot.invoices)
        found = invoice and overbilled_seats(invoice, subscription, credited)
        if found and not pending_credit(invoice):
            yield Suggestion(
                SUGGEST_OVERBILLED_SEATS,
                f"Credit {seats_words(found.seats)} on {stripe_name(invoice)}",
                _prepared("credit_memos:credit-memo", SUGGEST_OVERBILLED_SEATS, case.pk,
                          invoice.id))


def _cancel_suggestions(case, snapshot):
    if case.category != Category.PLAN_CHANGE:
        return
    now = int(time.time())
    for subscription in snapshot.subscriptions:
        if change_in_flight(subscription.id):
            continue  # its preview would refuse any other change
        if cancellable_at_period_end(subscription):
            yield Suggestion(
                SUGGEST_CANCEL_AT_PERIOD_END,
                f"Cancel {stripe_name(subscription)} at period end",
                _prepared("credit_memos:subscription", SUGGEST_CANCEL_AT_PERIOD_END, case.pk,
                          subscription.id, credit_kinds.SUBSCRIPTION_CANCEL_AT_PERIOD_END.slug))
        payment = last_payment_in(subscription, snapshot.invoices)
        if subscription.status == "active" and payment and payment.runs_at(now):
            how_much = format_amount(payment.unused_refund(now), payment.invoice.currency) \
                if _all_of_it_left(snapshot, payment) else "the form shows what is left"
            yield Suggestion(
                SUGGEST_CANCEL_WITH_REFUND,
                f"Cancel {stripe_name(subscription)} now and refund the unused "
                f"{unused_words(payment.unused_seconds(now))} ({how_much})",
                _prepared("credit_memos:subscription", SUGGEST_CANCEL_WITH_REFUND, case.pk,
                          subscription.id, credit_kinds.SUBSCRIPTION_CANCEL_WITH_REFUND.slug))


def _refund_url(case, charge):
    return _prepared("refunds:new", SUGGEST_DUPLICATE, case.pk, charge.id)


def _prepared(view, suggestion, *args):
    return f"{reverse(view, args=args)}?{urlencode({SUGGESTED: suggestion})}"


def _day(timestamp):
    return datetime.fromtimestamp(timestamp, UTC).date()


def _all_of_it_left(snapshot, payment):
    """Whether the last payment's charge surely has all of it left to refund: no charge of
    the customer refunded, refunding or disputed, no credit note on the invoice since it was paid,
    and nothing of the console's giving back on its way. The snapshot does not say which
    charge paid an invoice (Stripe's invoice payments do, a read per invoice), so the
    suggestion names an amount only when nothing can have taken from it; the form reads
    the charge and shows what is left."""
    return (not any(charge.amount_refunded or charge.refunds or charge.disputed
                    for charge in snapshot.charges)
            and not payment.invoice.post_payment_credit_notes_amount
            and not gives_back_on_the_way(snapshot.customer.id))

"""The pages for credit memos, invoice adjustments, balance moves and subscription
changes, each reached from its object in the case's Stripe panel and run by the shared
money-action page flow (`money_actions.pages`)."""

import time
from datetime import UTC, datetime

from django.utils.text import capfirst
from django.views.decorators.http import require_http_methods

from billing_console.access import Capability, requires
from billing_console.exceptions import PageNotFound
from billing_console.money import REFUND_ARRIVAL, format_amount
from billing_console.names import in_sentence, plan_change_name, stripe_name, stripe_status
from credit_memos import kinds, rules, services
from credit_memos.forms import (
    SETTLEMENT_LABELS,
    BalanceForm,
    CancelNowForm,
    CancelWithRefundForm,
    CreditMemoForm,
    DraftInvoiceForm,
    SubscriptionChangeForm,
)
from credit_memos.selectors import (
    CANCELLATION_REASON_CODE,
    OVERBILLED_REASON_CODE,
    OVERBILLED_STRIPE_REASON,
    REFUND_UNUSED,
    REFUND_WHOLE,
    SUGGEST_CANCEL_AT_PERIOD_END,
    SUGGEST_OVERBILLED_SEATS,
    cancel_at_period_end_note,
    cancel_with_refund_note,
    cancellable_at_period_end,
    check_item_change,
    console_memo,
    credit_memo_preview,
    creditable_remainder,
    overbilled_seats,
    overbilled_seats_note,
    pending_credit,
    plans_for,
    read_credit_note,
    read_customer,
    read_subscription,
    subscription_change_preview,
    unused_words,
)
from money_actions.forms import ReasonForm
from money_actions.kinds import Family
from money_actions.pages import ActionPage, Preview, action_page_view
from money_actions.policy import Verdict, verdicts_for
from money_actions.selectors import refund_left_on


def _money(amount, currency):
    return format_amount(amount, currency)


class CreditMemoPage(ActionPage):
    kind = kinds.CREDIT_MEMO
    title = "Credit memo"
    noun = "credit memo"
    summary_template = "credit_memos/_invoice_summary.html"

    def form(self, invoice, data=None):
        return CreditMemoForm(data=data, invoice=invoice,
                              initial=self.initial(invoice) if data is None else {})

    def initial(self, invoice):
        """Suggested, the seats the invoice billed that its subscription no longer has:
        the line's seat count, the reasons and a note; blank when that no longer holds
        (a seat added back, a credit already given or on its way)."""
        if self.suggested != SUGGEST_OVERBILLED_SEATS or not invoice.subscription \
                or pending_credit(invoice):
            return {}
        found = overbilled_seats(invoice, read_subscription(invoice.subscription),
                                 invoice.credited_lines)
        if found is None:
            return {}
        return {f"line_{found.line_index}_quantity": found.seats,
                "stripe_reason": OVERBILLED_STRIPE_REASON,
                "reason_code": OVERBILLED_REASON_CODE, "note": overbilled_seats_note(found)}

    def context(self, case, invoice):
        return {"invoice": invoice,
                "remainder": creditable_remainder(invoice, rules.paid_by(invoice))}

    def preview(self, *, case, target, form, user):
        spec = form.spec()
        services.validate_spec(spec)
        paid = rules.paid_by(target)
        amount = services.validate_against_invoice(case=case, invoice=target, spec=spec,
                                                   paid=paid)
        shown = credit_memo_preview(case=case, invoice=target, paid=paid, spec=spec,
                                    amount=amount, requester=user)
        currency = target.currency
        return Preview(
            verdicts=[Verdict(**verdict) for verdict in shown["verdicts"]],
            confirm_label=f"Confirm credit memo of {_money(shown['total'], currency)}", rows=[
                ("Invoice", f"{capfirst(stripe_name(target))} ({stripe_status(target.status)})"),
                ("Credit", _credit_words(shown, currency)),
                ("The invoice then", _invoice_after(target, shown)),
                ("Lowers what is due by", _money(shown["pre_payment_amount"], currency)),
                ("Settled", f"{_money(shown['post_payment_amount'], currency)} — "
                            f"{in_sentence(SETTLEMENT_LABELS[spec.settle_to])}"),
            ])

    def prepare(self, *, case, target, form, user):
        return rules.paid_by(target)

    def request(self, *, case, target, form, user, origin, prepared):
        data = form.cleaned_data
        return services.credit_memo_request(case=case, invoice=target, spec=form.spec(),
                                            paid=prepared, reason_code=data["reason_code"],
                                            note=data["note"], actor=user, origin=origin)


def _credit_words(shown, currency):
    """"10.00 + 20% VAT 2.00 = 12.00", "12.00 including 10% GST 1.09", or "12.00"."""
    total, tax = _money(shown["total"], currency), _money(shown["tax"], currency)
    names = ", ".join(shown["tax_names"]) or "tax"
    if not shown["tax"]:
        return total
    if shown["tax_included"]:
        return f"{total} including {names} {tax}"
    return f"{_money(shown['subtotal'], currency)} + {names} {tax} = {total}"


def _invoice_after(invoice, shown):
    """The totals the customer sees on the invoice once the credit note is issued."""
    currency = invoice.currency
    credited = (invoice.pre_payment_credit_notes_amount
                + invoice.post_payment_credit_notes_amount + shown["total"])
    left = max(invoice.amount_remaining - shown["pre_payment_amount"], 0)
    return (f"total {_money(invoice.total, currency)}, credited {_money(credited, currency)}, "
            f"left to pay {_money(left, currency)}")


class CreditMemoVoidPage(ActionPage):
    title = "Void the credit memo"
    noun = "void"
    form_class = ReasonForm
    summary_template = "credit_memos/_memo_summary.html"

    def read(self, target_id):
        return console_memo(target_id)

    def context(self, case, memo):
        return {"memo": memo}

    def preview(self, *, case, target, form, user):
        note = read_credit_note(target.stripe_object_id)
        rules.check_void(note)
        verdicts = verdicts_for(family=Family.TAKES, amount=target.amount,
                                currency=target.currency,
                                customer_id=target.stripe_customer_id, requester=user)
        return Preview(verdicts=verdicts, confirm_label="Confirm the void", rows=[
            ("Credit note", f"{capfirst(stripe_name(note))} on "
                            f"{target.target_name or 'its invoice'}"),
            ("Taken back", _money(target.amount, target.currency)),
            ("Effect", "The invoice owes the credit again, or the balance credit is "
                       "removed.")])

    def prepare(self, *, case, target, form, user):
        return read_credit_note(target.stripe_object_id)

    def request(self, *, case, target, form, user, origin, prepared):
        data = form.cleaned_data
        return services.credit_memo_void(memo=target, credit_note=prepared,
                                         reason_code=data["reason_code"], note=data["note"],
                                         actor=user, origin=origin)


# By kind slug, the words the URL uses too.
INVOICE_PAGES = {
    kinds.INVOICE_VOID.slug: (kinds.INVOICE_VOID, "Void the invoice"),
    kinds.INVOICE_UNCOLLECTIBLE.slug: (kinds.INVOICE_UNCOLLECTIBLE, "Write off the invoice"),
    kinds.INVOICE_PAID_OUT_OF_BAND.slug: (kinds.INVOICE_PAID_OUT_OF_BAND,
                                          "Mark the invoice paid out of band"),
    kinds.INVOICE_EDIT.slug: (kinds.INVOICE_EDIT, "Change the draft invoice"),
}


class InvoiceAdjustmentPage(ActionPage):
    noun = "change"
    summary_template = "credit_memos/_invoice_summary.html"

    def __init__(self, slug):
        if slug not in INVOICE_PAGES:
            raise PageNotFound("The console has no such change to an invoice. Go back to the case "
                               "and choose one beside the invoice in its Stripe panel.")
        self.kind, self.title = INVOICE_PAGES[slug]

    def form(self, invoice, data=None):
        if self.kind == kinds.INVOICE_EDIT:
            return DraftInvoiceForm(data=data, invoice=invoice)
        return ReasonForm(data=data)

    def context(self, case, invoice):
        return {"invoice": invoice}

    def preview(self, *, case, target, form, user):
        rules.check_invoice_allows(self.kind.slug, target)
        if self.kind == kinds.INVOICE_EDIT:
            amount, added, params = services.draft_changes_params(target, **form.changes())
            detail, after = _draft_change_words(target, params, amount, added)
            verdicts = services.draft_change_verdicts(invoice=target, removed=amount,
                                                      added=added, requester=user)
            confirm = f"Confirm: change the draft invoice to {after}"
        else:
            amount, detail = services.let_off(target), self.title
            verdicts = verdicts_for(family=self.kind.family, amount=amount,
                                    currency=target.currency, customer_id=target.customer,
                                    requester=user)
            confirm = f"Confirm: {in_sentence(self.title)}"
        return Preview(
            verdicts=verdicts, confirm_label=confirm, rows=[
                ("Invoice", f"{capfirst(stripe_name(target))} "
                            f"({stripe_status(target.status)})"),
                ("Change", detail),
                ("No longer owed", _money(amount, target.currency))])

    def request(self, *, case, target, form, user, origin, prepared):
        data = form.cleaned_data
        changes = form.changes() if self.kind == kinds.INVOICE_EDIT else None
        return services.invoice_adjustment_request(
            case=case, kind=self.kind, invoice=target, changes=changes,
            reason_code=data["reason_code"], note=data["note"], actor=user, origin=origin)


def _draft_change_words(invoice, params, removed, added):
    """(what a draft's change does, in words, and the invoice's total after it) for
    `params` of `services.draft_changes_params`, `removed` and `added` their sums in minor
    units: "Adds Onboarding · 12.50 USD; removes nothing; then finalizes: the invoice's
    total becomes 175.00 USD". Stripe adds the tax of a taxed invoice on top, so there the
    total after is its subtotal's."""
    currency = invoice.currency
    lines = {line.invoice_item: line for line in invoice.lines if line.invoice_item}
    adds = "; ".join(f"{item['description']} · {_money(item['amount'], currency)}"
                     for item in params["add"])
    removes = "; ".join(f"{lines[item].description} · {_money(lines[item].amount, currency)}"
                        for item in params["remove"])
    taxed = bool(invoice.taxes)
    after = _money((invoice.subtotal if taxed else invoice.total) - removed + added, currency)
    becomes = f"its subtotal becomes {after}, before tax" if taxed else \
        f"the invoice's total becomes {after}"
    then = "then finalizes" if params["finalize"] else "stays a draft"
    return (f"Adds {adds or 'nothing'}; removes {removes or 'nothing'}; {then}: {becomes}",
            after)


class BalancePage(ActionPage):
    title = "Adjust the customer's balance"
    noun = "balance change"
    form_class = BalanceForm
    summary_template = "credit_memos/_customer_summary.html"

    def read(self, target_id):
        return read_customer(target_id)

    def initial(self, customer):
        return {"currency": customer.currency or "usd"}

    def context(self, case, customer):
        return {"customer": customer}

    def preview(self, *, case, target, form, user):
        data, amount = form.cleaned_data, form.minor_amount()
        currency = services.check_balance_change(case=case, customer=target, amount=amount,
                                                 currency=data["currency"],
                                                 description=data["description"])
        kind = BALANCE_KINDS[data["direction"]]
        credit = kind == kinds.BALANCE_CREDIT
        verdicts = verdicts_for(family=kind.family, amount=amount, currency=currency,
                                customer_id=target.id, requester=user)
        sign = -1 if credit else 1
        return Preview(verdicts=verdicts, confirm_label="Confirm the balance change", rows=[
            ("Change", f"{'Credit' if credit else 'Debit'} of "
                       f"{_money(amount, currency)}: “{data['description']}”"),
            ("Balance after", _money(target.balance + sign * amount, currency))])

    def request(self, *, case, target, form, user, origin, prepared):
        data = form.cleaned_data
        return services.balance_adjustment_request(
            case=case, customer=target, kind=BALANCE_KINDS[data["direction"]],
            amount=form.minor_amount(),
            currency=data["currency"], description=data["description"],
            reason_code=data["reason_code"], note=data["note"], actor=user, origin=origin)


BALANCE_KINDS = {kind.slug: kind for kind in (kinds.BALANCE_CREDIT, kinds.BALANCE_DEBIT)}
SUBSCRIPTION_PAGES = {
    kinds.SUBSCRIPTION_CHANGE.slug: (kinds.SUBSCRIPTION_CHANGE, "Change plan",
                                     SubscriptionChangeForm),
    kinds.SUBSCRIPTION_CANCEL.slug: (kinds.SUBSCRIPTION_CANCEL, "Cancel now", CancelNowForm),
    kinds.SUBSCRIPTION_CANCEL_AT_PERIOD_END.slug: (kinds.SUBSCRIPTION_CANCEL_AT_PERIOD_END,
                                                   "Cancel at the end of the period",
                                                   ReasonForm),
    kinds.SUBSCRIPTION_RESUME.slug: (kinds.SUBSCRIPTION_RESUME,
                                     "Undo the scheduled cancellation", ReasonForm),
}


class SubscriptionPage(ActionPage):
    noun = "change"
    summary_template = "credit_memos/_subscription_summary.html"

    def __init__(self, slug):
        if slug not in SUBSCRIPTION_PAGES:
            raise PageNotFound("The console has no such change to a subscription. Go back to the "
                               "case and choose one beside the subscription in its Stripe "
                               "panel.")
        self.kind, self.title, self.form_class = SUBSCRIPTION_PAGES[slug]

    def form(self, subscription, data=None):
        if self.form_class is SubscriptionChangeForm:
            return SubscriptionChangeForm(data=data, subscription=subscription,
                                          prices=plans_for(subscription),
                                          initial={"proration_date": int(time.time())})
        return self.form_class(data=data,
                               initial=self.initial(subscription) if data is None else {})

    def initial(self, subscription):
        """Suggested, a cancellation at period end: its reason and a note; blank when the
        subscription no longer runs or already ends."""
        if self.kind != kinds.SUBSCRIPTION_CANCEL_AT_PERIOD_END or \
                self.suggested != SUGGEST_CANCEL_AT_PERIOD_END or \
                not cancellable_at_period_end(subscription):
            return {}
        return {"reason_code": CANCELLATION_REASON_CODE,
                "note": cancel_at_period_end_note(subscription)}

    def context(self, case, subscription):
        return {"subscription": subscription}

    def preview(self, *, case, target, form, user):
        rules.check_subscription_allows(self.kind.slug, target)
        if self.kind == kinds.SUBSCRIPTION_CHANGE:
            return self._plan_change(target, form, user)
        return Preview(verdicts=self._verdicts(target, form, None, user),
                       confirm_label=f"Confirm: {in_sentence(self.title)}",
                       rows=[("Subscription", f"{capfirst(stripe_name(target))} "
                                              f"({stripe_status(target.status)})"),
                             ("Change", self.title)])

    def _plan_change(self, subscription, form, user):
        shown = self._plan_change_preview(subscription, form)
        phrase = _proration_phrase(shown)
        restarts = shown["restarts_period"]
        confirm = _invoiced_now_phrase(shown) if restarts else phrase
        return Preview(
            verdicts=self._verdicts(subscription, form, shown, user),
            rows=_plan_change_rows(form, shown, phrase),
            confirm_label=f"Confirm plan change: customer {confirm}" if confirm
            else "Confirm plan change: no proration",
            # A new billing period is invoiced now: every line of that invoice, not only
            # the prorations, is what the customer pays.
            lines_caption="Invoiced now" if restarts else "Proration lines",
            lines=[{**line, "currency": shown["currency"]}
                   for line in shown["lines"] if restarts or line["proration"]])

    def _verdicts(self, subscription, form, shown, user):
        """The policy on what the change moves, a plan change's by its preview `shown`."""
        return services.subscription_verdicts(
            kind=self.kind, subscription=subscription, change=self._change(form),
            preview=shown, requester=user)

    def prepare(self, *, case, target, form, user):
        if self.kind != kinds.SUBSCRIPTION_CHANGE:
            return None
        return self._plan_change_preview(target, form)

    def request(self, *, case, target, form, user, origin, prepared):
        data = form.cleaned_data
        price = form.price() if self.kind == kinds.SUBSCRIPTION_CHANGE else None
        return services.subscription_change_request(
            case=case, subscription=target, kind=self.kind, change=self._change(form),
            price=price, preview=prepared, reason_code=data["reason_code"],
            note=data["note"], actor=user, origin=origin)

    def _change(self, form):
        if self.kind == kinds.SUBSCRIPTION_CHANGE:
            return form.change()
        if self.kind == kinds.SUBSCRIPTION_CANCEL:
            return {key: form.cleaned_data[key] for key in ("prorate", "invoice_now")}
        return {}

    def _plan_change_preview(self, subscription, form):
        """Stripe's preview of a plan or quantity change (`subscription_change_preview`)."""
        change = form.change()
        price = check_item_change(subscription, change, form.prices.values())
        return subscription_change_preview(subscription, change, price)


# When the proration of a plan change is billed, by its proration behavior.
PRORATION_WHEN = {"always_invoice": "now", "create_prorations": "on the next invoice"}


def _plan_change_rows(form, shown, phrase):
    """What a plan change does, in the words the customer would use: what they pay now and
    what next, and when."""
    item, price, quantity = form.item(), form.price(), form.cleaned_data["quantity"]
    currency, tax = shown["currency"], shown["proration_tax"]
    proration = "None: the change is not prorated"
    if phrase:
        credit_now = shown["proration_total"] < 0 and shown["invoiced_now"]
        settled = ", taken off the new plan's first invoice" if shown["restarts_period"] \
            else " as credit on their balance"
        proration = (f"The customer {phrase}" + (settled if credit_now else "")
                     + (f", including tax {_money(tax, currency)}" if tax else ""))
    rows = [("Plan", plan_change_name(item, price, quantity)), ("Proration", proration)]
    if shown["restarts_period"]:
        rows.append(("Invoiced now", _restarted_period(shown, price, quantity, phrase)))
    next_invoice = _money(shown["next_invoice_total"], currency)
    if shown["next_invoice_date"]:
        next_invoice += f" on {_day(shown['next_invoice_date'])}"
    if phrase and not shown["invoiced_now"] and \
            shown["proration_behavior"] == "create_prorations":
        next_invoice += ", the proration included"
    return [*rows, ("Next invoice", next_invoice)]


def _restarted_period(shown, price, quantity, phrase):
    """A new billing interval: "The customer pays 1,421.00 USD now: Console Pro annual × 3
    from 2026-12-01 to 2027-12-01, less the unused time. …"."""
    period = next(line for line in shown["lines"] if not line["proration"])
    return (f"The customer {_invoiced_now_phrase(shown)}: {price.plan_name} × {quantity} "
            f"from {_day(period['period_start'])} to {_day(period['period_end'])}"
            + (", less the unused time" if phrase else "")
            + ". The new plan bills at another interval, so its first period starts today "
              "and is invoiced at once.")


def _invoiced_now_phrase(shown):
    """What the invoice made at once asks of the customer: "pays 1,421.00 USD now", "gets
    5.00 USD back now as credit on their balance", "pays nothing now"."""
    total = shown["invoice_total"]
    amount = _money(abs(total), shown["currency"])
    if total > 0:
        return f"pays {amount} now"
    return f"gets {amount} back now as credit on their balance" if total else "pays nothing now"


def _proration_phrase(shown):
    """What the customer pays or gets for a plan change's proration, and when: "pays 12.34
    USD now", "gets 5.00 USD back on the next invoice"; None when nothing is prorated.
    Prorations are invoiced now whenever the change makes an invoice at once."""
    when = "now" if shown["invoiced_now"] else PRORATION_WHEN.get(shown["proration_behavior"])
    total = shown["proration_total"]
    if when is None or not total:
        return None
    amount = _money(abs(total), shown["currency"])
    return f"pays {amount} {when}" if total > 0 else f"gets {amount} back {when}"


def _day(timestamp):
    """Unix seconds as the preview writes a day: "2027-12-01" (UTC)."""
    return f"{datetime.fromtimestamp(timestamp, UTC):%Y-%m-%d}"


class CancelWithRefundPage(ActionPage):
    """Cancel a subscription now and refund the unused part of its last payment, or all of
    it, to the card: one form, one preview of both, one action."""

    kind = kinds.SUBSCRIPTION_CANCEL_WITH_REFUND
    title = "Cancel now and refund"
    noun = "cancellation and refund"
    summary_template = "credit_memos/_cancel_with_refund_summary.html"

    def __init__(self):
        self._paid = {}

    def paid(self, subscription):
        """`rules.last_paid(subscription)`, read from Stripe once per page."""
        if subscription.id not in self._paid:
            self._paid[subscription.id] = rules.last_paid(subscription)
        return self._paid[subscription.id]

    def form(self, subscription, data=None):
        at = int(time.time())
        return CancelWithRefundForm(data=data, offers=self._offers(subscription, at),
                                    initial=self.initial(subscription, at) if data is None
                                    else {})

    def initial(self, subscription, at=None):
        """The moment the unused time is worked out at, the reason, and a note drafted from
        the last payment."""
        payment, _ = self.paid(subscription)
        return {"at": at or int(time.time()), "reason_code": CANCELLATION_REASON_CODE,
                "note": cancel_with_refund_note(subscription, payment) if payment else ""}

    def _offers(self, subscription, at):
        """Each choice's label, with what it gives back as the form is opened."""
        payment, paid = self.paid(subscription)
        unused, whole = "The unused part of the last payment", "The whole last payment"
        if paid is None:
            return {REFUND_UNUSED: unused, REFUND_WHOLE: whole}
        charge, left = paid.charge, refund_left_on(paid.charge)
        if payment.runs_at(at):
            unused = (f"The unused {unused_words(payment.unused_seconds(at))}: "
                      f"{_money(min(payment.unused_refund(at), left), charge.currency)}")
        return {REFUND_UNUSED: unused, REFUND_WHOLE: f"{whole}: "
                f"{_money(min(charge.amount_captured, left), charge.currency)}"}

    def context(self, case, subscription):
        payment, paid = self.paid(subscription)
        return {"subscription": subscription, "payment": payment,
                "invoice_name": stripe_name(payment.invoice) if payment else "",
                "charge": paid.charge if paid else None,
                "charge_name": stripe_name(paid.charge) if paid else "",
                "nothing_to_do": None if paid else (
                    "Nothing to refund to the card",
                    "No card charge paid this subscription's last invoice. Cancel it now "
                    "without a refund, or credit the customer's balance.")}

    def preview(self, *, case, target, form, user):
        offer = self._offer(case, target, form, user)
        payment, charge = offer.payment, offer.charge
        currency, amount = charge.currency, _money(offer.amount, charge.currency)
        warnings = []
        if offer.amount < offer.asked:
            warnings.append(
                f"{capfirst(stripe_name(charge))} can refund only {amount} now, less than "
                f"the {_money(offer.asked, currency)} worked out: money went back on it "
                "already, or is on its way.")
        preview = Preview(verdicts=offer.verdicts, warnings=warnings,
                          confirm_label=f"Confirm: cancel now and refund {amount}", rows=[
            ("Subscription", f"{capfirst(stripe_name(target))} "
                             f"({stripe_status(target.status)}): canceled now, with nothing "
                             "prorated or invoiced by Stripe"),
            ("Refund", f"{amount} back to the card, on {stripe_name(charge)}, which paid "
                       f"{stripe_name(payment.invoice)}"),
            ("Period paid", _period_words(payment, offer.at)),
            ("Worked out", _worked_out(offer)),
            ("The customer", f"gets {amount} back on the card in {REFUND_ARRIVAL}; the "
                             "subscription ends at once")])
        if preview.needs_approval:
            warnings.append("Worked out as of now. If finance approves it later, the "
                            "subscription is canceled then, and the refund stays as shown.")
        return preview

    def _offer(self, case, subscription, form, user):
        payment, paid = self.paid(subscription)
        return services.cancel_with_refund(
            case=case, subscription=subscription, payment=payment, paid=paid,
            whole=form.whole(), at=form.cleaned_data["at"], requester=user)

    def prepare(self, *, case, target, form, user):
        return self.paid(target)

    def request(self, *, case, target, form, user, origin, prepared):
        payment, paid = prepared
        data = form.cleaned_data
        return services.subscription_cancel_with_refund_request(
            case=case, subscription=target, payment=payment, paid=paid, whole=form.whole(),
            at=data["at"], reason_code=data["reason_code"], note=data["note"], actor=user,
            origin=origin)


def _period_words(payment, at):
    """"2026-11-30 10:52 – 2026-12-30 10:52 UTC, 12 days of it unused"."""
    unused = payment.unused_seconds(at)
    return (f"{_moment(payment.period_start)} – {_moment(payment.period_end)} UTC, "
            + (f"{unused_words(unused)} of it unused" if unused else "all of it used"))


def _worked_out(offer):
    """How the refund was worked out, in minor units, as the policy checks it."""
    payment, units = offer.payment, offer.charge.currency.upper()
    if offer.whole:
        worked = f"The whole charge: {offer.asked:,}"
    else:
        worked = (f"{payment.unused_seconds(offer.at):,} unused seconds ÷ "
                  f"{payment.period_seconds:,} seconds of the period × "
                  f"{payment.paid_for_period:,} paid for its plan lines, tax included = "
                  f"{offer.asked:,}, rounded up in the customer's favour")
    capped = f"; at most {offer.left:,} left on the charge" if offer.amount < offer.asked \
        else ""
    return f"{worked}{capped} (minor units of {units})"


def _moment(timestamp):
    """Unix seconds as the preview writes a moment: "2027-12-01 10:52" (UTC)."""
    return f"{datetime.fromtimestamp(timestamp, UTC):%Y-%m-%d %H:%M}"


def _subscription_page(slug):
    """The page of a change to a subscription, by its kind's slug."""
    if slug == kinds.SUBSCRIPTION_CANCEL_WITH_REFUND.slug:
        return CancelWithRefundPage()
    return SubscriptionPage(slug)


def _view(page_for):
    @requires(Capability.REQUEST_MONEY_ACTION)
    @require_http_methods(["GET", "POST"])
    def view(request, case_pk, target_id, **kwargs):
        return action_page_view(page_for(**kwargs), request, case_pk, target_id)

    return view


credit_memo_new = _view(CreditMemoPage)
credit_memo_void = _view(CreditMemoVoidPage)
invoice_adjustment = _view(InvoiceAdjustmentPage)
balance_adjustment = _view(BalancePage)
subscription_change = _view(_subscription_page)

"""The forms of the credit memo, invoice, balance and subscription pages. They read the
input into what the services take; the services apply the rules."""

import time

from django import forms

from billing_console.exceptions import ApplicationError
from billing_console.integrations.stripe.types import CreditLine, billing_period
from billing_console.money import format_amount
from billing_console.names import CREDIT_NOTE_REASONS
from credit_memos.selectors import (
    MAX_QUANTITY,
    REFUND_UNUSED,
    REFUND_WHOLE,
    SETTLEMENTS,
    CreditSpec,
)
from money_actions.forms import ReasonForm, minor_units

SETTLEMENT_LABELS = {"customer_balance": "Credit the customer's balance",
                     "refund": "Refund to the payment method",
                     "out_of_band": "Settled outside Stripe"}
ADDED_ITEMS = 3  # blank rows for new items on a draft


class CreditMemoForm(ReasonForm):
    """Per invoice line, an amount or a quantity to credit; or one custom amount."""

    custom_amount = forms.CharField(label="Or one custom amount", required=False,
                                    max_length=32)
    settle_to = forms.ChoiceField(
        label="What the invoice no longer owes goes to",
        choices=[(value, SETTLEMENT_LABELS[value]) for value in SETTLEMENTS],
        widget=forms.RadioSelect, initial="customer_balance",
        help_text="On an open invoice the credit first lowers what is due; only the rest "
                  "is settled this way.")
    stripe_reason = forms.ChoiceField(
        label="Reason given to Stripe", required=False,
        choices=[("", "No reason given"), *CREDIT_NOTE_REASONS.items()])
    memo = forms.CharField(label="Memo printed on the credit note (optional)", required=False,
                           max_length=500)

    def __init__(self, *args, invoice, **kwargs):
        super().__init__(*args, **kwargs)
        self.invoice = invoice
        for index, line in enumerate(invoice.lines):
            self.fields[f"line_{index}_amount"] = forms.CharField(
                label=f"Credit on “{line.description}” (amount)", required=False,
                max_length=32)
            self.fields[f"line_{index}_quantity"] = forms.IntegerField(
                label="…or quantity", required=False, min_value=1,
                max_value=line.quantity or 1)
        lines = [name for name in self.fields if name.startswith("line_")]
        self.order_fields([*lines, "custom_amount", "settle_to", "stripe_reason", "memo"])

    def spec(self):
        data, currency = self.cleaned_data, self.invoice.currency
        lines = tuple(line for line in (self._line(index, line, currency)
                                        for index, line in enumerate(self.invoice.lines))
                      if line is not None)
        custom = data["custom_amount"].strip()
        return CreditSpec(invoice_id=self.invoice.id, lines=lines,
                          amount=minor_units(custom, currency) if custom else None,
                          settle_to=data["settle_to"], stripe_reason=data["stripe_reason"] or None,
                          memo=data["memo"])

    def _line(self, index, line, currency):
        amount = self.cleaned_data[f"line_{index}_amount"].strip()
        quantity = self.cleaned_data[f"line_{index}_quantity"]
        if amount and quantity:
            raise ApplicationError(f"Credit “{line.description}” by amount or by quantity, "
                                   "not both.", "lines")
        if not amount and not quantity:
            return None
        return CreditLine(invoice_line_item=line.id, quantity=quantity,
                          amount=minor_units(amount, currency) if amount else None)


class DraftInvoiceForm(ReasonForm):
    remove = forms.MultipleChoiceField(label="Remove these lines", required=False,
                                       widget=forms.CheckboxSelectMultiple)
    finalize = forms.BooleanField(label="Finalize the invoice afterwards", required=False,
                                  initial=True)

    def __init__(self, *args, invoice, **kwargs):
        super().__init__(*args, **kwargs)
        self.invoice = invoice
        self.fields["remove"].choices = [
            (line.id, f"{line.description} · {format_amount(line.amount, invoice.currency)}")
            for line in invoice.lines if line.invoice_item]
        for index in range(ADDED_ITEMS):
            self.fields[f"add_{index}_description"] = forms.CharField(
                label=f"New item {index + 1}: description", required=False, max_length=250)
            self.fields[f"add_{index}_amount"] = forms.CharField(
                label=f"New item {index + 1}: amount", required=False, max_length=32)
        self.order_fields(["remove", *[name for name in self.fields
                                       if name.startswith("add_")], "finalize"])

    def changes(self):
        data = self.cleaned_data
        add = []
        for index in range(ADDED_ITEMS):
            description = data[f"add_{index}_description"].strip()
            amount = data[f"add_{index}_amount"].strip()
            if description or amount:
                add.append({"description": description,
                            "amount": minor_units(amount, self.invoice.currency)})
        return {"add": add, "remove": data["remove"], "finalize": data["finalize"]}


class BalanceForm(ReasonForm):
    direction = forms.ChoiceField(label="Direction", widget=forms.RadioSelect, choices=[
        ("balance_credit", "Credit: the customer owes less on their next invoices"),
        ("balance_debit", "Debit: the customer owes more")], initial="balance_credit")
    amount = forms.CharField(label="Amount", max_length=32)
    currency = forms.CharField(widget=forms.HiddenInput, max_length=3)
    description = forms.CharField(label="Description (the customer sees it)", max_length=350)

    def minor_amount(self):
        return minor_units(self.cleaned_data["amount"], self.cleaned_data["currency"])


# A plan change form prorates at the moment it was first shown (`proration_date`); one
# left open longer than a working day is priced afresh.
PRORATION_DATE_MAX_AGE = 24 * 3600


class SubscriptionChangeForm(ReasonForm):
    """One item of the subscription moved to another plan, picked from `prices` (the
    plans it can move to, `selectors.plans_for`), and/or to another quantity."""

    item_id = forms.ChoiceField(label="Current plan")
    price_id = forms.ChoiceField(label="New plan")
    quantity = forms.IntegerField(label="Quantity", min_value=1, max_value=MAX_QUANTITY)
    proration_behavior = forms.ChoiceField(
        label="Proration", initial="create_prorations", choices=[
            ("create_prorations", "Prorate on the next invoice"),
            ("always_invoice", "Prorate and invoice now"),
            ("none", "Do not prorate")])
    # Set when the form is first shown and sent back as it was: the preview and the change
    # prorate at the same moment, so the change costs what the preview said.
    proration_date = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, subscription, prices, **kwargs):
        super().__init__(*args, **kwargs)
        self.items = {item.id: item for item in subscription.items}
        self.prices = {price.id: price for price in prices}
        self.fields["item_id"].choices = [(item.id, f"{item.plan_name} × {item.quantity}")
                                          for item in subscription.items]
        self.fields["price_id"].choices = [(price.id, plan_label(price)) for price in prices]
        if subscription.items:
            first = subscription.items[0]
            self.fields["price_id"].initial = first.price
            self.fields["quantity"].initial = first.quantity

    def clean_proration_date(self):
        """Unix seconds within the current period of every item, as Stripe requires, and
        at most a day old: a tampered moment would prorate the change as if made on
        another day than the one the specialist saw."""
        moment = self.cleaned_data["proration_date"]
        starts = [item.current_period_start for item in self.items.values()]
        ends = [item.current_period_end for item in self.items.values()]
        if moment < time.time() - PRORATION_DATE_MAX_AGE or any(
                start is not None and moment < start for start in starts) or any(
                end is not None and moment > end for end in ends):
            raise forms.ValidationError("This form's moment of pricing is not one the console "
                                        "can use (shown more than a day ago, or changed): "
                                        "start the plan change again from the subscription.")
        return moment

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        item = self.item()
        if data["price_id"] == item.price and data["quantity"] == item.quantity:
            raise forms.ValidationError("That is the plan and quantity the customer has now: "
                                        "choose another plan or quantity.")
        return data

    def item(self):
        """The subscription item that changes."""
        return self.items[self.cleaned_data["item_id"]]

    def price(self):
        """The plan it moves to, its own if it stays on it (a `Price`)."""
        return self.prices[self.cleaned_data["price_id"]]

    def change(self):
        """The change as the services and Stripe take it: only what differs is sent."""
        data, item = self.cleaned_data, self.item()
        return {"item_id": item.id,
                "price_id": data["price_id"] if data["price_id"] != item.price else None,
                "quantity": data["quantity"] if data["quantity"] != item.quantity else None,
                "proration_behavior": data["proration_behavior"],
                "proration_date": data["proration_date"]}


def plan_label(price):
    """How a plan is offered: "Console Pro · monthly · 49.00 USD"."""
    amount = format_amount(price.unit_amount, price.currency) \
        if price.unit_amount is not None else "metered"
    return f"{price.product_name} · {billing_period(price.interval, price.interval_count)} · " \
           f"{amount}"


class CancelNowForm(ReasonForm):
    prorate = forms.BooleanField(label="Credit the unused time", required=False)
    invoice_now = forms.BooleanField(label="Invoice what is owed now", required=False)


class CancelWithRefundForm(ReasonForm):
    """Cancel now, and refund the unused part of the last payment or all of it; `offers`
    labels each choice with what it gives back ("The unused 12 days: 7.74 USD")."""

    refund = forms.ChoiceField(label="What goes back to the card", widget=forms.RadioSelect,
                               initial=REFUND_UNUSED)
    # Set when the form is first shown and sent back as it was: the preview and the
    # request work the unused time out at the same moment, so the refund is as previewed.
    at = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, offers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["refund"].choices = [(choice, offers[choice])
                                         for choice in (REFUND_UNUSED, REFUND_WHOLE)]

    def whole(self):
        return self.cleaned_data["refund"] == REFUND_WHOLE

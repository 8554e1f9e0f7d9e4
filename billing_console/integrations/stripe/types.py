"""Frozen dataclasses the Stripe gateway returns: plain values, never SDK objects.

Amounts are integers in the currency's minor unit, as Stripe sends them; timestamps are
Unix seconds.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):  # noqa: UP046 (PEP 695 syntax needs Python 3.12)
    items: tuple[T, ...]
    has_more: bool

    @property
    def next_cursor(self):
        """The `starting_after` for the next page, or None on the last one."""
        return self.items[-1].id if self.has_more and self.items else None


@dataclass(frozen=True)
class Customer:
    id: str
    email: str | None
    name: str | None
    balance: int
    currency: str | None
    delinquent: bool
    created: int
    default_payment_method: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BalanceTransaction:
    id: str
    customer: str
    amount: int
    currency: str
    ending_balance: int
    type: str
    description: str | None
    invoice: str | None
    credit_note: str | None
    created: int
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Refund:
    id: str
    charge: str | None
    payment_intent: str | None
    amount: int
    currency: str
    status: str
    reason: str | None
    failure_reason: str | None
    created: int
    metadata: Mapping[str, str] = field(default_factory=dict)
    # Stripe's id for the request that answered with it, when the gateway just made it:
    # about the answer, not the refund, so two answers with the same refund compare equal.
    request_id: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Charge:
    id: str
    customer: str | None
    payment_intent: str | None
    amount: int
    amount_captured: int
    amount_refunded: int
    currency: str
    status: str
    paid: bool
    refunded: bool
    disputed: bool
    description: str | None
    failure_code: str | None
    failure_message: str | None
    created: int
    refunds: tuple[Refund, ...] = ()
    metadata: Mapping[str, str] = field(default_factory=dict)
    # The paying card's last four digits (None for other payment methods): pages show them
    # to specialists only, who match them with what the customer says.
    card_last4: str | None = None
    # Of the invoice the charge paid, in minor units: what its credit notes gave back other
    # than on the card (to the balance, out of band; void ones left out), and what it was
    # paid other than by the charge (from the customer's balance). Read by
    # `gateway.charge_paying` only (`with_invoice_credits`); 0 otherwise.
    invoice_credited_otherwise: int = 0
    invoice_paid_otherwise: int = 0

    @property
    def refundable_amount(self):
        """What can still be refunded: nothing unless the charge succeeded."""
        if self.status != "succeeded":
            return 0
        return self.amount_captured - self.amount_refunded


@dataclass(frozen=True)
class Dispute:
    id: str
    charge: str
    amount: int
    currency: str
    reason: str
    status: str
    is_charge_refundable: bool
    created: int


@dataclass(frozen=True)
class TaxRate:
    """A tax rate (`txr_…`). Its percentage and whether it is inclusive never change once
    created (Stripe refuses to update them)."""

    id: str
    display_name: str
    percentage: Decimal
    inclusive: bool
    jurisdiction: str | None = None
    country: str | None = None
    active: bool = True

    @property
    def label(self):
        """How people name it: "20% VAT"."""
        return f"{self.percentage.normalize():f}% {self.display_name}"


def tax_on_top(amount, rates):
    """The exclusive tax Stripe adds to a line of `amount` (minor units) taxed at `rates`
    (TaxRates), as it taxes invoice and credit note lines: on the amount less the
    inclusive taxes inside it, rate by rate, each rounded to a whole minor unit, halves up.
    Inclusive rates add nothing."""
    inside = sum((rate.percentage for rate in rates if rate.inclusive), Decimal(0))
    taxable = _whole(Decimal(amount) * 100 / (100 + inside))
    return sum(_whole(Decimal(taxable) * rate.percentage / 100)
               for rate in rates if not rate.inclusive)


def _whole(value):
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class Tax:
    """One tax Stripe worked out on a line or a whole document: an entry of its `taxes` or
    `total_taxes`, in minor units. An inclusive tax is inside the taxed amount; an exclusive
    one is added on top of it."""

    amount: int
    taxable_amount: int
    inclusive: bool
    tax_rate: str | None  # the rate's id; None for a tax Stripe Tax computed itself


def tax_names(taxes, rates):
    """The rates `taxes` were worked out at, as people name them ("20% VAT"), each once,
    in order. `rates`: {id: TaxRate}; one not in it is "tax"."""
    names = []
    for tax in taxes:
        rate = rates.get(tax.tax_rate)
        name = rate.label if rate else "tax"
        if name not in names:
            names.append(name)
    return names


def tax_included(taxes):
    """Whether all the taxes are inside the taxed amounts (inclusive rates), and there is
    one at least: a 0.00 exclusive tax is still a tax on top."""
    return bool(taxes) and all(tax.inclusive for tax in taxes)


def exclusive_tax(taxes):
    """What the taxes add on top of their amounts (minor units): inclusive ones add nothing."""
    return sum(tax.amount for tax in taxes if not tax.inclusive)


@dataclass(frozen=True)
class InvoiceLine:
    id: str
    amount: int  # before exclusive taxes and including inclusive ones, as Stripe's `amount`
    currency: str
    description: str | None
    quantity: int | None
    proration: bool
    price: str | None
    period_start: int | None
    period_end: int | None
    invoice_item: str | None = None  # the invoice item behind a line not from a subscription
    taxes: tuple[Tax, ...] = ()


@dataclass(frozen=True)
class Invoice:
    id: str | None
    customer: str
    number: str | None
    status: str | None
    currency: str
    subtotal: int
    total: int
    amount_due: int
    amount_paid: int
    amount_remaining: int
    starting_balance: int
    ending_balance: int | None
    pre_payment_credit_notes_amount: int
    post_payment_credit_notes_amount: int
    billing_reason: str | None
    collection_method: str | None
    subscription: str | None
    created: int
    due_date: int | None
    hosted_invoice_url: str | None
    lines: tuple[InvoiceLine, ...] = ()
    metadata: Mapping[str, str] = field(default_factory=dict)
    # When it moved to each status (finalized_at, paid_at, voided_at,
    # marked_uncollectible_at): Unix seconds, None for a move that has not happened.
    status_transitions: Mapping[str, int | None] = field(default_factory=dict)
    taxes: tuple[Tax, ...] = ()  # `total_taxes`: each rate's tax over all the lines
    total_excluding_tax: int | None = None
    tax_rates: Mapping[str, TaxRate] = field(default_factory=dict)  # its lines', by id
    # By line id, what issued credit notes credited on the line (as its `amount`); read
    # by `gateway.get_invoice` only.
    credited_lines: Mapping[str, int] = field(default_factory=dict)

    @property
    def tax(self):
        """All the invoice's tax, inclusive and exclusive (minor units)."""
        return sum(tax.amount for tax in self.taxes)

    @property
    def tax_included(self):
        """Whether all its tax is inside the line amounts (inclusive rates only)."""
        return tax_included(self.taxes)


@dataclass(frozen=True)
class InvoiceItem:
    id: str
    customer: str
    invoice: str | None
    amount: int
    currency: str
    description: str | None
    quantity: int
    proration: bool
    created: int
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CreditLine:
    """One line asked for on a credit note: part of an invoice line, or a custom line."""

    invoice_line_item: str | None = None
    amount: int | None = None
    quantity: int | None = None
    unit_amount: int | None = None
    description: str | None = None


@dataclass(frozen=True)
class CreditNoteLine:
    id: str
    type: str
    amount: int  # before exclusive taxes, as the invoice line's
    quantity: int | None
    description: str | None
    invoice_line_item: str | None
    taxes: tuple[Tax, ...] = ()


@dataclass(frozen=True)
class CreditNote:
    id: str
    invoice: str
    customer: str
    number: str
    status: str
    type: str
    currency: str
    amount: int
    pre_payment_amount: int
    post_payment_amount: int
    refund_amount: int
    out_of_band_amount: int | None
    customer_balance_transaction: str | None
    reason: str | None
    memo: str | None
    created: int
    voided_at: int | None
    refunds: tuple[str, ...] = ()
    lines: tuple[CreditNoteLine, ...] = ()
    metadata: Mapping[str, str] = field(default_factory=dict)
    subtotal: int = 0
    total: int = 0  # = amount: the credit including tax
    taxes: tuple[Tax, ...] = ()  # `total_taxes`
    tax_rates: Mapping[str, TaxRate] = field(default_factory=dict)  # its lines', by id

    @property
    def tax(self):
        """All the tax the note credits, inclusive and exclusive (minor units)."""
        return sum(tax.amount for tax in self.taxes)


def credited_by_line(credit_notes):
    """{invoice line id: what the issued ones of `credit_notes` credited on it}, minor
    units, before exclusive tax (as a line's `amount`): `Invoice.credited_lines`."""
    credited = {}
    for line in (line for note in credit_notes if note.status == "issued"
                 for line in note.lines):
        if line.invoice_line_item:
            credited[line.invoice_line_item] = credited.get(line.invoice_line_item, 0) + \
                line.amount
    return credited


# How people say how often a price bills, by Stripe's `recurring.interval`, shortest first.
BILLING_PERIODS = {"day": "daily", "week": "weekly", "month": "monthly", "year": "annual"}


def billing_period(interval, interval_count=1):
    """"monthly", "annual", or "every 3 months"; "" for a price that does not recur."""
    if not interval:
        return ""
    if (interval_count or 1) == 1:
        return BILLING_PERIODS.get(interval, f"every {interval}")
    return f"every {interval_count} {interval}s"


@dataclass(frozen=True)
class Price:
    """A recurring price (`price_…`) with its product's name: a plan a subscription can
    move to. `unit_amount` in minor units per unit and per `interval`."""

    id: str
    product: str
    product_name: str
    unit_amount: int | None
    currency: str
    interval: str
    interval_count: int

    @property
    def plan_name(self):
        """How people name the plan: "Console Pro monthly"."""
        return f"{self.product_name} {billing_period(self.interval, self.interval_count)}"


@dataclass(frozen=True)
class SubscriptionItem:
    id: str
    price: str
    product: str | None
    unit_amount: int | None
    currency: str
    interval: str | None
    interval_count: int | None
    quantity: int
    current_period_start: int | None
    current_period_end: int | None
    # The product's name, read with the subscription where a page shows it
    # (`gateway.get_subscription`, `gateway.billing_snapshot`); None elsewhere.
    product_name: str | None = None

    @property
    def plan_name(self):
        """How people name the plan: "Console Pro monthly"; the price's id when the
        product's name was not read."""
        period = billing_period(self.interval, self.interval_count)
        return f"{self.product_name or self.price} {period}".strip()


@dataclass(frozen=True)
class Subscription:
    id: str
    customer: str
    status: str
    currency: str
    collection_method: str
    cancel_at_period_end: bool
    cancel_at: int | None
    canceled_at: int | None
    ended_at: int | None
    start_date: int
    latest_invoice: str | None
    items: tuple[SubscriptionItem, ...] = ()
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Event:
    id: str
    type: str
    created: int
    object_type: str | None
    object_id: str | None
    data: Mapping = field(default_factory=dict)
    previous_attributes: Mapping | None = None
    request_id: str | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True)
class BillingSnapshot:
    """Everything a specialist looks at for one customer, read in one go."""

    customer: Customer
    subscriptions: tuple[Subscription, ...]
    invoices: tuple[Invoice, ...]
    charges: tuple[Charge, ...]
    refunds: tuple[Refund, ...]
    disputes: tuple[Dispute, ...]
    credit_notes: tuple[CreditNote, ...]
    balance_transactions: tuple[BalanceTransaction, ...]


@dataclass(frozen=True)
class InvoicePayment:
    """One payment toward an invoice (Stripe's InvoicePayment). `payment_type` says which
    of `payment_intent`, `charge` or `payment_record` names the payment; Stripe names a
    charge only when it was made without a PaymentIntent."""

    id: str
    invoice: str
    status: str  # open, paid or canceled
    amount_requested: int
    amount_paid: int | None  # None until the payment is paid
    currency: str
    is_default: bool  # the payment Stripe made when the invoice was finalized
    payment_type: str
    payment_intent: str | None
    charge: str | None
    payment_record: str | None
    created: int
    paid_at: int | None = None
    canceled_at: int | None = None

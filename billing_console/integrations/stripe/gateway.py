"""The console's one way to Stripe: typed functions over the `stripe` SDK.

Rules every function follows:
- keyword-only arguments; every write takes the caller's `idempotency_key`, sent
  unchanged on every retry, so a retried money action never happens twice;
- it returns frozen dataclasses from `types.py`, never SDK objects;
- it raises only the errors in `errors.py`. The SDK retries connection errors and 5xx
  (`STRIPE_MAX_NETWORK_RETRIES`); the gateway adds the same number of retries for 429s,
  which the SDK does not retry, waiting for `Retry-After` when Stripe sends one.

Settings are read on every call, so tests (and a key rotation) take effect at once.
"""

import dataclasses
import functools
import itertools
import time
from decimal import Decimal

import stripe
from django.conf import settings

from . import types
from .errors import (
    DeclinedError,
    IdempotencyConflict,
    PermanentStripeError,
    TransientStripeError,
)

FIRST_RATE_LIMIT_WAIT = 0.5
LONGEST_RATE_LIMIT_WAIT = 5.0
PAGE_SIZE = 100
# A snapshot reads at most this many pages of any one list, so one huge customer cannot
# stall a page view; the lists are newest first, so what is cut off is the oldest.
SNAPSHOT_MAX_PAGES = 5
PRORATION_BEHAVIORS = ("none", "create_prorations", "always_invoice")
# The Stripe API version every request is sent with (`Stripe-Version`): the one
# stripe-python 16.1 is built for, pinned here so that an SDK upgrade cannot change the
# shapes the console reads unnoticed. The webhook endpoint must be created with the same
# version (README, "Stripe webhooks"), since events are shaped by the endpoint's version:
# before 2024-10-28.acacia a card refund's failure arrives only as
# `charge.refund.updated`. Change it deliberately, with the SDK and the endpoint.
STRIPE_API_VERSION = "2026-10-28.endive"


# The client and the call wrapper -----------------------------------------------------


def _client():
    return _cached_client(settings.STRIPE_API_KEY, settings.STRIPE_API_BASE,
                          settings.STRIPE_MAX_NETWORK_RETRIES, settings.STRIPE_TIMEOUT_SECONDS)


@functools.lru_cache(maxsize=4)
def _cached_client(api_key, api_base, max_network_retries, timeout_seconds):
    return stripe.StripeClient(
        api_key,
        base_addresses={"api": api_base},
        max_network_retries=max_network_retries,
        http_client=stripe.RequestsClient(timeout=timeout_seconds),
        stripe_version=STRIPE_API_VERSION,
    )


def _call(operation):
    """Run `operation(client)`, retrying 429s, and translate whatever the SDK raises."""
    attempts = 1 + settings.STRIPE_MAX_NETWORK_RETRIES
    attempt = 1
    while True:
        try:
            return operation(_client())
        except stripe.RateLimitError as error:
            if attempt == attempts:
                raise _translate(error, attempts) from error
            time.sleep(_rate_limit_wait(attempt, _retry_after(error)))
            attempt += 1
        except stripe.StripeError as error:
            # The SDK has already spent its own retries on connection errors and 5xx.
            raise _translate(error, attempts) from error


def _rate_limit_wait(attempt, retry_after):
    if retry_after is not None:
        return min(retry_after, LONGEST_RATE_LIMIT_WAIT)
    return min(FIRST_RATE_LIMIT_WAIT * 2 ** (attempt - 1), LONGEST_RATE_LIMIT_WAIT)


def _retry_after(error):
    value = (error.headers or {}).get("retry-after") or (error.headers or {}).get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _translate(error, attempts):
    details = {"code": error.code, "request_id": error.request_id,
               "http_status": error.http_status,
               "param": getattr(error, "param", None)}
    message = error.user_message or str(error)
    if isinstance(error, stripe.IdempotencyError):
        return IdempotencyConflict(message, **details)
    if isinstance(error, stripe.CardError):
        decline_code = error.error.decline_code if error.error else None
        return DeclinedError(message, decline_code=decline_code, **details)
    if _is_transient(error):
        return TransientStripeError(message, attempts=attempts, retry_after=_retry_after(error),
                                    **details)
    return PermanentStripeError(message, **details)


def _is_transient(error):
    if isinstance(error, stripe.APIConnectionError | stripe.RateLimitError):
        return True
    # 409 is a lock conflict on Stripe's side, which clears on its own.
    return error.http_status is not None and (error.http_status >= 500 or
                                              error.http_status == 409)


def _minor_units(**amounts):
    """Refuse floats (and bools) for money before they reach Stripe: amounts are integers
    in the currency's minor unit."""
    for name, amount in amounts.items():
        if amount is not None and (isinstance(amount, bool) or not isinstance(amount, int)):
            raise TypeError(f"{name} must be an int in minor units, not {amount!r}")


def _write_options(idempotency_key):
    if not idempotency_key:
        raise ValueError("Every Stripe write needs an explicit idempotency_key.")
    return {"idempotency_key": idempotency_key}


def _page_params(limit, starting_after, **filters):
    params = {key: value for key, value in filters.items() if value is not None}
    params["limit"] = limit
    if starting_after:
        params["starting_after"] = starting_after
    return params


def _page(listing, convert):
    return types.Page(items=tuple(convert(obj.to_dict()) for obj in listing.data),
                      has_more=bool(listing.has_more))


def _all_pages(list_call, params, convert, max_pages=SNAPSHOT_MAX_PAGES):
    """Every item of a list, following `starting_after`, up to `max_pages` pages (None:
    to the end)."""
    items, cursor = [], None
    for _ in range(max_pages) if max_pages is not None else itertools.count():
        page_params = {**params, "limit": PAGE_SIZE,
                       **({"starting_after": cursor} if cursor else {})}
        listing = _call(lambda client, p=page_params: list_call(client, p))
        items.extend(convert(obj.to_dict()) for obj in listing.data)
        if not listing.has_more or not listing.data:
            break
        cursor = listing.data[-1].id
    return tuple(items)


# Customers ---------------------------------------------------------------------------


def get_customer(*, customer_id):
    return _customer(_call(lambda c: c.v1.customers.retrieve(customer_id)).to_dict())


def customer_exists(*, customer_id):
    """Whether Stripe has this customer, not deleted: False for an unknown or deleted one
    (Stripe answers a deleted customer with `deleted: true`); other failures raise."""
    try:
        data = _call(lambda c: c.v1.customers.retrieve(customer_id)).to_dict()
    except PermanentStripeError as error:
        if error.http_status == 404 or error.code == "resource_missing":
            return False
        raise
    return not data.get("deleted")


def find_customer_by_email(*, email):
    """The newest customer with this email, or None."""
    listing = _call(lambda c: c.v1.customers.list(params={"email": email, "limit": 1}))
    return _customer(listing.data[0].to_dict()) if listing.data else None


def find_customers_by_email(*, email, limit=10):
    """Up to `limit` customers with exactly this email, newest first (one email may
    belong to several customers)."""
    listing = _call(lambda c: c.v1.customers.list(params={"email": email, "limit": limit}))
    return tuple(_customer(item.to_dict()) for item in listing.data)


def billing_snapshot(*, customer_id, invoice_limit=20):
    """The customer and everything about their billing, each list paginated to the end
    (within SNAPSHOT_MAX_PAGES), invoices limited to the most recent `invoice_limit`."""
    customer = get_customer(customer_id=customer_id)
    charges = _all_pages(lambda c, p: c.v1.charges.list(params=p),
                         {"customer": customer_id, "expand": ["data.refunds"]}, _full_charge)
    return types.BillingSnapshot(
        customer=customer,
        subscriptions=_with_product_names(_all_pages(
            lambda c, p: c.v1.subscriptions.list(params=p),
            {"customer": customer_id, "status": "all"}, _subscription)),
        invoices=list_invoices(customer_id=customer_id, limit=invoice_limit).items,
        charges=charges,
        refunds=tuple(refund for charge in charges for refund in charge.refunds),
        disputes=tuple(dispute for charge in charges if charge.disputed
                       for dispute in _disputes_for(charge.id)),
        credit_notes=_all_pages(lambda c, p: c.v1.credit_notes.list(params=p),
                                {"customer": customer_id}, _credit_note),
        balance_transactions=_all_pages(
            lambda c, p: c.v1.customers.balance_transactions.list(customer_id, params=p), {},
            _balance_transaction),
    )


def _disputes_for(charge_id):
    return _all_pages(lambda c, p: c.v1.disputes.list(params=p), {"charge": charge_id},
                      _dispute)


def get_dispute(*, dispute_id):
    """One dispute as Stripe has it now: amount in minor units, Stripe's status."""
    return _dispute(_call(lambda c: c.v1.disputes.retrieve(dispute_id)).to_dict())


# Charges and refunds -----------------------------------------------------------------


def get_charge(*, charge_id):
    return _full_charge(_call(lambda c: c.v1.charges.retrieve(
        charge_id, params={"expand": ["refunds"]})).to_dict())


def list_charges(*, customer_id, limit=PAGE_SIZE):
    """The customer's most recent charges, newest first, without their refunds."""
    params = _page_params(limit, None, customer=customer_id)
    return _page(_call(lambda c: c.v1.charges.list(params=params)), _charge)


def _full_charge(data):
    """A charge with all its refunds: Stripe embeds only the first few."""
    return _charge(_with_all(data, "refunds", lambda c, p: c.v1.refunds.list(params=p),
                             {"charge": data["id"]}))


def create_refund(*, charge_id, amount, idempotency_key, reason=None, metadata=None):
    _minor_units(amount=amount)
    params = {"charge": charge_id, "amount": amount, "metadata": metadata or {}}
    if reason:
        params["reason"] = reason
    refund = _call(lambda c: c.v1.refunds.create(params=params,
                                                 options=_write_options(idempotency_key)))
    return dataclasses.replace(_refund(refund.to_dict()),
                               request_id=refund.last_response.request_id)


def get_refund(*, refund_id):
    return _refund(_call(lambda c: c.v1.refunds.retrieve(refund_id)).to_dict())


def list_refunds(*, charge_id=None, limit=10, starting_after=None):
    params = _page_params(limit, starting_after, charge=charge_id)
    return _page(_call(lambda c: c.v1.refunds.list(params=params)), _refund)


def refunds_created(*, created_gte, created_lt):
    """Every refund created from `created_gte` up to, not including, `created_lt` (Unix
    seconds), newest first. Read to the end: a reconciliation must not miss any."""
    return _all_pages(lambda c, p: c.v1.refunds.list(params=p),
                      {"created": {"gte": created_gte, "lt": created_lt}}, _refund,
                      max_pages=None)


def cancel_refund(*, refund_id, idempotency_key):
    refund = _call(lambda c: c.v1.refunds.cancel(refund_id,
                                                 options=_write_options(idempotency_key)))
    return _refund(refund.to_dict())


# Invoices and invoice items ----------------------------------------------------------


def get_tax_rate(*, tax_rate_id):
    return _tax_rate(_call(lambda c: c.v1.tax_rates.retrieve(tax_rate_id)).to_dict())


def _with_tax_rates(invoices):
    """The invoices, each with the tax rates its lines were taxed at (`Invoice.tax_rates`):
    one read per distinct rate. Stripe cannot expand a rate from a line's taxes (it lies
    deeper than expansion goes)."""
    ids = {tax.tax_rate for invoice in invoices for line in invoice.lines
           for tax in line.taxes if tax.tax_rate}
    rates = {tax_rate_id: get_tax_rate(tax_rate_id=tax_rate_id) for tax_rate_id in sorted(ids)}
    return [dataclasses.replace(invoice, tax_rates={
        tax.tax_rate: rates[tax.tax_rate] for line in invoice.lines for tax in line.taxes
        if tax.tax_rate}) for invoice in invoices]


def get_invoice(*, invoice_id):
    """The invoice, all its lines, the tax rates they were taxed at, and what its issued
    credit notes credited on each line (read only when it has been credited)."""
    invoice = _full_invoice(_call(lambda c: c.v1.invoices.retrieve(invoice_id)).to_dict())
    invoice = _with_tax_rates([invoice])[0]
    if not invoice.pre_payment_credit_notes_amount + invoice.post_payment_credit_notes_amount:
        return invoice
    return dataclasses.replace(invoice, credited_lines=_credited_lines(invoice_id))


def _credited_lines(invoice_id):
    """{invoice line id: what issued credit notes credited on it}, minor units, before
    exclusive tax (as a line's `amount`)."""
    return types.credited_by_line(_all_pages(lambda c, p: c.v1.credit_notes.list(params=p),
                                             {"invoice": invoice_id}, _credit_note))


def list_invoices(*, customer_id=None, status=None, limit=10, starting_after=None):
    """A page of invoices, as `get_invoice` returns each."""
    params = _page_params(limit, starting_after, customer=customer_id, status=status)
    page = _page(_call(lambda c: c.v1.invoices.list(params=params)), _full_invoice)
    return dataclasses.replace(page, items=tuple(_with_tax_rates(page.items)))


def invoice_charge(*, invoice_id):
    """The charge that paid the invoice, with all its refunds, or None when no charge paid
    it: a draft, open, void or uncollectible invoice, one paid out of band, or one paid
    wholly by the customer's balance or credit notes.

    Source of truth: Stripe's InvoicePayments. Since API version 2025-03-31.basil an
    invoice no longer names its charge or PaymentIntent; its invoice payments do. Two
    Stripe reads: the invoice's paid payments (`GET /v1/invoice_payments?invoice=...&
    status=paid`), then the charge, by id (`get_charge`) when the payment names a charge,
    or the PaymentIntent's succeeded charge (`GET /v1/charges?payment_intent=...`) when it
    names a PaymentIntent. A charge with more than 10 refunds costs one more read per 100
    of the rest. An invoice paid in several parts (Stripe's partial payments) gives the
    charge behind its default payment, or else behind its newest paid one.

    Returns a `types.Charge`: amounts in the currency's minor unit; `amount` is what the
    card paid, which is the invoice's total less what the customer's balance and credit
    notes covered (a 100.00 invoice after 40.00 of credit: a charge of 6000). Timestamps
    in Unix seconds.

    Raises `TransientStripeError` when Stripe cannot be reached or answers 429 or 5xx
    after the gateway's retries, and `PermanentStripeError` when Stripe refuses, such as an
    unknown invoice (`code` "resource_missing"). It writes nothing, so it never raises
    `DeclinedError` or `IdempotencyConflict`.
    """
    listing = _call(lambda c: c.v1.invoice_payments.list(
        params={"invoice": invoice_id, "status": "paid", "limit": PAGE_SIZE}))
    payment = _paying_payment(_invoice_payment(item.to_dict()) for item in listing.data)
    if payment is None:
        return None
    if payment.charge:
        return get_charge(charge_id=payment.charge)
    params = {"payment_intent": payment.payment_intent, "limit": PAGE_SIZE,
              "expand": ["data.refunds"]}
    charges = _call(lambda c: c.v1.charges.list(params=params)).data
    # A PaymentIntent succeeds at most once; its failed attempts are charges too.
    succeeded = next((charge.to_dict() for charge in charges
                      if charge.status == "succeeded"), None)
    return _full_charge(succeeded) if succeeded else None


def charge_to_refund(*, charge_id):
    """The charge as a refund of it needs it: with all its refunds (`get_charge`) and what
    the invoice it paid says of it (`with_invoice_credits`), which
    `money_actions.selectors.refund_left_on` counts. Up to four Stripe reads."""
    return with_invoice_credits(get_charge(charge_id=charge_id))


def with_invoice_credits(charge):
    """`charge` (a `types.Charge`) with what Stripe says of the invoice it paid
    (`invoice_credited_otherwise`, `invoice_paid_otherwise`: `charge_paying`), so that a
    refund of it never gives back again what a credit note gave to the balance. The invoice
    is found by the charge's PaymentIntent: a charge without one paid no invoice since API
    version 2025-03-31.basil, and is returned as it is. Up to three Stripe reads (its
    invoice payments, the invoice, its credit notes); raises the gateway's errors."""
    invoice_id = invoice_paid_by(payment_intent_id=charge.payment_intent) \
        if charge.payment_intent else None
    if invoice_id is None:
        return charge
    invoice = _invoice(_call(lambda c: c.v1.invoices.retrieve(invoice_id)).to_dict())
    return charge_paying(charge, invoice,
                         list_credit_notes(invoice_id=invoice_id, limit=100).items)


def charge_paying(charge, invoice, notes):
    """`charge` with what `invoice`, which it paid, and the invoice's credit `notes` say:
    `invoice_credited_otherwise`, what the notes gave back other than on the card (to the
    balance, out of band; void ones left out), and `invoice_paid_otherwise`, what the
    invoice was paid other than by the charge (from the customer's balance), in minor
    units. Reads nothing."""
    return dataclasses.replace(
        charge,
        invoice_credited_otherwise=sum(note.post_payment_amount - note.refund_amount
                                       for note in notes if note.status != "void"),
        invoice_paid_otherwise=max(invoice.total - invoice.pre_payment_credit_notes_amount
                                   - charge.amount_captured, 0))


def invoice_paid_by(*, payment_intent_id):
    """The id of the invoice a PaymentIntent paid, or None (a charge outside invoices).
    One Stripe read of its InvoicePayments; raises the gateway's errors."""
    listing = _call(lambda c: c.v1.invoice_payments.list(params={
        "payment": {"type": "payment_intent", "payment_intent": payment_intent_id},
        "status": "paid", "limit": 1}))
    return listing.data[0].invoice if listing.data else None


def _paying_payment(payments):
    """The paid payment made by a charge or PaymentIntent: the invoice's default payment
    if it is one, else the newest (Stripe lists newest first)."""
    by_card = [payment for payment in payments if payment.status == "paid"
               and payment.payment_type in ("charge", "payment_intent")
               and (payment.charge or payment.payment_intent)]
    return next((payment for payment in by_card if payment.is_default),
                by_card[0] if by_card else None)


def _full_invoice(data):
    """An invoice with all its lines: Stripe embeds only the first few."""
    return _invoice(_with_all(data, "lines", lambda c, p: c.v1.invoices.line_items.list(
        data["id"], params=p), {}))


def _with_all(data, field, list_call, params):
    """`data` with its embedded list `field` read to the end when Stripe cut it short."""
    embedded = data.get(field) or {}
    if not embedded.get("has_more") or not data.get("id"):
        return data
    rest = _all_pages(list_call, {**params, "starting_after": embedded["data"][-1]["id"]},
                      lambda item: item)
    return {**data, field: {**embedded, "has_more": False,
                            "data": [*embedded["data"], *rest]}}


def finalize_invoice(*, invoice_id, idempotency_key):
    return _invoice_action("finalize_invoice", invoice_id, idempotency_key)


def pay_invoice_out_of_band(*, invoice_id, idempotency_key):
    invoice = _call(lambda c: c.v1.invoices.pay(invoice_id, params={"paid_out_of_band": True},
                                                options=_write_options(idempotency_key)))
    return _full_invoice(invoice.to_dict())


def void_invoice(*, invoice_id, idempotency_key):
    return _invoice_action("void_invoice", invoice_id, idempotency_key)


def mark_invoice_uncollectible(*, invoice_id, idempotency_key):
    return _invoice_action("mark_uncollectible", invoice_id, idempotency_key)


def _invoice_action(method, invoice_id, idempotency_key):
    options = _write_options(idempotency_key)
    invoice = _call(lambda c: getattr(c.v1.invoices, method)(invoice_id, options=options))
    return _full_invoice(invoice.to_dict())


def add_invoice_item(*, customer_id, invoice_id, amount, currency, description,
                     idempotency_key, metadata=None):
    """A line on a draft invoice; Stripe refuses it on any other."""
    _minor_units(amount=amount)
    params = {"customer": customer_id, "invoice": invoice_id, "amount": amount,
              "currency": currency, "description": description, "metadata": metadata or {}}
    item = _call(lambda c: c.v1.invoice_items.create(params=params,
                                                     options=_write_options(idempotency_key)))
    return _invoice_item(item.to_dict())


def delete_invoice_item(*, invoice_item_id, idempotency_key):
    # Stripe ignores idempotency keys on DELETE; deleting twice gets a resource_missing.
    _call(lambda c: c.v1.invoice_items.delete(invoice_item_id,
                                              options=_write_options(idempotency_key)))


# Credit notes ------------------------------------------------------------------------


def _credit_note_params(invoice_id, amount, lines, refund_amount, credit_amount,
                        out_of_band_amount, reason, memo):
    _minor_units(amount=amount, refund_amount=refund_amount, credit_amount=credit_amount,
                 out_of_band_amount=out_of_band_amount)
    for line in lines:
        _minor_units(line_amount=line.amount, line_unit_amount=line.unit_amount)
    params = {"invoice": invoice_id}
    optional = {"amount": amount, "refund_amount": refund_amount or None,
                "credit_amount": credit_amount or None, "out_of_band_amount": out_of_band_amount,
                "reason": reason, "memo": memo}
    params.update({key: value for key, value in optional.items() if value is not None})
    if lines:
        params["lines"] = [_credit_line_param(line) for line in lines]
    return params


def _credit_line_param(line):
    if line.invoice_line_item:
        param = {"type": "invoice_line_item", "invoice_line_item": line.invoice_line_item}
    else:
        param = {"type": "custom_line_item", "unit_amount": line.unit_amount,
                 "description": line.description}
    extra = {"amount": line.amount, "quantity": line.quantity}
    param.update({key: value for key, value in extra.items() if value is not None})
    return param


def preview_credit_note(*, invoice_id, amount=None, lines=(), refund_amount=0,
                        credit_amount=0, out_of_band_amount=None, reason=None, memo=None):
    params = _credit_note_params(invoice_id, amount, lines, refund_amount, credit_amount,
                                 out_of_band_amount, reason, memo)
    return _credit_note(_call(lambda c: c.v1.credit_notes.preview(params=params)).to_dict())


def create_credit_note(*, invoice_id, idempotency_key, amount=None, lines=(), refund_amount=0,
                       credit_amount=0, out_of_band_amount=None, reason=None, memo=None,
                       metadata=None):
    """Give `amount` (or `lines`) back; what the invoice no longer owes is split as
    `refund_amount` + `credit_amount` + `out_of_band_amount`, which Stripe checks."""
    params = _credit_note_params(invoice_id, amount, lines, refund_amount, credit_amount,
                                 out_of_band_amount, reason, memo)
    params["metadata"] = metadata or {}
    note = _call(lambda c: c.v1.credit_notes.create(params=params,
                                                    options=_write_options(idempotency_key)))
    return _credit_note(note.to_dict())


def void_credit_note(*, credit_note_id, idempotency_key):
    note = _call(lambda c: c.v1.credit_notes.void_credit_note(
        credit_note_id, options=_write_options(idempotency_key)))
    return _credit_note(note.to_dict())


def list_credit_notes(*, invoice_id=None, customer_id=None, limit=10, starting_after=None):
    params = _page_params(limit, starting_after, invoice=invoice_id, customer=customer_id)
    return _page(_call(lambda c: c.v1.credit_notes.list(params=params)), _credit_note)


def get_credit_note(*, credit_note_id):
    return _credit_note(_call(lambda c: c.v1.credit_notes.retrieve(credit_note_id)).to_dict())


def credit_notes_created(*, created_gte, created_lt):
    """Every credit note created from `created_gte` up to, not including, `created_lt`
    (Unix seconds), newest first, read to the end."""
    return _all_pages(lambda c, p: c.v1.credit_notes.list(params=p),
                      {"created": {"gte": created_gte, "lt": created_lt}}, _credit_note,
                      max_pages=None)


# Customer balance --------------------------------------------------------------------


def create_balance_transaction(*, customer_id, amount, currency, idempotency_key,
                               description=None, metadata=None):
    """Move the customer's balance: a negative amount is credit toward their next invoices."""
    _minor_units(amount=amount)
    params = {"amount": amount, "currency": currency, "metadata": metadata or {}}
    if description:
        params["description"] = description
    transaction = _call(lambda c: c.v1.customers.balance_transactions.create(
        customer_id, params=params, options=_write_options(idempotency_key)))
    return _balance_transaction(transaction.to_dict())


def list_balance_transactions(*, customer_id, limit=10, starting_after=None):
    params = _page_params(limit, starting_after)
    return _page(_call(lambda c: c.v1.customers.balance_transactions.list(
        customer_id, params=params)), _balance_transaction)


def balance_transactions_created(*, customer_id, created_gte, created_lt):
    """The customer's balance transactions created from `created_gte` up to, not
    including, `created_lt` (Unix seconds), newest first. Stripe lists them per customer
    only; a customer has few, so all are read and the period is picked here."""
    every = _all_pages(lambda c, p: c.v1.customers.balance_transactions.list(customer_id,
                                                                             params=p),
                       {}, _balance_transaction, max_pages=None)
    return tuple(item for item in every if created_gte <= item.created < created_lt)


# Subscriptions -----------------------------------------------------------------------


def get_subscription(*, subscription_id):
    """The subscription, its items named by their products (`SubscriptionItem.plan_name`)."""
    subscription = _subscription(_call(lambda c: c.v1.subscriptions.retrieve(subscription_id))
                                 .to_dict())
    return _with_product_names([subscription])[0]


def _with_product_names(subscriptions):
    """The subscriptions, each item with its product's name: one read per distinct product.
    Stripe cannot expand an item's product from a list of subscriptions (it lies deeper
    than expansion goes)."""
    names = _product_names({item.product for subscription in subscriptions
                            for item in subscription.items if item.product})
    return tuple(dataclasses.replace(subscription, items=tuple(
        dataclasses.replace(item, product_name=names.get(item.product))
        for item in subscription.items)) for subscription in subscriptions)


def subscription_items_named(items):
    """The items of `items`, a list object as Stripe embeds one in a subscription (an
    event's `data.object.items`, or its `previous_attributes.items`: the items before a
    change), each named by its product (`SubscriptionItem.plan_name`); () for what is not
    such a list. Network: one read per distinct product."""
    try:
        parsed = tuple(_subscription_item(data) for data in items["data"])
    except (KeyError, TypeError, AttributeError):
        return ()
    names = _product_names({item.product for item in parsed if item.product})
    return tuple(dataclasses.replace(item, product_name=names.get(item.product))
                 for item in parsed)


def _product_names(product_ids):
    """{product id: its name}, one read each."""
    return {product_id: _call(lambda c, p=product_id: c.v1.products.retrieve(p)).to_dict()["name"]
            for product_id in sorted(product_ids)}


def list_recurring_prices(*, currency):
    """The active recurring prices in `currency` (ISO code, any case), newest first, each
    with its product's name: the plans a subscription in that currency can move to."""
    every = _all_pages(lambda c, p: c.v1.prices.list(params=p),
                       {"active": True, "type": "recurring", "currency": currency.lower()},
                       lambda data: data)
    names = _product_names({_id(data["product"]) for data in every})
    return tuple(_price(data, names) for data in every)


def update_subscription_item(*, subscription_id, item_id, proration_behavior,
                             idempotency_key, price_id=None, quantity=None,
                             proration_date=None):
    """Change one item's price and/or quantity, prorated as `proration_behavior` says."""
    params = _item_change(item_id, price_id, quantity, proration_behavior, proration_date)
    subscription = _call(lambda c: c.v1.subscriptions.update(
        subscription_id, params=params, options=_write_options(idempotency_key)))
    return _subscription(subscription.to_dict())


def _item_change(item_id, price_id, quantity, proration_behavior, proration_date):
    if proration_behavior not in PRORATION_BEHAVIORS:
        raise ValueError(f"proration_behavior must be one of {PRORATION_BEHAVIORS}")
    item = {"id": item_id}
    if price_id:
        item["price"] = price_id
    if quantity is not None:
        item["quantity"] = quantity
    params = {"items": [item], "proration_behavior": proration_behavior}
    if proration_date is not None:
        params["proration_date"] = proration_date
    return params


def set_cancel_at_period_end(*, subscription_id, cancel_at_period_end, idempotency_key):
    subscription = _call(lambda c: c.v1.subscriptions.update(
        subscription_id, params={"cancel_at_period_end": cancel_at_period_end},
        options=_write_options(idempotency_key)))
    return _subscription(subscription.to_dict())


def cancel_subscription_now(*, subscription_id, prorate, invoice_now, idempotency_key):
    params = {"prorate": prorate, "invoice_now": invoice_now}
    subscription = _call(lambda c: c.v1.subscriptions.cancel(
        subscription_id, params=params, options=_write_options(idempotency_key)))
    return _subscription(subscription.to_dict())


def preview_subscription_change(*, subscription_id, item_id, proration_behavior,
                                price_id=None, quantity=None, proration_date=None):
    """The invoice the change would produce (Stripe's invoice preview), changing nothing."""
    change = _item_change(item_id, price_id, quantity, proration_behavior, proration_date)
    params = {"subscription": subscription_id, "subscription_details": change}
    return _invoice(_call(lambda c: c.v1.invoices.create_preview(params=params)).to_dict())


# Events ------------------------------------------------------------------------------


def list_events(*, type=None, created_gte=None, limit=10, starting_after=None):  # noqa: A002
    params = _page_params(limit, starting_after, type=type)
    if created_gte is not None:
        params["created"] = {"gte": created_gte}
    return _page(_call(lambda c: c.v1.events.list(params=params)), _event)


def events_created(*, types, created_gte, created_lt):
    """Every event of the given types created from `created_gte` up to, not including,
    `created_lt` (Unix seconds), newest first, read to the end. Stripe keeps events for 30
    days: older ones are not listed."""
    params = {"types": list(types), "created": {"gte": created_gte, "lt": created_lt}}
    return _all_pages(lambda c, p: c.v1.events.list(params=p), params, _event,
                      max_pages=None)


def get_event(*, event_id):
    return _event(_call(lambda c: c.v1.events.retrieve(event_id)).to_dict())


# From Stripe's JSON to the console's types -------------------------------------------


def _id(value):
    """An expandable field: the id whether Stripe sent the id or the object."""
    return value.get("id") if isinstance(value, dict) else value


def _customer(data):
    return types.Customer(
        id=data["id"], email=data.get("email"), name=data.get("name"),
        balance=data.get("balance") or 0, currency=data.get("currency"),
        delinquent=bool(data.get("delinquent")), created=data["created"],
        default_payment_method=_id((data.get("invoice_settings") or {})
                                   .get("default_payment_method")),
        metadata=data.get("metadata") or {})


def _balance_transaction(data):
    return types.BalanceTransaction(
        id=data["id"], customer=_id(data["customer"]), amount=data["amount"],
        currency=data["currency"], ending_balance=data["ending_balance"], type=data["type"],
        description=data.get("description"), invoice=_id(data.get("invoice")),
        credit_note=_id(data.get("credit_note")), created=data["created"],
        metadata=data.get("metadata") or {})


def _refund(data):
    return types.Refund(
        id=data["id"], charge=_id(data.get("charge")),
        payment_intent=_id(data.get("payment_intent")), amount=data["amount"],
        currency=data["currency"], status=data["status"], reason=data.get("reason"),
        failure_reason=data.get("failure_reason"), created=data["created"],
        metadata=data.get("metadata") or {})


def _charge(data):
    refunds = (data.get("refunds") or {}).get("data") or []
    return types.Charge(
        id=data["id"], customer=_id(data.get("customer")),
        payment_intent=_id(data.get("payment_intent")), amount=data["amount"],
        amount_captured=data.get("amount_captured") or 0,
        amount_refunded=data.get("amount_refunded") or 0, currency=data["currency"],
        status=data["status"], paid=bool(data.get("paid")),
        refunded=bool(data.get("refunded")), disputed=bool(data.get("disputed")),
        description=data.get("description"), failure_code=data.get("failure_code"),
        failure_message=data.get("failure_message"), created=data["created"],
        refunds=tuple(_refund(refund) for refund in refunds),
        metadata=data.get("metadata") or {},
        card_last4=((data.get("payment_method_details") or {}).get("card") or {}).get("last4"))


def _dispute(data):
    return types.Dispute(
        id=data["id"], charge=_id(data["charge"]), amount=data["amount"],
        currency=data["currency"], reason=data["reason"], status=data["status"],
        is_charge_refundable=bool(data.get("is_charge_refundable")), created=data["created"])


def _tax_rate(data):
    return types.TaxRate(
        id=data["id"], display_name=data["display_name"],
        # Stripe sends a JSON number (20, 19.5): read through its text, not a binary float.
        percentage=Decimal(str(data["percentage"])), inclusive=bool(data["inclusive"]),
        jurisdiction=data.get("jurisdiction"), country=data.get("country"),
        active=bool(data.get("active", True)))


def _invoice_line(data):
    parent = data.get("parent") or {}
    details = parent.get("subscription_item_details") or parent.get("invoice_item_details") or {}
    pricing = data.get("pricing") or {}
    period = data.get("period") or {}
    return types.InvoiceLine(
        id=data["id"], amount=data["amount"], currency=data["currency"],
        description=data.get("description"), quantity=data.get("quantity"),
        proration=bool(details.get("proration")),
        price=_id((pricing.get("price_details") or {}).get("price")),
        period_start=period.get("start"), period_end=period.get("end"),
        invoice_item=_id((parent.get("invoice_item_details") or {}).get("invoice_item")),
        taxes=_taxes(data.get("taxes")))


def _taxes(entries):
    """Stripe's `taxes` / `total_taxes` entries (null when there are none)."""
    return tuple(types.Tax(
        amount=entry["amount"], taxable_amount=entry.get("taxable_amount") or 0,
        inclusive=entry.get("tax_behavior") == "inclusive",
        tax_rate=_id((entry.get("tax_rate_details") or {}).get("tax_rate")))
        for entry in entries or ())


def _invoice(data):
    lines = (data.get("lines") or {}).get("data") or []
    return types.Invoice(
        id=data.get("id"), customer=_id(data["customer"]), number=data.get("number"),
        status=data.get("status"), currency=data["currency"], subtotal=data["subtotal"],
        total=data["total"], amount_due=data["amount_due"], amount_paid=data["amount_paid"],
        amount_remaining=data["amount_remaining"],
        starting_balance=data.get("starting_balance") or 0,
        ending_balance=data.get("ending_balance"),
        pre_payment_credit_notes_amount=data.get("pre_payment_credit_notes_amount") or 0,
        post_payment_credit_notes_amount=data.get("post_payment_credit_notes_amount") or 0,
        billing_reason=data.get("billing_reason"),
        collection_method=data.get("collection_method"),
        subscription=_invoice_subscription(data), created=data["created"],
        due_date=data.get("due_date"), hosted_invoice_url=data.get("hosted_invoice_url"),
        lines=tuple(_invoice_line(line) for line in lines),
        metadata=data.get("metadata") or {},
        status_transitions=data.get("status_transitions") or {},
        taxes=_taxes(data.get("total_taxes")),
        total_excluding_tax=data.get("total_excluding_tax"))


def _invoice_subscription(data):
    """Newer API versions name the subscription under `parent`, older ones at the top."""
    details = (data.get("parent") or {}).get("subscription_details") or {}
    return _id(details.get("subscription") or data.get("subscription"))


def _invoice_payment(data):
    payment = data.get("payment") or {}
    transitions = data.get("status_transitions") or {}
    return types.InvoicePayment(
        id=data["id"], invoice=_id(data["invoice"]), status=data["status"],
        amount_requested=data["amount_requested"], amount_paid=data.get("amount_paid"),
        currency=data["currency"], is_default=bool(data.get("is_default")),
        payment_type=payment.get("type"), payment_intent=_id(payment.get("payment_intent")),
        charge=_id(payment.get("charge")), payment_record=_id(payment.get("payment_record")),
        created=data["created"], paid_at=transitions.get("paid_at"),
        canceled_at=transitions.get("canceled_at"))


def _invoice_item(data):
    return types.InvoiceItem(
        id=data["id"], customer=_id(data["customer"]), invoice=_id(data.get("invoice")),
        amount=data["amount"], currency=data["currency"], description=data.get("description"),
        quantity=data.get("quantity") or 1, proration=bool(data.get("proration")),
        created=data.get("date") or data.get("created") or 0,
        metadata=data.get("metadata") or {})


def _credit_note(data):
    refunds = data.get("refunds") or []
    lines = (data.get("lines") or {}).get("data") or []
    return types.CreditNote(
        id=data["id"], invoice=_id(data["invoice"]), customer=_id(data["customer"]),
        number=data["number"], status=data["status"], type=data["type"],
        currency=data["currency"], amount=data["amount"],
        pre_payment_amount=data.get("pre_payment_amount") or 0,
        post_payment_amount=data.get("post_payment_amount") or 0,
        refund_amount=sum(refund.get("amount_refunded") or 0 for refund in refunds),
        out_of_band_amount=data.get("out_of_band_amount"),
        customer_balance_transaction=_id(data.get("customer_balance_transaction")),
        reason=data.get("reason"), memo=data.get("memo"), created=data["created"],
        voided_at=data.get("voided_at"),
        refunds=tuple(_id(refund.get("refund")) for refund in refunds),
        lines=tuple(types.CreditNoteLine(
            id=line["id"], type=line["type"], amount=line["amount"],
            quantity=line.get("quantity"), description=line.get("description"),
            invoice_line_item=line.get("invoice_line_item"), taxes=_taxes(line.get("taxes")))
            for line in lines),
        metadata=data.get("metadata") or {},
        subtotal=data.get("subtotal") or 0, total=data.get("total") or 0,
        taxes=_taxes(data.get("total_taxes")),
        # Stripe embeds each line's rates whole, so naming them takes no further read.
        tax_rates={rate["id"]: _tax_rate(rate) for line in lines
                   for rate in line.get("tax_rates") or () if isinstance(rate, dict)})


def _subscription_item(data):
    price = data.get("price") or {}
    recurring = price.get("recurring") or {}
    return types.SubscriptionItem(
        id=data["id"], price=price.get("id"), product=_id(price.get("product")),
        unit_amount=price.get("unit_amount"), currency=price.get("currency"),
        interval=recurring.get("interval"), interval_count=recurring.get("interval_count"),
        quantity=data.get("quantity") or 1,
        current_period_start=data.get("current_period_start"),
        current_period_end=data.get("current_period_end"))


def _price(data, product_names):
    recurring = data["recurring"]
    product = _id(data["product"])
    return types.Price(
        id=data["id"], product=product, product_name=product_names[product],
        unit_amount=data.get("unit_amount"), currency=data["currency"],
        interval=recurring["interval"], interval_count=recurring.get("interval_count") or 1)


def _subscription(data):
    items = (data.get("items") or {}).get("data") or []
    return types.Subscription(
        id=data["id"], customer=_id(data["customer"]), status=data["status"],
        currency=data["currency"], collection_method=data["collection_method"],
        cancel_at_period_end=bool(data.get("cancel_at_period_end")),
        cancel_at=data.get("cancel_at"), canceled_at=data.get("canceled_at"),
        ended_at=data.get("ended_at"), start_date=data["start_date"],
        latest_invoice=_id(data.get("latest_invoice")),
        items=tuple(_subscription_item(item) for item in items),
        metadata=data.get("metadata") or {})


def _event(data):
    event_data = data.get("data") or {}
    obj = event_data.get("object") or {}
    request = data.get("request") or {}
    return types.Event(
        id=data["id"], type=data["type"], created=data["created"],
        object_type=obj.get("object"), object_id=obj.get("id"), data=event_data,
        previous_attributes=event_data.get("previous_attributes"),
        request_id=request.get("id"), idempotency_key=request.get("idempotency_key"))

"""Invoices and invoice items, with Stripe's status transitions:

    draft --finalize--> open --pay--> paid
                        open --void--> void
                        open --mark_uncollectible--> uncollectible --pay/void--> paid/void
    draft --delete--> (gone)

Any other move gets Stripe's 400. Finalizing applies the customer's balance; an invoice
with nothing left to pay is paid on finalization. An invoice paid by a charge gets an
invoice payment naming it (`invoice_payments.py`).

Taxes: a line is taxed at its invoice item's `tax_rates`, or else at the invoice's
`default_tax_rates` (set while it is a draft); `tax_rates.py` works out each line's `taxes`
and the invoice's totals. What is due follows from the `total`, exclusive tax included.
"""

from . import invoice_payments, payments
from .customers import record_balance_change
from .errors import StripeApiError, invalid_request, parameter_missing
from .forms import metadata, optional_bool, optional_int, required_str
from .state import embedded_list, new_id, page, public
from .tax_rates import line_taxes, rates_param, totals

COLLECTION_METHODS = ("charge_automatically", "send_invoice")
VOIDABLE = ("open", "uncollectible")
PAYABLE = ("open", "uncollectible")
DAY = 86400


# Invoices ------------------------------------------------------------------------------


def new_invoice(state, customer, *, billing_reason="manual", subscription=None,
                collection_method="charge_automatically", days_until_due=None,
                description=None, metadata_values=None, auto_advance=False,
                default_tax_rates=()):
    now = state.now()
    invoice_id = new_id("in")
    return state.add({
        "id": invoice_id, "object": "invoice", "account_country": "US",
        "account_name": "Billing Console Sandbox", "account_tax_ids": None, "amount_due": 0,
        "amount_overpaid": 0, "amount_paid": 0, "amount_remaining": 0, "amount_shipping": 0,
        "application": None, "attempt_count": 0, "attempted": False,
        "auto_advance": auto_advance,
        "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None,
                          "provider": None, "status": None},
        "automatically_finalizes_at": None, "billing_reason": billing_reason,
        "collection_method": collection_method, "created": now,
        "currency": customer["currency"] or "usd", "custom_fields": None,
        "customer": customer["id"], "customer_account": None, "customer_address": None,
        "customer_email": customer["email"], "customer_name": customer["name"],
        "customer_phone": customer["phone"], "customer_shipping": None,
        "customer_tax_exempt": "none", "customer_tax_ids": [], "default_payment_method": None,
        "default_source": None, "default_tax_rates": list(default_tax_rates),
        "description": description,
        "discounts": [], "due_date": None, "effective_at": None, "ending_balance": None,
        "footer": None, "from_invoice": None, "hosted_invoice_url": None,
        "invoice_pdf": None, "issuer": {"type": "self"}, "last_finalization_error": None,
        "latest_revision": None, "lines": embedded_list([], f"/v1/invoices/{invoice_id}/lines"),
        "livemode": False, "metadata": metadata_values or {}, "next_payment_attempt": None,
        "number": None, "on_behalf_of": None,
        "parent": _parent(subscription),
        "payment_settings": {"default_mandate": None, "payment_method_options": None,
                             "payment_method_types": None},
        "period_end": now, "period_start": now, "post_payment_credit_notes_amount": 0,
        "pre_payment_credit_notes_amount": 0, "receipt_number": None,
        "rendering": None, "shipping_cost": None, "shipping_details": None,
        "starting_balance": 0, "statement_descriptor": None, "status": "draft",
        "status_transitions": {"finalized_at": None, "marked_uncollectible_at": None,
                               "paid_at": None, "voided_at": None},
        "subscription": subscription, "subtotal": 0, "subtotal_excluding_tax": 0,
        "test_clock": None, "total": 0, "total_discount_amounts": [],
        "total_excluding_tax": 0, "total_pretax_credit_amounts": [], "total_taxes": [],
        "webhooks_delivered_at": None, "_days_until_due": days_until_due,
        "_applied_balance": 0, "_charge": None,
    })


def _parent(subscription):
    if not subscription:
        return None
    return {"quote_details": None, "type": "subscription_details",
            "subscription_details": {"metadata": {}, "subscription": subscription}}


def recompute(state, invoice):
    """Lines with their taxes, totals and what is left to pay, from the invoice's line
    items."""
    lines = list(reversed(state.all("line_item", invoice=invoice["id"])))
    for line in lines:
        line["taxes"] = line_taxes(line["amount"], line_tax_rates(invoice, line))
    invoice["lines"] = embedded_list(lines, f"/v1/invoices/{invoice['id']}/lines")
    invoice.update(totals(lines))
    due = invoice["total"] + invoice["_applied_balance"] - \
        invoice["pre_payment_credit_notes_amount"]
    invoice["amount_due"] = max(0, due)
    invoice["amount_remaining"] = 0 if invoice["status"] == "paid" else max(
        0, invoice["amount_due"] - invoice["amount_paid"])


def line_tax_rates(invoice, line):
    """The tax rates a line is taxed at: its own, else the invoice's defaults. (A line saved
    by an older sandbox has no rates of its own.)"""
    return line.get("_tax_rates") or invoice["default_tax_rates"]


def create_invoice(state, params):
    customer = state.get("customer", required_str(params, "customer"), param="customer")
    collection_method = params.get("collection_method", "charge_automatically")
    if collection_method not in COLLECTION_METHODS:
        raise invalid_request("Invalid collection_method", param="collection_method")
    days_until_due = optional_int(params, "days_until_due")
    if collection_method == "send_invoice" and days_until_due is None:
        raise invalid_request("Missing required param: days_until_due.",
                              code="parameter_missing", param="days_until_due")
    invoice = new_invoice(state, customer, collection_method=collection_method,
                          days_until_due=days_until_due, description=params.get("description"),
                          metadata_values=metadata(params),
                          auto_advance=optional_bool(params, "auto_advance"),
                          default_tax_rates=rates_param(state, params, "default_tax_rates"))
    if params.get("pending_invoice_items_behavior") == "include":
        # Oldest first, so the lines read in the order the items were made.
        for item in reversed(state.all("invoiceitem", customer=customer["id"], invoice=None)):
            attach_item(state, item, invoice)
    recompute(state, invoice)
    state.emit("invoice.created", invoice)
    return public(invoice)


def retrieve_invoice(state, params, invoice_id):
    return public(state.get("invoice", invoice_id))


def update_invoice(state, params, invoice_id):
    invoice = state.get("invoice", invoice_id)
    editable = {"description", "auto_advance", "days_until_due",
                "default_tax_rates"} & set(params)
    if editable and invoice["status"] != "draft":
        raise _not_editable(invoice)
    invoice["default_tax_rates"] = rates_param(
        state, params, "default_tax_rates", invoice["default_tax_rates"])
    if "description" in params:
        invoice["description"] = params["description"] or None
    if "auto_advance" in params:
        invoice["auto_advance"] = optional_bool(params, "auto_advance")
    if "days_until_due" in params:
        invoice["_days_until_due"] = optional_int(params, "days_until_due")
    invoice["metadata"] = metadata(params, invoice["metadata"])
    recompute(state, invoice)
    state.emit("invoice.updated", invoice)
    return public(invoice)


def _not_editable(invoice):
    return invalid_request(
        f"You can only modify draft invoices. This invoice ({invoice['id']}) is "
        f"{invoice['status']}.", code="invoice_not_editable")


def delete_invoice(state, params, invoice_id):
    invoice = state.get("invoice", invoice_id)
    if invoice["status"] != "draft":
        raise invalid_request("You can only delete draft invoices.")
    for item in state.all("invoiceitem", invoice=invoice_id):
        state.delete("invoiceitem", item["id"])
    for line in state.all("line_item", invoice=invoice_id):
        state.delete("line_item", line["id"])
    state.delete("invoice", invoice_id)
    state.emit("invoice.deleted", invoice)
    return {"id": invoice_id, "object": "invoice", "deleted": True}


def list_invoices(state, params):
    found = state.all("invoice")
    for field in ("customer", "status", "subscription", "collection_method"):
        if params.get(field):
            found = [invoice for invoice in found if invoice[field] == params[field]]
    return page(found, params, "/v1/invoices")


def list_lines(state, params, invoice_id):
    state.get("invoice", invoice_id)
    lines = list(reversed(state.all("line_item", invoice=invoice_id)))
    return page(lines, params, f"/v1/invoices/{invoice_id}/lines")


# Transitions ---------------------------------------------------------------------------


def finalize_invoice(state, params, invoice_id):
    invoice = state.get("invoice", invoice_id)
    if invoice["status"] != "draft":
        raise invalid_request("This invoice is already finalized, you can't re-finalize a "
                              "non-draft invoice.")
    finalize(state, invoice)
    return public(invoice)


def finalize(state, invoice):
    customer = state.get("customer", invoice["customer"])
    now = state.now()
    recompute(state, invoice)
    _apply_customer_balance(state, invoice, customer)
    sequence = customer["next_invoice_sequence"]
    customer["next_invoice_sequence"] += 1
    invoice.update(
        status="open", number=f"{customer['invoice_prefix']}-{sequence:04d}", effective_at=now,
        hosted_invoice_url=f"https://invoice.stripe.com/i/sandbox/{invoice['id']}",
        invoice_pdf=f"https://pay.stripe.com/invoice/sandbox/{invoice['id']}/pdf")
    invoice["status_transitions"]["finalized_at"] = now
    if invoice["collection_method"] == "send_invoice":
        invoice["due_date"] = now + (invoice["_days_until_due"] or 0) * DAY
    recompute(state, invoice)
    state.emit("invoice.finalized", invoice)
    if invoice["amount_due"] == 0:
        mark_paid(state, invoice)


def _apply_customer_balance(state, invoice, customer):
    """Credit (a negative balance) pays part of the invoice's total, tax included; a debit
    is added to it. A negative invoice (prorations crediting unused time) becomes credit on
    the balance."""
    balance = customer["balance"]
    total = invoice["total"]
    if total < 0:
        applied = -total
    elif balance < 0:
        applied = max(balance, -total)
    else:
        applied = balance
    invoice["starting_balance"] = balance
    invoice["_applied_balance"] = applied
    invoice["ending_balance"] = balance - applied
    if applied:
        record_balance_change(state, customer, -applied, "applied_to_invoice",
                              currency=invoice["currency"], invoice=invoice["id"])


def _set_delinquent(state, invoice, delinquent):
    """Stripe's `delinquent` follows the latest invoice event: a failed automatic payment
    sets it; paying or writing off an invoice clears it."""
    customer = state.get("customer", invoice["customer"])
    if customer["delinquent"] != delinquent:
        customer["delinquent"] = delinquent
        state.emit("customer.updated", customer, {"delinquent": not delinquent})


def mark_paid(state, invoice, *, charge_id=None):
    previous = invoice["status"]
    paid_now = invoice["amount_remaining"]
    _set_delinquent(state, invoice, False)
    invoice["amount_paid"] += paid_now
    invoice.update(status="paid", _charge=charge_id, attempted=True)
    invoice["status_transitions"]["paid_at"] = state.now()
    recompute(state, invoice)
    if charge_id:
        invoice_payments.record_payment(state, invoice, state.get("charge", charge_id),
                                        paid_now)
    state.emit("invoice.paid", invoice, {"status": previous})
    state.emit("invoice.payment_succeeded", invoice)


def pay_invoice(state, params, invoice_id):
    invoice = state.get("invoice", invoice_id)
    if invoice["status"] == "draft":
        finalize(state, invoice)
    if invoice["status"] == "paid":
        raise invalid_request("Invoice is already paid")
    if invoice["status"] not in PAYABLE:
        raise invalid_request(f"You can only pay open or uncollectible invoices. This invoice "
                              f"is {invoice['status']}.")
    if optional_bool(params, "paid_out_of_band"):
        mark_paid(state, invoice)
        return public(invoice)
    payment_method = params.get("payment_method") or _default_payment_method(state, invoice)
    if not payment_method:
        raise invalid_request("This customer has no attached payment source or default "
                              "payment method. Please consider adding a default payment "
                              "method.")
    charge_invoice(state, invoice, payment_method)
    return public(invoice)


def _default_payment_method(state, invoice):
    customer = state.get("customer", invoice["customer"])
    return invoice["default_payment_method"] or \
        customer["invoice_settings"]["default_payment_method"]


def charge_invoice(state, invoice, payment_method):
    """Try to collect the invoice's remaining amount; a decline leaves it open and raises."""
    invoice["attempt_count"] += 1
    invoice["attempted"] = True
    try:
        intent = payments.pay(state, customer_id=invoice["customer"],
                              amount=invoice["amount_remaining"], currency=invoice["currency"],
                              payment_method=payment_method,
                              description=f"Payment for Invoice {invoice['number']}",
                              metadata_values={})
    except StripeApiError:
        _set_delinquent(state, invoice, True)
        state.emit("invoice.payment_failed", invoice)
        raise
    mark_paid(state, invoice, charge_id=intent["latest_charge"])


def void_invoice(state, params, invoice_id):
    invoice = state.get("invoice", invoice_id)
    if invoice["status"] not in VOIDABLE:
        raise invalid_request(f"You can only void open or uncollectible invoices. This "
                              f"invoice is {invoice['status']}.")
    previous = invoice["status"]
    invoice["status"] = "void"
    invoice["status_transitions"]["voided_at"] = state.now()
    state.emit("invoice.voided", invoice, {"status": previous})
    return public(invoice)


def mark_uncollectible(state, params, invoice_id):
    invoice = state.get("invoice", invoice_id)
    if invoice["status"] != "open":
        raise invalid_request(f"You can only mark open invoices as uncollectible. This "
                              f"invoice is {invoice['status']}.")
    invoice["status"] = "uncollectible"
    invoice["status_transitions"]["marked_uncollectible_at"] = state.now()
    _set_delinquent(state, invoice, False)
    state.emit("invoice.marked_uncollectible", invoice, {"status": "open"})
    return public(invoice)


# Invoice items and lines ---------------------------------------------------------------


def new_invoice_item(state, customer, *, amount, currency, description, price=None,
                     quantity=1, period=None, proration=False, subscription=None,
                     metadata_values=None, tax_rates=()):
    now = state.now()
    unit_amount = price["unit_amount"] if price else amount // max(quantity, 1)
    return state.add({
        "id": new_id("ii"), "object": "invoiceitem", "amount": amount, "currency": currency,
        "customer": customer["id"], "customer_account": None, "date": now,
        "description": description, "discountable": not proration, "discounts": [],
        "invoice": None, "livemode": False, "metadata": metadata_values or {},
        "net_amount": amount,
        "parent": _parent(subscription), "period": period or {"start": now, "end": now},
        "pricing": {"type": "price_details", "unit_amount_decimal": str(unit_amount),
                    "price_details": {"price": price["id"], "product": price["product"]}
                    if price else None},
        "proration": proration, "quantity": quantity, "quantity_decimal": str(quantity),
        "tax_rates": list(tax_rates), "test_clock": None,
    })


def add_line(state, invoice, *, amount, description, period, quantity=1, price=None,
             invoice_item=None, proration=False, subscription=None, subscription_item=None,
             tax_rates=()):
    """A line on the invoice; subscription lines carry their item, others their invoice item.
    `tax_rates` are the item's own; its `taxes` are worked out by `recompute`. Stripe's line
    has no `tax_rates` field of its own (since 2025-03-31.basil), so they are kept aside."""
    if invoice_item:
        parent = {"type": "invoice_item_details", "subscription_item_details": None,
                  "invoice_item_details": {"invoice_item": invoice_item, "proration": proration,
                                           "proration_details": {"credited_items": None},
                                           "subscription": subscription}}
    else:
        parent = {"type": "subscription_item_details", "invoice_item_details": None,
                  "subscription_item_details": {
                      "invoice_item": None, "proration": proration,
                      "proration_details": {"credited_items": None},
                      "subscription": subscription, "subscription_item": subscription_item}}
    return state.add({
        "id": new_id("il"), "object": "line_item", "amount": amount,
        "currency": invoice["currency"], "description": description, "discount_amounts": [],
        "discountable": not proration, "discounts": [], "invoice": invoice["id"],
        "livemode": False, "metadata": {}, "parent": parent, "period": period,
        "pretax_credit_amounts": [],
        "pricing": {"type": "price_details", "unit_amount_decimal": str(price["unit_amount"])
                    if price else str(amount),
                    "price_details": {"price": price["id"], "product": price["product"]}
                    if price else None},
        "quantity": quantity, "quantity_decimal": str(quantity), "subscription": subscription,
        "subtotal": amount, "taxes": [], "_tax_rates": list(tax_rates),
    })


def attach_item(state, item, invoice):
    item["invoice"] = invoice["id"]
    invoice["currency"] = item["currency"]
    subscription = (item["parent"] or {}).get("subscription_details", {}).get("subscription")
    add_line(state, invoice, amount=item["amount"], description=item["description"],
             period=item["period"], quantity=item["quantity"], invoice_item=item["id"],
             proration=item["proration"], subscription=subscription,
             tax_rates=item["tax_rates"])


def create_invoice_item(state, params):
    customer = state.get("customer", required_str(params, "customer"), param="customer")
    price = _price_param(state, params)
    quantity = optional_int(params, "quantity", 1)
    if price:
        amount, currency = price["unit_amount"] * quantity, price["currency"]
    else:
        amount = optional_int(params, "amount")
        currency = (params.get("currency") or customer["currency"] or "").lower()
        if amount is None:
            raise parameter_missing("amount")
        if not currency:
            raise parameter_missing("currency")
    invoice = _draft_invoice_param(state, params, customer)
    item = new_invoice_item(state, customer, amount=amount, currency=currency,
                            description=params.get("description"), price=price,
                            quantity=quantity, period=_period(params),
                            metadata_values=metadata(params),
                            tax_rates=rates_param(state, params, "tax_rates"))
    if invoice:
        attach_item(state, item, invoice)
        recompute(state, invoice)
        state.emit("invoice.updated", invoice)
    state.emit("invoiceitem.created", item)
    return public(item)


def _price_param(state, params):
    price_id = params.get("price") or (params.get("pricing") or {}).get("price")
    return state.get("price", price_id, param="price") if price_id else None


def _draft_invoice_param(state, params, customer):
    if not params.get("invoice"):
        return None
    invoice = state.get("invoice", params["invoice"], param="invoice")
    if invoice["customer"] != customer["id"]:
        raise invalid_request("The invoice belongs to a different customer.", param="invoice")
    if invoice["status"] != "draft":
        raise invalid_request(
            f"You can only add invoice items to draft invoices. This invoice "
            f"({invoice['id']}) is {invoice['status']}.", code="invoice_not_editable",
            param="invoice")
    return invoice


def _period(params):
    period = params.get("period")
    if not isinstance(period, dict):
        return None
    return {"start": optional_int(period, "start"), "end": optional_int(period, "end")}


def retrieve_invoice_item(state, params, item_id):
    return public(state.get("invoiceitem", item_id))


def list_invoice_items(state, params):
    found = state.all("invoiceitem")
    for field in ("customer", "invoice"):
        if params.get(field):
            found = [item for item in found if item[field] == params[field]]
    if params.get("pending") == "true":
        found = [item for item in found if item["invoice"] is None]
    return page(found, params, "/v1/invoiceitems")


def delete_invoice_item(state, params, item_id):
    item = state.get("invoiceitem", item_id)
    invoice = state.find("invoice", item["invoice"]) if item["invoice"] else None
    if invoice and invoice["status"] != "draft":
        raise _not_editable(invoice)
    state.delete("invoiceitem", item_id)
    if invoice:
        for line in state.all("line_item", invoice=invoice["id"]):
            if (line["parent"]["invoice_item_details"] or {}).get("invoice_item") == item_id:
                state.delete("line_item", line["id"])
        recompute(state, invoice)
    state.emit("invoiceitem.deleted", item)
    return {"id": item_id, "object": "invoiceitem", "deleted": True}


INVOICE = r"/v1/invoices/([^/]+)"
ROUTES = [
    ("POST", r"/v1/invoices", create_invoice),
    ("GET", r"/v1/invoices", list_invoices),
    ("GET", INVOICE, retrieve_invoice),
    ("POST", INVOICE, update_invoice),
    ("DELETE", INVOICE, delete_invoice),
    ("GET", INVOICE + "/lines", list_lines),
    ("POST", INVOICE + "/finalize", finalize_invoice),
    ("POST", INVOICE + "/pay", pay_invoice),
    ("POST", INVOICE + "/void", void_invoice),
    ("POST", INVOICE + "/mark_uncollectible", mark_uncollectible),
    ("POST", r"/v1/invoiceitems", create_invoice_item),
    ("GET", r"/v1/invoiceitems", list_invoice_items),
    ("GET", r"/v1/invoiceitems/([^/]+)", retrieve_invoice_item),
    ("DELETE", r"/v1/invoiceitems/([^/]+)", delete_invoice_item),
]

"""Credit notes: preview, create (by `amount` or by `lines`), void, list.

Stripe's split rules: a note first reduces what is left to pay on the invoice
(`pre_payment_amount`, never below zero); the rest (`post_payment_amount`) must be given
out exactly as `refund_amount` + `credit_amount` + `out_of_band_amount`. Notes on one
invoice never total more than the invoice, and the lines crediting one invoice line never
more than that line.

Taxes: every amount above is a total with tax, as the invoice's are. A line crediting an
invoice line is taxed at the rates that taxed that line, worked out on the credited amount
as the invoice's lines are (`tax_rates.line_taxes`): its `amount`, like the invoice line's,
holds inclusive tax and leaves exclusive tax out. A custom line is taxed at the
`tax_rates` it is given, if any. A note by `amount` alone credits that sum with tax
included, as one post-tax adjustment with no tax breakdown: Stripe applies credit notes
"after applying discounts and taxes—so they're a post-tax adjusted amount" (docs.stripe.com,
Generate credit notes programmatically), and its `amount` parameter is "the total amount of
the credit note". To credit tax by rate, credit the lines.
"""

from . import invoices, payments
from .customers import record_balance_change
from .errors import invalid_request, parameter_missing
from .forms import metadata, optional_int, required_str
from .state import created_within, embedded_list, new_id, page, public
from .tax_rates import line_taxes, rates_param, totals

REASONS = ("duplicate", "fraudulent", "order_change", "product_unsatisfactory")
CREDITABLE_STATUSES = ("open", "paid", "uncollectible")


def preview_credit_note(state, params):
    invoice, plan = _plan(state, params)
    return _build(state, invoice, plan, new_id("cnp"), params)


def create_credit_note(state, params):
    invoice, plan = _plan(state, params)
    note = state.add(_build(state, invoice, plan, new_id("cn"), params))
    _apply(state, invoice, note, plan)
    state.emit("credit_note.created", note)
    return public(note)


# Working out the note --------------------------------------------------------------------


def _plan(state, params):
    invoice = state.get("invoice", required_str(params, "invoice"), param="invoice")
    if invoice["status"] not in CREDITABLE_STATUSES:
        raise invalid_request(
            f"Credit notes can only be issued on finalized invoices that are open, paid or "
            f"uncollectible. This invoice is {invoice['status']}.", param="invoice")
    lines = _lines(state, invoice, params.get("lines"))
    amount = _amount(params, lines)
    creditable = invoice["total"] - _credited(state, invoice)
    if amount > creditable:
        raise invalid_request(
            f"The credit note amount ({amount}) is greater than the amount that can still be "
            f"credited on invoice {invoice['id']} ({creditable}).", param="amount")
    outstanding = invoice["amount_remaining"] if invoice["status"] != "paid" else 0
    pre_payment = min(amount, outstanding)
    plan = {"amount": amount, "lines": lines, "pre_payment": pre_payment,
            "post_payment": amount - pre_payment,
            "refund": optional_int(params, "refund_amount", 0),
            "credit": optional_int(params, "credit_amount", 0),
            "out_of_band": optional_int(params, "out_of_band_amount")}
    _check_split(state, invoice, plan)
    return invoice, plan


def _credited(state, invoice):
    return sum(note["amount"] for note in state.all("credit_note", invoice=invoice["id"])
               if note["status"] == "issued")


def _amount(params, lines):
    """The note's amount: `amount`, or the lines' total with their exclusive tax."""
    lines_total = totals(lines)["total"]
    amount = optional_int(params, "amount")
    if amount is None and not lines:
        raise invalid_request("You must pass either `amount` or `lines`.", param="amount")
    if amount is not None and lines and amount != lines_total:
        raise invalid_request(
            f"The amount ({amount}) must equal the sum of the lines ({lines_total}).",
            param="amount")
    amount = lines_total if amount is None else amount
    if amount < 1:
        raise invalid_request("The credit note amount must be greater than 0.", param="amount")
    return amount


def _lines(state, invoice, raw_lines):
    if not raw_lines:
        return []
    if not isinstance(raw_lines, list):
        raise invalid_request("Invalid array", param="lines")
    lines = [_line(state, invoice, raw, index) for index, raw in enumerate(raw_lines)]
    _check_line_limits(state, invoice, lines)
    return lines


def _line(state, invoice, raw, index):
    """One line to credit: {type, amount, quantity, unit_amount, invoice_line_item,
    description, tax_rates, taxes}, amounts in minor units, exclusive tax left out."""
    kind = raw.get("type")
    quantity = optional_int(raw, "quantity", 1)
    if kind == "custom_line_item":
        return _custom_line(state, raw, index, quantity)
    if kind != "invoice_line_item":
        raise invalid_request("Invalid type: must be one of invoice_line_item or "
                              "custom_line_item", param=f"lines[{index}][type]")
    line_id = raw.get("invoice_line_item")
    line = state.find("line_item", line_id)
    if not line or line["invoice"] != invoice["id"]:
        raise invalid_request(f"No such invoice line item: '{line_id}'",
                              code="resource_missing",
                              param=f"lines[{index}][invoice_line_item]")
    amount = optional_int(raw, "amount")
    if amount is None:
        amount = line["amount"] * quantity // max(line["quantity"], 1)
    rates = invoices.line_tax_rates(invoice, line)
    return {"type": kind, "amount": amount, "quantity": quantity, "unit_amount": None,
            "invoice_line_item": line_id, "description": line["description"],
            "tax_rates": rates, "taxes": line_taxes(amount, rates), "_index": index}


def _custom_line(state, raw, index, quantity):
    unit_amount = optional_int(raw, "unit_amount")
    if unit_amount is None:
        raise parameter_missing(f"lines[{index}][unit_amount]")
    rates = rates_param(state, raw, "tax_rates", param=f"lines[{index}][tax_rates]")
    amount = unit_amount * quantity
    return {"type": "custom_line_item", "amount": amount, "quantity": quantity,
            "unit_amount": unit_amount, "invoice_line_item": None,
            "description": raw.get("description"), "tax_rates": rates,
            "taxes": line_taxes(amount, rates), "_index": index}


def _check_line_limits(state, invoice, lines):
    """No invoice line is credited beyond its amount, counting the notes already issued."""
    credited = _credited_by_line(state, invoice)
    for line in lines:
        line_id = line["invoice_line_item"]
        if line_id is None:
            continue
        credited[line_id] = credited.get(line_id, 0) + line["amount"]
        limit = state.get("line_item", line_id)["amount"]
        if credited[line_id] > limit:
            raise invalid_request(
                f"The credit amount ({line['amount']}) exceeds the line item amount "
                f"({limit}) less what is already credited on it.",
                param=f"lines[{line['_index']}][amount]")


def _credited_by_line(state, invoice):
    credited = {}
    for note in state.all("credit_note", invoice=invoice["id"]):
        for line in note["lines"]["data"] if note["status"] == "issued" else ():
            line_id = line["invoice_line_item"]
            if line_id:
                credited[line_id] = credited.get(line_id, 0) + line["amount"]
    return credited


def _check_split(state, invoice, plan):
    given = plan["refund"] + plan["credit"] + (plan["out_of_band"] or 0)
    if given != plan["post_payment"]:
        raise invalid_request(
            f"The sum of credit amount, refund amount and out of band amount ({given}) must "
            f"equal the credit note's post payment amount ({plan['post_payment']}).",
            param="amount")
    if plan["refund"]:
        charge = state.find("charge", invoice["_charge"]) if invoice["_charge"] else None
        if charge is None:
            raise invalid_request(
                "refund_amount can only be used on an invoice that was paid with a charge.",
                param="refund_amount")
        payments.check_refundable(state, charge, plan["refund"],
                                  charge["amount"] - charge["amount_refunded"])


def _build(state, invoice, plan, note_id, params):
    reason = params.get("reason")
    if reason and reason not in REASONS:
        raise invalid_request(f"Invalid reason: must be one of {', '.join(REASONS)}",
                              param="reason")
    sequence = len(state.all("credit_note", invoice=invoice["id"])) + 1
    lines = [_line_object(line, note_id) for line in plan["lines"]]
    kind = "pre_payment" if not plan["post_payment"] else (
        "post_payment" if not plan["pre_payment"] else "mixed")
    return {
        **_note_totals(plan), "id": note_id, "object": "credit_note", "amount": plan["amount"],
        "amount_shipping": 0, "created": state.now(), "currency": invoice["currency"],
        "customer": invoice["customer"], "customer_account": None,
        "customer_balance_transaction": None, "discount_amount": 0, "discount_amounts": [],
        "effective_at": state.now(), "invoice": invoice["id"],
        "lines": embedded_list(lines, f"/v1/credit_notes/{note_id}/lines", limit=None),
        "livemode": False,
        "memo": params.get("memo"), "metadata": metadata(params),
        "number": f"{invoice['number']}-CN-{sequence:02d}",
        "out_of_band_amount": plan["out_of_band"],
        "pdf": f"https://pay.stripe.com/credit_notes/sandbox/{note_id}/pdf",
        "post_payment_amount": plan["post_payment"], "pre_payment_amount": plan["pre_payment"],
        "pretax_credit_amounts": [], "reason": reason, "refunds": [], "shipping_cost": None,
        "status": "issued", "type": kind, "voided_at": None,
    }


def _note_totals(plan):
    """`subtotal` … `total_taxes` from the lines; a note by `amount` alone is that sum, with
    no tax broken out of it."""
    if plan["lines"]:
        return totals(plan["lines"])
    amount = plan["amount"]
    return {"subtotal": amount, "subtotal_excluding_tax": amount, "total": amount,
            "total_excluding_tax": amount, "total_taxes": []}


def _line_object(line, note_id):
    return {"id": new_id("cnli"), "object": "credit_note_line_item", "amount": line["amount"],
            "description": line["description"], "discount_amount": 0, "discount_amounts": [],
            "invoice_line_item": line["invoice_line_item"], "livemode": False,
            "metadata": {}, "pretax_credit_amounts": [], "quantity": line["quantity"],
            "tax_rates": line["tax_rates"], "taxes": line["taxes"], "type": line["type"],
            "unit_amount": line["unit_amount"],
            "unit_amount_decimal": None if line["unit_amount"] is None
            else str(line["unit_amount"])}


# Effects -------------------------------------------------------------------------------


def _apply(state, invoice, note, plan):
    if plan["refund"]:
        charge = state.get("charge", invoice["_charge"])
        refund = payments.refund_charge(state, charge, plan["refund"])
        note["refunds"] = [{"amount_refunded": plan["refund"], "refund": refund["id"],
                            "type": "refund", "payment_record_refund": None}]
    if plan["credit"]:
        customer = state.get("customer", invoice["customer"])
        transaction = record_balance_change(state, customer, -plan["credit"], "credit_note",
                                            currency=note["currency"], credit_note=note["id"],
                                            invoice=invoice["id"])
        note["customer_balance_transaction"] = transaction["id"]
    _shift_invoice(state, invoice, plan["pre_payment"], plan["post_payment"])
    if invoice["status"] in ("open", "uncollectible") and invoice["amount_remaining"] == 0:
        invoices.mark_paid(state, invoice)


def _shift_invoice(state, invoice, pre_payment, post_payment):
    invoice["pre_payment_credit_notes_amount"] += pre_payment
    invoice["post_payment_credit_notes_amount"] += post_payment
    invoices.recompute(state, invoice)
    state.emit("invoice.updated", invoice)


def void_credit_note(state, params, note_id):
    note = state.get("credit_note", note_id)
    if note["status"] != "issued":
        raise invalid_request(f"Credit note {note_id} has already been voided.")
    note.update(status="void", voided_at=state.now())
    invoice = state.get("invoice", note["invoice"])
    if note["customer_balance_transaction"]:
        # The credit given to the balance is taken back; refunds already paid out stay.
        credit = state.get("customer_balance_transaction", note["customer_balance_transaction"])
        customer = state.get("customer", note["customer"])
        record_balance_change(state, customer, -credit["amount"], "credit_note",
                              currency=note["currency"], credit_note=note_id,
                              invoice=invoice["id"])
    _shift_invoice(state, invoice, -note["pre_payment_amount"], -note["post_payment_amount"])
    state.emit("credit_note.voided", note)
    return public(note)


def retrieve_credit_note(state, params, note_id):
    return public(state.get("credit_note", note_id))


def list_credit_notes(state, params):
    found = state.all("credit_note")
    for field in ("invoice", "customer"):
        if params.get(field):
            found = [note for note in found if note[field] == params[field]]
    return page(created_within(found, params), params, "/v1/credit_notes")


ROUTES = [
    ("GET", r"/v1/credit_notes/preview", preview_credit_note),
    ("POST", r"/v1/credit_notes", create_credit_note),
    ("GET", r"/v1/credit_notes", list_credit_notes),
    ("GET", r"/v1/credit_notes/([^/]+)", retrieve_credit_note),
    ("POST", r"/v1/credit_notes/([^/]+)/void", void_credit_note),
]

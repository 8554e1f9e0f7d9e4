"""Invoice payments: which payment paid an invoice. Since API version 2025-03-31.basil an
invoice has no `charge` or `payment_intent`; an `invoice_payment` links the two instead,
its `payment` naming a PaymentIntent (`{"type": "payment_intent", "payment_intent":
"pi_..."}`) or, for a charge made without one, the charge (`{"type": "charge", "charge":
"ch_..."}`).

- `GET /v1/invoice_payments`: newest first, Stripe's list with cursors, filtered by
  `invoice`, `status` (open, paid, canceled), `payment[type]`,
  `payment[payment_intent]` and `created`.
- `GET /v1/invoice_payments/{id}`.

The sandbox records one when a charge pays an invoice (`invoices.mark_paid`): paid, the
invoice's default payment, for what the charge paid. An invoice paid out of band, or
wholly by the customer's balance or a credit note, has none; nor does one that is not
paid yet (Stripe would show its default payment as `open`, and a declined attempt leaves
it open), and no `invoice_payment.*` events are sent.
"""

from .errors import invalid_enum
from .state import created_within, new_id, page, public

STATUSES = ("open", "paid", "canceled")
PAYMENT_FILTERS = ("type", "payment_intent", "payment_record")


def record_payment(state, invoice, charge, amount):
    """The paid invoice payment for `amount` (minor units) of the invoice, paid by the
    charge; a charge made through a PaymentIntent is named by its PaymentIntent, as Stripe
    does."""
    now = state.now()
    if charge["payment_intent"]:
        payment = {"type": "payment_intent", "payment_intent": charge["payment_intent"]}
    else:
        payment = {"type": "charge", "charge": charge["id"]}
    return state.add({
        "id": new_id("inpay"), "object": "invoice_payment", "amount_paid": amount,
        "amount_requested": amount, "created": now, "currency": invoice["currency"],
        "invoice": invoice["id"], "is_default": True, "livemode": False, "payment": payment,
        "status": "paid", "status_transitions": {"canceled_at": None, "paid_at": now},
    })


def list_invoice_payments(state, params):
    found = state.all("invoice_payment")
    if params.get("invoice"):
        state.get("invoice", params["invoice"], param="invoice")
        found = [payment for payment in found if payment["invoice"] == params["invoice"]]
    if params.get("status"):
        if params["status"] not in STATUSES:
            raise invalid_enum("status", STATUSES)
        found = [payment for payment in found if payment["status"] == params["status"]]
    wanted = params.get("payment")
    if isinstance(wanted, dict):
        for field in PAYMENT_FILTERS:
            if wanted.get(field):
                found = [payment for payment in found
                         if payment["payment"].get(field) == wanted[field]]
    return page(created_within(found, params), params, "/v1/invoice_payments")


def retrieve_invoice_payment(state, params, payment_id):
    return public(state.get("invoice_payment", payment_id))


ROUTES = [
    ("GET", r"/v1/invoice_payments", list_invoice_payments),
    ("GET", r"/v1/invoice_payments/([^/]+)", retrieve_invoice_payment),
]

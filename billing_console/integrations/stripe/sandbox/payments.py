"""Payment intents, charges, refunds and disputes, with Stripe's test payment methods:

- `pm_card_visa` (and `pm_card_mastercard`): the charge succeeds;
- `pm_card_chargeDeclined`: the charge fails with a 402 `card_declined`;
- `pm_card_createDispute`: the charge succeeds and is disputed as fraudulent;
- `pm_card_refundFail`: the charge succeeds; each refund succeeds, then turns `failed`
  shortly afterwards (`refund.updated` and `refund.failed` events).
"""

from .errors import card_declined, invalid_request, parameter_missing, resource_missing
from .forms import metadata, optional_bool, required_int
from .state import created_within, embedded_list, new_id, page, public

SUCCEEDS = "succeeds"
DECLINED = "declined"
DISPUTED = "disputed"
REFUND_FAILS = "refund_fails"
TEST_PAYMENT_METHODS = {
    "pm_card_visa": SUCCEEDS, "pm_card_mastercard": SUCCEEDS,
    "pm_card_chargeDeclined": DECLINED, "pm_card_createDispute": DISPUTED,
    "pm_card_refundFail": REFUND_FAILS,
}
REFUND_REASONS = ("duplicate", "fraudulent", "requested_by_customer")
ZERO_DECIMAL_CURRENCIES = {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf",
                           "ugx", "vnd", "vuv", "xaf", "xof", "xpf"}
# How long a refund on pm_card_refundFail stays succeeded before it fails.
REFUND_FAILURE_DELAY_SECONDS = 0.5
# Refunds in these states hold part of the charge; failed and canceled ones give it back.
HOLDING_REFUND_STATES = ("pending", "requires_action", "succeeded")


def payment_method_outcome(payment_method, param="payment_method"):
    if payment_method not in TEST_PAYMENT_METHODS:
        raise resource_missing("PaymentMethod", payment_method, param=param)
    return TEST_PAYMENT_METHODS[payment_method]


# Payment intents -----------------------------------------------------------------------


def create_payment_intent(state, params):
    amount = required_int(params, "amount")
    if amount < 1:
        raise invalid_request("This value must be greater than or equal to 1.", param="amount")
    currency = (params.get("currency") or "").lower()
    if not currency:
        raise parameter_missing("currency")
    customer = params.get("customer")
    if customer:
        state.get("customer", customer, param="customer")
    intent = new_payment_intent(state, amount=amount, currency=currency, customer=customer,
                                description=params.get("description"),
                                metadata_values=metadata(params))
    if params.get("payment_method"):
        payment_method_outcome(params["payment_method"])
        intent["payment_method"] = params["payment_method"]
        intent["status"] = "requires_confirmation"
    state.emit("payment_intent.created", intent)
    if optional_bool(params, "confirm"):
        return confirm_payment_intent(state, {}, intent["id"])
    return public(intent)


def new_payment_intent(state, *, amount, currency, customer, description, metadata_values):
    intent_id = new_id("pi")
    return state.add({
        "id": intent_id, "object": "payment_intent", "amount": amount, "amount_capturable": 0,
        "amount_details": {"tip": {}}, "amount_received": 0, "application": None,
        "application_fee_amount": None,
        "automatic_payment_methods": {"allow_redirects": "never", "enabled": True},
        "canceled_at": None, "cancellation_reason": None, "capture_method": "automatic",
        "client_secret": f"{intent_id}_secret_{new_id('s')[2:]}",
        "confirmation_method": "automatic", "created": state.now(), "currency": currency,
        "customer": customer, "customer_account": None, "description": description,
        "excluded_payment_method_types": None, "last_payment_error": None,
        "latest_charge": None, "livemode": False, "managed_payments": None,
        "metadata": metadata_values, "next_action": None, "on_behalf_of": None,
        "payment_method": None, "payment_method_configuration_details": None,
        "payment_method_options": {"card": {"request_three_d_secure": "automatic"}},
        "payment_method_types": ["card"], "processing": None, "receipt_email": None,
        "review": None, "setup_future_usage": None, "shipping": None, "source": None,
        "statement_descriptor": None, "statement_descriptor_suffix": None,
        "status": "requires_payment_method", "transfer_data": None, "transfer_group": None,
    })


def confirm_payment_intent(state, params, intent_id):
    intent = state.get("payment_intent", intent_id)
    if intent["status"] == "succeeded":
        raise invalid_request(
            "You cannot confirm this PaymentIntent because it has already succeeded after "
            "being previously confirmed.", code="payment_intent_unexpected_state")
    payment_method = params.get("payment_method") or intent["payment_method"]
    if not payment_method:
        raise invalid_request(
            "You cannot confirm this PaymentIntent because it's missing a payment method.",
            code="payment_intent_unexpected_state")
    outcome = payment_method_outcome(payment_method)
    intent["payment_method"] = payment_method
    charge = _new_charge(state, intent, payment_method, outcome)
    intent["latest_charge"] = charge["id"]
    if outcome == DECLINED:
        _decline(state, intent, charge)
    intent.update(status="succeeded", amount_received=intent["amount"],
                  last_payment_error=None)
    state.emit("charge.succeeded", charge)
    state.emit("payment_intent.succeeded", intent)
    if outcome == DISPUTED:
        _open_dispute(state, charge)
    return public(intent)


def _decline(state, intent, charge):
    error = card_declined(charge_id=charge["id"], payment_intent=None)
    intent.update(status="requires_payment_method", last_payment_error={
        **error.body()["error"], "payment_method": {"id": intent["payment_method"],
                                                    "object": "payment_method"}})
    state.emit("charge.failed", charge)
    state.emit("payment_intent.payment_failed", intent)
    error.extra["payment_intent"] = public(intent)
    raise error


def retrieve_payment_intent(state, params, intent_id):
    return public(state.get("payment_intent", intent_id))


def list_payment_intents(state, params):
    found = state.all("payment_intent")
    if params.get("customer"):
        found = [intent for intent in found if intent["customer"] == params["customer"]]
    return page(found, params, "/v1/payment_intents")


def pay(state, *, customer_id, amount, currency, payment_method, description, metadata_values):
    """Charge a customer now, as an invoice payment does: the confirmed intent, or a
    402 card_declined."""
    intent = new_payment_intent(state, amount=amount, currency=currency, customer=customer_id,
                                description=description, metadata_values=metadata_values)
    intent["payment_method"] = payment_method
    state.emit("payment_intent.created", intent)
    return confirm_payment_intent(state, {}, intent["id"])


# Charges -------------------------------------------------------------------------------


def _new_charge(state, intent, payment_method, outcome):
    succeeded = outcome != DECLINED
    charge_id = new_id("ch")
    return state.add({
        "id": charge_id, "object": "charge", "amount": intent["amount"],
        "amount_captured": intent["amount"] if succeeded else 0, "amount_refunded": 0,
        "application": None, "application_fee": None, "application_fee_amount": None,
        "balance_transaction": new_id("txn") if succeeded else None,
        "billing_details": {"address": None, "email": None, "name": None, "phone": None},
        "calculated_statement_descriptor": "BILLING CONSOLE", "captured": succeeded,
        "created": state.now(), "currency": intent["currency"], "customer": intent["customer"],
        "description": intent["description"], "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": None if succeeded else "card_declined",
        "failure_message": None if succeeded else "Your card was declined.",
        "fraud_details": {}, "livemode": False, "metadata": dict(intent["metadata"]),
        "on_behalf_of": None, "outcome": _outcome(succeeded), "paid": succeeded,
        "payment_intent": intent["id"], "payment_method": payment_method,
        "payment_method_details": {"card": {"brand": "visa", "last4": _last4(payment_method),
                                            "exp_month": 12, "exp_year": 2034,
                                            "country": "US", "funding": "credit"},
                                   "type": "card"},
        "receipt_email": None, "receipt_number": None,
        "receipt_url": f"https://pay.stripe.com/receipts/sandbox/{charge_id}",
        "refunded": False, "refunds": embedded_list([], f"/v1/charges/{charge_id}/refunds"),
        "review": None, "shipping": None, "source": None, "source_transfer": None,
        "statement_descriptor": None, "statement_descriptor_suffix": None,
        "status": "succeeded" if succeeded else "failed", "transfer_data": None,
        "transfer_group": None, "_outcome": outcome,
    })


def _outcome(succeeded):
    if succeeded:
        return {"network_status": "approved_by_network", "reason": None, "risk_level": "normal",
                "seller_message": "Payment complete.", "type": "authorized"}
    return {"network_status": "declined_by_network", "reason": "generic_decline",
            "risk_level": "normal", "seller_message": "The bank did not return any further "
            "details with this decline.", "type": "issuer_declined"}


def _last4(payment_method):
    return {"pm_card_chargeDeclined": "0002", "pm_card_createDispute": "0259",
            "pm_card_refundFail": "0051", "pm_card_mastercard": "4444"}.get(payment_method, "4242")


def retrieve_charge(state, params, charge_id):
    return public(state.get("charge", charge_id))


def list_charges(state, params):
    found = state.all("charge")
    for field in ("customer", "payment_intent"):
        if params.get(field):
            found = [charge for charge in found if charge[field] == params[field]]
    return page(found, params, "/v1/charges")


# Refunds -------------------------------------------------------------------------------


def create_refund(state, params):
    charge = _charge_to_refund(state, params)
    remaining = charge["amount"] - charge["amount_refunded"]
    amount = required_int(params, "amount") if "amount" in params else remaining
    check_refundable(state, charge, amount, remaining)
    reason = params.get("reason")
    if reason and reason not in REFUND_REASONS:
        raise invalid_request(f"Invalid reason: must be one of {', '.join(REFUND_REASONS)}",
                              param="reason")
    refund = refund_charge(state, charge, amount, reason=reason,
                           metadata_values=metadata(params))
    return public(refund)


def _charge_to_refund(state, params):
    if params.get("charge"):
        return state.get("charge", params["charge"], param="charge")
    if params.get("payment_intent"):
        intent = state.get("payment_intent", params["payment_intent"], param="payment_intent")
        if intent["latest_charge"]:
            return state.get("charge", intent["latest_charge"])
        raise invalid_request(
            f"This PaymentIntent ({intent['id']}) does not have a successful charge to refund.",
            param="payment_intent")
    raise invalid_request(
        "One of the following params should be provided for this request: payment_intent or "
        "charge.")


def check_refundable(state, charge, amount, remaining):
    if charge["status"] != "succeeded":
        raise invalid_request(f"Charge {charge['id']} has not succeeded and cannot be refunded.",
                              code="charge_not_refundable", param="charge")
    if _blocking_dispute(state, charge):
        raise invalid_request(f"Charge {charge['id']} has been charged back; cannot issue a "
                              "refund.", code="charge_disputed", param="charge")
    if remaining <= 0:
        raise invalid_request(f"Charge {charge['id']} has already been refunded.",
                              code="charge_already_refunded", param="charge")
    if amount < 1:
        raise invalid_request("Invalid positive integer", code="parameter_invalid_integer",
                              param="amount")
    if amount > remaining:
        raise invalid_request(
            f"Refund amount ({_money(amount, charge['currency'])}) is greater than unrefunded "
            f"amount on charge ({_money(remaining, charge['currency'])})",
            code="amount_too_large", param="amount")


def _money(amount, currency):
    """An amount as messages show it: $7.00, EUR 7.00, or JPY 700 (zero-decimal)."""
    if currency in ZERO_DECIMAL_CURRENCIES:
        return f"{currency.upper()} {amount}"
    major, minor = divmod(amount, 100)
    symbol = "$" if currency == "usd" else f"{currency.upper()} "
    return f"{symbol}{major}.{minor:02d}"


def _blocking_dispute(state, charge):
    return any(not dispute["is_charge_refundable"]
               for dispute in state.all("dispute", charge=charge["id"]))


def refund_charge(state, charge, amount, *, reason=None, metadata_values=None):
    """A succeeded refund of `amount` (already checked) on the charge."""
    refund = state.add({
        "id": new_id("re"), "object": "refund", "amount": amount,
        "balance_transaction": new_id("txn"), "charge": charge["id"], "created": state.now(),
        "currency": charge["currency"], "customer": charge["customer"],
        "customer_account": None,
        "destination_details": {"card": {"reference_status": "pending",
                                         "reference_type": "acquirer_reference_number",
                                         "type": "refund"}, "type": "card"},
        "metadata": metadata_values or {}, "payment_intent": charge["payment_intent"],
        "payment_method": charge["payment_method"], "reason": reason, "receipt_number": None,
        "source_transfer_reversal": None, "status": "succeeded", "transfer_reversal": None,
    })
    _refresh_charge(state, charge)
    state.emit("refund.created", refund)
    state.emit("charge.refunded", charge)
    if charge["_outcome"] == REFUND_FAILS:
        state.schedule("fail_refund", REFUND_FAILURE_DELAY_SECONDS, refund_id=refund["id"])
    return refund


def _refresh_charge(state, charge):
    refunds = state.all("refund", charge=charge["id"])
    charge["amount_refunded"] = sum(refund["amount"] for refund in refunds
                                    if refund["status"] in HOLDING_REFUND_STATES)
    charge["refunded"] = charge["amount_refunded"] == charge["amount"]
    charge["refunds"] = embedded_list(refunds, f"/v1/charges/{charge['id']}/refunds")


def fail_refund(state, *, refund_id):
    """What Stripe does some time after a refund to pm_card_refundFail succeeded."""
    refund = state.get("refund", refund_id)
    refund.update(status="failed", failure_reason="expired_or_canceled_card",
                  failure_balance_transaction=new_id("txn"))
    _refresh_charge(state, state.get("charge", refund["charge"]))
    state.emit("refund.updated", refund, {"status": "succeeded"})
    state.emit("refund.failed", refund)
    state.emit("charge.refund.updated", refund, {"status": "succeeded"})


def retrieve_refund(state, params, refund_id):
    return public(state.get("refund", refund_id))


def update_refund(state, params, refund_id):
    refund = state.get("refund", refund_id)
    previous = dict(refund["metadata"])
    refund["metadata"] = metadata(params, refund["metadata"])
    state.emit("refund.updated", refund, {"metadata": previous})
    return public(refund)


def cancel_refund(state, params, refund_id):
    refund = state.get("refund", refund_id)
    if refund["status"] != "requires_action":
        raise invalid_request(
            f"Refund {refund_id} cannot be canceled because it has a status of "
            f"{refund['status']}. Only refunds with a status of requires_action can be "
            "canceled.")
    refund["status"] = "canceled"
    _refresh_charge(state, state.get("charge", refund["charge"]))
    state.emit("refund.updated", refund, {"status": "requires_action"})
    return public(refund)


def list_refunds(state, params):
    found = state.all("refund")
    for field in ("charge", "payment_intent"):
        if params.get(field):
            found = [refund for refund in found if refund[field] == params[field]]
    return page(created_within(found, params), params, "/v1/refunds")


# Disputes ------------------------------------------------------------------------------


def _open_dispute(state, charge):
    charge["disputed"] = True
    dispute = state.add({
        "id": new_id("dp"), "object": "dispute", "amount": charge["amount"],
        "balance_transactions": [], "charge": charge["id"], "created": state.now(),
        "currency": charge["currency"], "evidence": {}, "livemode": False,
        "evidence_details": {"due_by": state.now() + 7 * 86400, "has_evidence": False,
                             "past_due": False, "submission_count": 0},
        "is_charge_refundable": False, "metadata": {},
        "payment_intent": charge["payment_intent"],
        "payment_method_details": {"card": {"brand": "visa", "network_reason_code": "10.4"},
                                   "type": "card"},
        "reason": "fraudulent", "status": "needs_response", "enhanced_eligibility_types": [],
    })
    state.emit("charge.dispute.created", dispute)


def retrieve_dispute(state, params, dispute_id):
    return public(state.get("dispute", dispute_id))


def list_disputes(state, params):
    found = state.all("dispute")
    for field in ("charge", "payment_intent"):
        if params.get(field):
            found = [dispute for dispute in found if dispute[field] == params[field]]
    return page(found, params, "/v1/disputes")


SCHEDULED_ACTIONS = {"fail_refund": fail_refund}
ROUTES = [
    ("POST", r"/v1/payment_intents", create_payment_intent),
    ("GET", r"/v1/payment_intents", list_payment_intents),
    ("GET", r"/v1/payment_intents/([^/]+)", retrieve_payment_intent),
    ("POST", r"/v1/payment_intents/([^/]+)/confirm", confirm_payment_intent),
    ("GET", r"/v1/charges", list_charges),
    ("GET", r"/v1/charges/([^/]+)", retrieve_charge),
    ("POST", r"/v1/refunds", create_refund),
    ("GET", r"/v1/refunds", list_refunds),
    ("GET", r"/v1/refunds/([^/]+)", retrieve_refund),
    ("POST", r"/v1/refunds/([^/]+)", update_refund),
    ("POST", r"/v1/refunds/([^/]+)/cancel", cancel_refund),
    ("GET", r"/v1/disputes", list_disputes),
    ("GET", r"/v1/disputes/([^/]+)", retrieve_dispute),
]

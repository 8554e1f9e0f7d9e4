"""Customers (create, retrieve, update, list by email, search) and their balance
transactions. A negative balance is credit the customer's next invoices use up."""

import re

from .errors import invalid_request, parameter_missing
from .forms import metadata, optional_int, required_int
from .payments import payment_method_outcome
from .state import new_id, page, public

SEARCH_CLAUSE = re.compile(r"""(\w+(?:\[['"][^'"]+['"]\])?)\s*(:|~)\s*['"]([^'"]*)['"]""")


def create_customer(state, params):
    customer = state.add({
        "id": new_id("cus"), "object": "customer", "address": None, "balance": 0,
        "created": state.now(), "currency": None, "default_source": None, "delinquent": False,
        "description": params.get("description"), "discount": None,
        "email": params.get("email"),
        "invoice_prefix": new_id("x")[2:9].upper(),
        "invoice_settings": {
            "custom_fields": None, "footer": None, "rendering_options": None,
            "default_payment_method": _default_payment_method(params, None),
        },
        "livemode": False, "metadata": metadata(params), "name": params.get("name"),
        "next_invoice_sequence": 1, "phone": params.get("phone"), "preferred_locales": [],
        "shipping": None, "tax_exempt": "none", "test_clock": None,
    })
    state.emit("customer.created", customer)
    return public(customer)


def _default_payment_method(params, current):
    settings = params.get("invoice_settings") or {}
    if settings.get("default_payment_method"):
        chosen, param = settings["default_payment_method"], \
            "invoice_settings[default_payment_method]"
    else:
        chosen, param = params.get("payment_method"), "payment_method"
    if chosen:
        payment_method_outcome(chosen, param=param)
    return chosen or current


def retrieve_customer(state, params, customer_id):
    return public(state.get("customer", customer_id))


def update_customer(state, params, customer_id):
    customer = state.get("customer", customer_id)
    before = public(customer)
    for field in ("name", "email", "description", "phone"):
        if field in params:
            customer[field] = params[field] or None
    customer["metadata"] = metadata(params, customer["metadata"])
    customer["invoice_settings"]["default_payment_method"] = _default_payment_method(
        params, customer["invoice_settings"]["default_payment_method"])
    changed = {key: value for key, value in before.items() if customer.get(key) != value}
    state.emit("customer.updated", customer, changed)
    return public(customer)


def list_customers(state, params):
    found = state.all("customer")
    if params.get("email"):
        # Stripe matches the email case-sensitively on list.
        found = [customer for customer in found if customer["email"] == params["email"]]
    return page(found, params, "/v1/customers")


def search_customers(state, params):
    query = params.get("query")
    if not query:
        raise parameter_missing("query")
    clauses = SEARCH_CLAUSE.findall(query)
    if not clauses:
        raise invalid_request(f"Invalid search query: {query}", param="query")
    found = [customer for customer in state.all("customer")
             if all(_matches(customer, *clause) for clause in clauses)]
    limit = optional_int(params, "limit", 10)
    return {"object": "search_result", "url": "/v1/customers/search", "has_more":
            len(found) > limit, "next_page": None, "data": [public(c) for c in found[:limit]]}


def _matches(customer, field, operator, value):
    if field.startswith("metadata["):
        actual = customer["metadata"].get(field[10:-2])
    else:
        actual = customer.get(field)
    if actual is None:
        return False
    if operator == "~":
        return value.lower() in str(actual).lower()
    return str(actual).lower() == value.lower()


# Balance transactions ----------------------------------------------------------------


def record_balance_change(state, customer, amount, kind, *, currency, description=None,
                          invoice=None, credit_note=None, metadata_values=None):
    """Move the customer's balance by `amount` (negative is credit) and keep the record."""
    customer["balance"] += amount
    customer["currency"] = customer["currency"] or currency
    transaction = state.add({
        "id": new_id("cbtxn"), "object": "customer_balance_transaction", "amount": amount,
        "checkout_session": None, "created": state.now(), "credit_note": credit_note,
        "currency": currency, "customer": customer["id"], "customer_account": None,
        "description": description, "ending_balance": customer["balance"],
        "invoice": invoice, "livemode": False, "metadata": metadata_values, "type": kind,
    })
    state.emit("customer.updated", customer, {"balance": customer["balance"] - amount})
    return transaction


def create_balance_transaction(state, params, customer_id):
    customer = state.get("customer", customer_id)
    amount = required_int(params, "amount")
    currency = (params.get("currency") or "").lower()
    if not currency:
        raise parameter_missing("currency")
    if customer["currency"] and customer["currency"] != currency:
        raise invalid_request(
            f"The currency {currency} does not match the customer's currency "
            f"{customer['currency']}.", param="currency")
    transaction = record_balance_change(
        state, customer, amount, "adjustment", currency=currency,
        description=params.get("description"), metadata_values=metadata(params))
    return public(transaction)


def list_balance_transactions(state, params, customer_id):
    state.get("customer", customer_id)
    found = state.all("customer_balance_transaction", customer=customer_id)
    return page(found, params, f"/v1/customers/{customer_id}/balance_transactions")


def retrieve_balance_transaction(state, params, customer_id, transaction_id):
    transaction = state.get("customer_balance_transaction", transaction_id)
    if transaction["customer"] != customer_id:
        raise invalid_request(f"No such customer balance transaction: '{transaction_id}'",
                              code="resource_missing", param="id", status=404)
    return public(transaction)


CUSTOMER = r"/v1/customers/([^/]+)"
ROUTES = [
    ("POST", r"/v1/customers", create_customer),
    ("GET", r"/v1/customers", list_customers),
    ("GET", r"/v1/customers/search", search_customers),
    ("GET", CUSTOMER, retrieve_customer),
    ("POST", CUSTOMER, update_customer),
    ("POST", CUSTOMER + "/balance_transactions", create_balance_transaction),
    ("GET", CUSTOMER + "/balance_transactions", list_balance_transactions),
    ("GET", CUSTOMER + r"/balance_transactions/([^/]+)", retrieve_balance_transaction),
]

"""Subscriptions from recurring prices, and the invoice preview that shows a change's
prorations before it is made.

Prorations are computed by time, as Stripe does: a change at `proration_date` (now by
default) credits the unused part of the current period at the old price and charges the
rest of the period at the new one, each as `remaining / period length` of a full period.
`proration_behavior`: `none` makes no prorations, `create_prorations` leaves them as
pending invoice items for the next invoice, `always_invoice` invoices them at once.
A change to a price of another billing interval (monthly to annual) resets the billing
cycle anchor to now, as Stripe does: the new price's first full period starts at once and
is invoiced at once, whatever the proration behavior, with the unused time of the old
price credited on that invoice (unless `none`) and no proration for the new price.
Cancelling now can `prorate` (credit unused time) and `invoice_now` (invoice it at once).

Taxes: an item's `tax_rates`, else the subscription's `default_tax_rates`, tax its lines; the
subscription's invoices take its defaults as theirs, and its prorations carry the rates of
the item they prorate.
"""

import calendar
import contextlib
from datetime import UTC, datetime

from . import invoices
from .errors import StripeApiError, invalid_enum, invalid_request
from .forms import metadata, optional_bool, optional_int, required_str
from .state import embedded_list, new_id, page, public
from .tax_rates import rates_param

PRORATION_BEHAVIORS = ("none", "create_prorations", "always_invoice")
ENDED = ("canceled", "incomplete_expired")


# Periods -------------------------------------------------------------------------------


def add_interval(timestamp, interval, count=1):
    """The same moment `count` intervals later; month ends clamp (Jan 31 + 1 month = Feb 28)."""
    moment = datetime.fromtimestamp(timestamp, UTC)
    if interval in ("day", "week"):
        return timestamp + count * (7 if interval == "week" else 1) * 86400
    months = count * (12 if interval == "year" else 1)
    year, month = divmod(moment.month - 1 + months, 12)
    year += moment.year
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return int(moment.replace(year=year, month=month + 1, day=day).timestamp())


def _period_after(start, price):
    recurring = price["recurring"]
    return {"start": start,
            "end": add_interval(start, recurring["interval"], recurring["interval_count"])}


# Create --------------------------------------------------------------------------------


def create_subscription(state, params):
    customer = state.get("customer", required_str(params, "customer"), param="customer")
    raw_items = params.get("items")
    if not isinstance(raw_items, list) or not raw_items:
        raise invalid_request("Missing required param: items.", code="parameter_missing",
                              param="items")
    subscription_id = new_id("sub")
    now = state.now()
    items = [_new_item(state, subscription_id, raw, index, now)
             for index, raw in enumerate(raw_items)]
    subscription = state.add(_new_subscription(state, subscription_id, customer, items, params))
    customer["currency"] = customer["currency"] or subscription["currency"]
    state.emit("customer.subscription.created", subscription)
    invoice = _invoice_first_period(state, subscription, customer)
    subscription["latest_invoice"] = invoice["id"]
    if invoice["status"] != "paid" and subscription["collection_method"] == \
            "charge_automatically":
        subscription["status"] = "incomplete"
    return public(subscription)


def _new_item(state, subscription_id, raw, index, start):
    if not isinstance(raw, dict) or not raw.get("price"):
        raise invalid_request("Missing required param: items[0][price].",
                              code="parameter_missing", param=f"items[{index}][price]")
    price = _recurring_price(state, raw["price"], f"items[{index}][price]")
    period = _period_after(start, price)
    return {"id": new_id("si"), "object": "subscription_item", "billing_thresholds": None,
            "created": start, "current_period_end": period["end"],
            "current_period_start": period["start"], "discounts": [], "metadata": {},
            "plan": _plan(price), "price": public(price),
            "quantity": optional_int(raw, "quantity", 1), "subscription": subscription_id,
            "tax_rates": rates_param(state, raw, "tax_rates",
                                     param=f"items[{index}][tax_rates]")}


def _plan(price):
    """The legacy `plan` Stripe still shows beside each item's price."""
    recurring = price["recurring"]
    return {"id": price["id"], "object": "plan", "active": price["active"],
            "amount": price["unit_amount"], "amount_decimal": price["unit_amount_decimal"],
            "billing_scheme": price["billing_scheme"], "created": price["created"],
            "currency": price["currency"], "interval": recurring["interval"],
            "interval_count": recurring["interval_count"], "livemode": False,
            "metadata": price["metadata"], "meter": None, "nickname": price["nickname"],
            "product": price["product"], "tiers_mode": None, "transform_usage": None,
            "trial_period_days": None, "usage_type": recurring["usage_type"]}


def _recurring_price(state, price_id, param):
    price = state.get("price", price_id, param=param)
    if not price["recurring"]:
        raise invalid_request(
            "The price specified is set to `type=one_time` but this field only accepts "
            "prices with `type=recurring`.", param=param)
    return price


def _new_subscription(state, subscription_id, customer, items, params):
    now = state.now()
    collection_method = params.get("collection_method", "charge_automatically")
    cancel_at_period_end = optional_bool(params, "cancel_at_period_end")
    return {
        "id": subscription_id, "object": "subscription", "application": None,
        "application_fee_percent": None,
        "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None},
        "billing_cycle_anchor": now, "billing_cycle_anchor_config": None,
        "billing_mode": {"type": "flexible", "flexible": {"proration_discounts": "included"},
                         "updated_at": now},
        "billing_schedules": [], "billing_thresholds": None,
        "cancel_at": items[0]["current_period_end"] if cancel_at_period_end else None,
        "cancel_at_period_end": cancel_at_period_end, "canceled_at": None,
        "cancellation_details": {"comment": None, "feedback": None, "reason": None},
        "collection_method": collection_method, "created": now,
        "currency": items[0]["price"]["currency"], "customer": customer["id"],
        "customer_account": None, "days_until_due": optional_int(params, "days_until_due"),
        "default_payment_method": params.get("default_payment_method"),
        "default_source": None,
        "default_tax_rates": rates_param(state, params, "default_tax_rates"),
        "description": params.get("description"), "discounts": [], "ended_at": None,
        "invoice_settings": {"account_tax_ids": None, "issuer": {"type": "self"}},
        "items": embedded_list(items, f"/v1/subscription_items?subscription={subscription_id}",
                               limit=None),
        "latest_invoice": None, "livemode": False, "managed_payments": None,
        "metadata": metadata(params), "next_pending_invoice_item_invoice": None,
        "on_behalf_of": None, "pause_collection": None,
        "payment_settings": {"payment_method_options": None, "payment_method_types": None,
                             "save_default_payment_method": "off"},
        "pending_invoice_item_interval": None, "pending_setup_intent": None,
        "pending_update": None, "schedule": None, "start_date": now, "status": "active",
        "test_clock": None, "transfer_data": None, "trial_end": None,
        "trial_settings": {"end_behavior": {"missing_payment_method": "create_invoice"}},
        "trial_start": None,
    }


def _invoice_first_period(state, subscription, customer):
    invoice = _subscription_invoice(state, subscription, customer, "subscription_create")
    for item in subscription["items"]["data"]:
        _period_line(state, invoice, subscription, item, {
            "start": item["current_period_start"], "end": item["current_period_end"]})
    _finalize_and_collect(state, invoice, subscription, customer)
    return invoice


def _period_line(state, invoice, subscription, item, period):
    """The line billing a full period of the item at its price, not prorated."""
    invoices.add_line(
        state, invoice, amount=item["price"]["unit_amount"] * item["quantity"],
        description=f"{item['quantity']} × {_product_name(state, item['price'])}",
        period=period, quantity=item["quantity"], price=item["price"],
        subscription=subscription["id"], subscription_item=item["id"],
        tax_rates=item["tax_rates"])


def _subscription_invoice(state, subscription, customer, billing_reason):
    invoice = invoices.new_invoice(
        state, customer, billing_reason=billing_reason, subscription=subscription["id"],
        collection_method=subscription["collection_method"],
        days_until_due=subscription["days_until_due"],
        default_tax_rates=subscription["default_tax_rates"])
    invoice["currency"] = subscription["currency"]
    state.emit("invoice.created", invoice)
    return invoice


def _finalize_and_collect(state, invoice, subscription, customer):
    """Finalize, then charge the default payment method; a decline leaves the invoice open,
    as `payment_behavior=allow_incomplete` does."""
    invoices.finalize(state, invoice)
    payment_method = subscription["default_payment_method"] or \
        customer["invoice_settings"]["default_payment_method"]
    if invoice["status"] != "open" or invoice["collection_method"] != "charge_automatically":
        return
    if not payment_method:
        return
    with contextlib.suppress(StripeApiError):
        invoices.charge_invoice(state, invoice, payment_method)


def _product_name(state, price):
    product = state.find("product", price["product"])
    return product["name"] if product else price["id"]


# Retrieve and list ---------------------------------------------------------------------


def retrieve_subscription(state, params, subscription_id):
    return public(state.get("subscription", subscription_id))


def list_subscriptions(state, params):
    found = state.all("subscription")
    status = params.get("status")
    if status and status != "all":
        found = [sub for sub in found if sub["status"] == status]
    elif not status:
        # Stripe leaves canceled subscriptions out unless asked for them.
        found = [sub for sub in found if sub["status"] != "canceled"]
    for field in ("customer", "price"):
        if params.get(field):
            found = [sub for sub in found if _has(sub, field, params[field])]
    return page(found, params, "/v1/subscriptions")


def _has(subscription, field, value):
    if field == "price":
        return any(item["price"]["id"] == value for item in subscription["items"]["data"])
    return subscription[field] == value


# Update --------------------------------------------------------------------------------


def update_subscription(state, params, subscription_id):
    subscription = state.get("subscription", subscription_id)
    if subscription["status"] in ENDED:
        raise invalid_request(
            "A canceled subscription can only update its cancellation_details and metadata.")
    behavior = _proration_behavior(params)
    when = optional_int(params, "proration_date", state.now())
    previous = {"items": subscription["items"],
                "cancel_at_period_end": subscription["cancel_at_period_end"]}
    changes = [_change_item(state, subscription, raw, index)
               for index, raw in enumerate(params.get("items") or [])]
    default_tax_rates = rates_param(state, params, "default_tax_rates",
                                    subscription["default_tax_rates"])
    _apply_simple_fields(subscription, params)
    subscription["default_tax_rates"] = default_tax_rates
    customer = state.get("customer", subscription["customer"])
    if behavior != "none":
        for old, new in changes:
            _prorate(state, subscription, customer, old, new, when)
    restarted = _restart_periods(state, subscription, changes)
    if restarted or (behavior == "always_invoice" and changes):
        _invoice_pending(state, subscription, customer, "subscription_update", restarted)
    replaced = {new["id"]: new for _, new in changes}
    subscription["items"] = embedded_list(
        [replaced.get(item["id"], item) for item in subscription["items"]["data"]],
        subscription["items"]["url"], limit=None)
    state.emit("customer.subscription.updated", subscription, previous)
    return public(subscription)


def _proration_behavior(params):
    behavior = params.get("proration_behavior", "create_prorations")
    if behavior not in PRORATION_BEHAVIORS:
        raise invalid_enum("proration_behavior", PRORATION_BEHAVIORS)
    return behavior


def _apply_simple_fields(subscription, params):
    subscription["metadata"] = metadata(params, subscription["metadata"])
    if "default_payment_method" in params:
        subscription["default_payment_method"] = params["default_payment_method"] or None
    if "cancel_at_period_end" in params:
        at_end = optional_bool(params, "cancel_at_period_end")
        first = subscription["items"]["data"][0]
        subscription["cancel_at_period_end"] = at_end
        subscription["cancel_at"] = first["current_period_end"] if at_end else None


def _change_item(state, subscription, raw, index):
    """(the item before, the item after) for one entry of `items`."""
    items = {item["id"]: item for item in subscription["items"]["data"]}
    if not raw.get("id"):
        raise invalid_request("Adding items is not supported by the sandbox; pass "
                              f"items[{index}][id].", param=f"items[{index}][id]")
    if raw["id"] not in items:
        raise invalid_request(f"No such subscription item: '{raw['id']}'",
                              code="resource_missing", param=f"items[{index}][id]")
    old = items[raw["id"]]
    new = dict(old)
    if raw.get("price"):
        price = _recurring_price(state, raw["price"], f"items[{index}][price]")
        new.update(price=public(price), plan=_plan(price))
    new["quantity"] = optional_int(raw, "quantity", old["quantity"])
    new["tax_rates"] = rates_param(state, raw, "tax_rates", old["tax_rates"],
                                   param=f"items[{index}][tax_rates]")
    return old, new


def _restarts_period(old, new):
    """Whether the change moves the item to a price of another billing interval."""
    return new is not None and _interval(old) != _interval(new)


def _interval(item):
    recurring = item["price"]["recurring"]
    return recurring["interval"], recurring["interval_count"]


def _restart_periods(state, subscription, changes):
    """The changed items whose billing interval changes, each with its first full period
    starting now; the subscription's billing cycle anchor moves to now with them."""
    restarted = [new for old, new in changes if _restarts_period(old, new)]
    for item in restarted:
        period = _period_after(state.now(), item["price"])
        item.update(current_period_start=period["start"], current_period_end=period["end"])
    if restarted:
        subscription["billing_cycle_anchor"] = state.now()
    return restarted


def _remaining_share(item, when):
    start, end = item["current_period_start"], item["current_period_end"]
    when = min(max(when, start), end)
    return (end - when) / (end - start)


def proration_amounts(old, new, when):
    """(credit for unused time on the old item, charge for remaining time on the new)."""
    share = _remaining_share(old, when)
    credit = -round(old["price"]["unit_amount"] * old["quantity"] * share)
    charge = round(new["price"]["unit_amount"] * new["quantity"] * share) if new else 0
    return credit, charge


def _prorations(state, old, new, when):
    """(amount, item, description) for each proration a change at `when` makes: a credit
    for the old item's unused time and, unless the item goes away or starts a period of
    another interval now (billed in full, not prorated), a charge for the new one's
    remaining time. An item left as it was makes none."""
    if new and new["price"]["id"] == old["price"]["id"] and \
            new["quantity"] == old["quantity"]:
        return []
    credit, charge = proration_amounts(old, new, when)
    made = [(credit, old, "Unused")]
    if new and not _restarts_period(old, new):
        made.append((charge, new, "Remaining"))
    return [(amount, item, f"{label} time on {item['quantity']} × "
                           f"{_product_name(state, item['price'])}")
            for amount, item, label in made]


def _prorate(state, subscription, customer, old, new, when):
    period = {"start": when, "end": old["current_period_end"]}
    for amount, item, description in _prorations(state, old, new, when):
        _proration_item(state, subscription, customer, amount, period, description, item)


def _proration_item(state, subscription, customer, amount, period, description, item):
    """A pending invoice item for one proration, taxed as the item it prorates is taxed."""
    invoice_item = invoices.new_invoice_item(
        state, customer, amount=amount, currency=subscription["currency"],
        description=description, price=item["price"], quantity=item["quantity"],
        period=period, proration=True, subscription=subscription["id"],
        tax_rates=item["tax_rates"] or subscription["default_tax_rates"])
    state.emit("invoiceitem.created", invoice_item)


def _invoice_pending(state, subscription, customer, billing_reason, restarted=()):
    """Invoice the subscription's pending invoice items now, with the first full period of
    each `restarted` item; no invoice when there is neither."""
    pending = [item for item in state.all("invoiceitem", customer=customer["id"], invoice=None)
               if (item["parent"] or {}).get("subscription_details", {}).get("subscription")
               == subscription["id"]]
    if not pending and not restarted:
        return None
    invoice = _subscription_invoice(state, subscription, customer, billing_reason)
    for item in reversed(pending):
        invoices.attach_item(state, item, invoice)
    for item in restarted:
        _period_line(state, invoice, subscription, item, {
            "start": item["current_period_start"], "end": item["current_period_end"]})
    invoices.recompute(state, invoice)
    _finalize_and_collect(state, invoice, subscription, customer)
    subscription["latest_invoice"] = invoice["id"]
    return invoice


# Cancel --------------------------------------------------------------------------------


def cancel_subscription(state, params, subscription_id):
    subscription = state.get("subscription", subscription_id)
    if subscription["status"] == "canceled":
        raise invalid_request(
            f"No such subscription: '{subscription_id}'. This subscription has already "
            "been canceled.", code="resource_missing", param="id", status=404)
    now = state.now()
    customer = state.get("customer", subscription["customer"])
    if optional_bool(params, "prorate"):
        for item in subscription["items"]["data"]:
            _prorate(state, subscription, customer, item, None, now)
    if optional_bool(params, "invoice_now"):
        _invoice_pending(state, subscription, customer, "subscription_cycle")
    previous = {"status": subscription["status"]}
    details = params.get("cancellation_details") or {}
    subscription.update(status="canceled", canceled_at=now, ended_at=now)
    subscription["cancellation_details"] = {
        "comment": details.get("comment"), "feedback": details.get("feedback"),
        "reason": "cancellation_requested"}
    state.emit("customer.subscription.deleted", subscription, previous)
    return public(subscription)


# Preview -------------------------------------------------------------------------------


def create_preview(state, params):
    """The invoice a subscription change would produce, without making it."""
    details = params.get("subscription_details") or {}
    subscription = state.get("subscription", required_str(params, "subscription"),
                             param="subscription")
    customer = state.get("customer", subscription["customer"])
    behavior = _proration_behavior(details)
    when = optional_int(details, "proration_date", state.now())
    changes = [_change_item(state, subscription, raw, index)
               for index, raw in enumerate(details.get("items") or [])]
    default_tax_rates = rates_param(state, details, "default_tax_rates",
                                    subscription["default_tax_rates"],
                                    param="subscription_details[default_tax_rates]")
    invoice = invoices.new_invoice(state, customer, billing_reason="upcoming",
                                   subscription=subscription["id"],
                                   default_tax_rates=default_tax_rates)
    try:
        _preview_lines(state, invoice, subscription, changes, behavior, when)
        invoices.recompute(state, invoice)
        preview = public(invoice)
    finally:
        # Nothing of the preview is kept.
        for line in state.all("line_item", invoice=invoice["id"]):
            state.delete("line_item", line["id"])
        state.delete("invoice", invoice["id"])
    preview["id"] = f"upcoming_{invoice['id']}"
    return preview


def _preview_lines(state, invoice, subscription, changes, behavior, when):
    invoice["currency"] = subscription["currency"]
    prorated = changes if behavior != "none" else []
    for old, new in prorated:
        period = {"start": when, "end": old["current_period_end"]}
        for amount, item, description in _prorations(state, old, new, when):
            invoices.add_line(
                state, invoice, amount=amount, period=period, quantity=item["quantity"],
                price=item["price"], proration=True, subscription=subscription["id"],
                subscription_item=item["id"], description=description,
                tax_rates=item["tax_rates"])
    restarted = [new for old, new in changes if _restarts_period(old, new)]
    for item in restarted:
        _period_line(state, invoice, subscription, item,
                     _period_after(state.now(), item["price"]))
    if restarted or behavior == "always_invoice":
        return  # the preview is the invoice the change makes at once
    # Without an immediate invoice, the preview is the next renewal, prorations included.
    new_items = {new["id"]: new for _, new in changes}
    for item in subscription["items"]["data"]:
        item = new_items.get(item["id"], item)
        _period_line(state, invoice, subscription, item,
                     _period_after(item["current_period_end"], item["price"]))


SUBSCRIPTION = r"/v1/subscriptions/([^/]+)"
ROUTES = [
    ("POST", r"/v1/subscriptions", create_subscription),
    ("GET", r"/v1/subscriptions", list_subscriptions),
    ("GET", SUBSCRIPTION, retrieve_subscription),
    ("POST", SUBSCRIPTION, update_subscription),
    ("DELETE", SUBSCRIPTION, cancel_subscription),
    ("POST", r"/v1/invoices/create_preview", create_preview),
]

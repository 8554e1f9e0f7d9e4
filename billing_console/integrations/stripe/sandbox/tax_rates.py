"""Tax rates (`txr_…`): create, retrieve, update, list; and the tax Stripe works out with
them on a line, which invoices, invoice previews and credit notes all take from here.

Rules, from Stripe's API reference and its "Tax rates" guide (docs.stripe.com/billing/taxes/
tax-rates):

- `display_name`, `inclusive` and `percentage` are required. `percentage` and `inclusive`
  never change once set: the update endpoint does not take them.
- An inactive (archived) rate "cannot be used with new applications" but keeps working
  where it is already set.
- An exclusive rate adds its tax on top of a line's amount; an inclusive one is inside it.
- Tax is rounded per line, to the smallest currency unit, before the lines' taxes are
  summed ("line item level", the guide's first rounding setting; Stripe Tax and the other
  setting sum first). Halves round up, away from zero so that a credit rounds like the
  charge it mirrors, as Stripe rounds amounts to the nearest unit (support.stripe.com,
  "Rounding rules for Stripe fees": 0.025 becomes 0.03, 0.024 becomes 0.02; its Dutch
  edition's worked example taxes two lines at 15%, 0.0645 to 0.06 and 0.7265 to 0.73).
"""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from .errors import invalid_request, parameter_missing
from .forms import metadata, optional_bool, required_str
from .state import created_within, new_id, page, public

# Stripe's API reference names no taxability for rates a merchant sets by hand; its example
# of a credit note taxed at such a rate (19% VAT, tax_rate_details) says "not_available".
TAXABILITY_REASON = "not_available"
TAX_TYPES = (
    "admissions_tax", "amusement_tax", "attendance_tax", "communications_tax",
    "digital_excise_tax", "entertainment_tax", "get_fund", "gross_receipts_tax", "gst",
    "hospitality_tax", "hst", "igst", "jct", "lease_tax", "luxury_tax",
    "mass_transit_parking_tax", "nhil", "parking_tax", "pst", "qst", "resort_tax",
    "retail_delivery_fee", "rst", "sales_tax", "service_tax", "tourism_tax",
    "utility_users_tax", "vat",
)
# What the update endpoint takes besides `active` and `metadata`.
UPDATABLE = ("display_name", "description", "jurisdiction", "country", "state", "tax_type")


# The resource ------------------------------------------------------------------------------


def create_tax_rate(state, params):
    percentage = _percentage(params)
    if params.get("inclusive") in (None, ""):
        raise parameter_missing("inclusive")
    rate = state.add({
        "id": new_id("txr"), "object": "tax_rate",
        "active": optional_bool(params, "active", True), "country": params.get("country"),
        "created": state.now(), "description": params.get("description"),
        "display_name": required_str(params, "display_name"),
        # A rate set by hand is charged at its own percentage, inactive or not (the API
        # reference's update example shows an archived 16% rate with 16 here).
        "effective_percentage": percentage,
        # Only rates that Stripe Tax makes are flat amounts or have a `rate_type`.
        "flat_amount": None, "inclusive": optional_bool(params, "inclusive"),
        "jurisdiction": params.get("jurisdiction"), "jurisdiction_level": None,
        "livemode": False, "metadata": metadata(params), "percentage": percentage,
        "rate_type": None, "state": params.get("state"), "tax_type": _tax_type(params),
    })
    state.emit("tax_rate.created", rate)
    return public(rate)


def _percentage(params):
    """A number of percent, 0 to 100, with at most 4 decimal places, sent back as a JSON
    number (20 or 19.5)."""
    raw = params.get("percentage")
    if raw in (None, ""):
        raise parameter_missing("percentage")
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise invalid_request(f"Invalid decimal: {raw}", param="percentage") from None
    if not value.is_finite() or not 0 <= value <= 100 or value != round(value, 4):
        raise invalid_request("Percentage must be between 0 and 100, with at most four "
                              "decimal places.", param="percentage")
    return int(value) if value == int(value) else float(value)


def _tax_type(params):
    tax_type = params.get("tax_type") or None
    if tax_type and tax_type not in TAX_TYPES:
        raise invalid_request(f"Invalid tax_type: must be one of {', '.join(TAX_TYPES)}",
                              param="tax_type")
    return tax_type


def retrieve_tax_rate(state, params, rate_id):
    return public(state.get("tax_rate", rate_id))


def update_tax_rate(state, params, rate_id):
    rate = state.get("tax_rate", rate_id)
    for fixed in ("percentage", "inclusive"):
        if fixed in params:
            raise invalid_request(f"Received unknown parameter: {fixed}", param=fixed)
    if "display_name" in params and not params["display_name"]:
        raise invalid_request("display_name cannot be blank.", param="display_name")
    changes = {field: params[field] or None for field in UPDATABLE if field in params}
    if "tax_type" in params:
        changes["tax_type"] = _tax_type(params)
    if "active" in params:
        changes["active"] = optional_bool(params, "active")
    previous = {field: rate[field] for field in changes}
    rate.update(changes, metadata=metadata(params, rate["metadata"]))
    state.emit("tax_rate.updated", rate, previous)
    return public(rate)


def list_tax_rates(state, params):
    found = created_within(state.all("tax_rate"), params)
    for field in ("active", "inclusive"):
        if params.get(field) not in (None, ""):
            wanted = optional_bool(params, field)
            found = [rate for rate in found if rate[field] == wanted]
    return page(found, params, "/v1/tax_rates")


ROUTES = [
    ("POST", r"/v1/tax_rates", create_tax_rate),
    ("GET", r"/v1/tax_rates", list_tax_rates),
    ("GET", r"/v1/tax_rates/([^/]+)", retrieve_tax_rate),
    ("POST", r"/v1/tax_rates/([^/]+)", update_tax_rate),
]


# Where rates are set ---------------------------------------------------------------------


def rates_param(state, params, name, current=(), *, param=None):
    """The tax rates a request sets under `name` (`tax_rates[]=txr_…`), as the full objects
    Stripe shows where they are set; `current` when the request leaves them alone, none when
    it sends an empty value. An inactive rate is refused, as Stripe refuses it for new uses.
    `param` names the field in errors when `params` is nested (`items[0][tax_rates]`)."""
    param = param or name
    if name not in params:
        return list(current)
    raw = params[name]
    if raw == "":
        return []
    if not isinstance(raw, list):
        raise invalid_request("Invalid array", param=param)
    rates = [state.get("tax_rate", rate_id, param=param) for rate_id in raw]
    for rate in rates:
        if not rate["active"]:
            raise invalid_request(f"Tax rate {rate['id']} is inactive and cannot be used.",
                                  param=param)
    return [public(rate) for rate in rates]


# The tax on a line -----------------------------------------------------------------------


def line_taxes(amount, rates):
    """Stripe's `taxes` for a line of `amount` (minor units) taxed at `rates`:

        [{"amount": 1000, "tax_behavior": "exclusive",
          "tax_rate_details": {"tax_rate": "txr_…"}, "taxability_reason": "not_available",
          "taxable_amount": 5000, "type": "tax_rate_details"}, ...]

    The amount holds its inclusive taxes: what is left without them (`taxable_amount`) is
    amount × 100 / (100 + their percentages), rounded, and they share the rest. Exclusive
    taxes are then that taxable amount × percentage / 100 each, rounded, added on top (the
    guide's order for a line with both kinds). So 20% exclusive on 5000 is 1000; 20%
    inclusive on 6000 is 1000 inside; 19% exclusive on 333 is 63."""
    inclusive = [rate for rate in rates if rate["inclusive"]]
    inside = sum((_percent(rate) for rate in inclusive), Decimal(0))
    taxable = _whole(Decimal(amount) * 100 / (100 + inside))
    shares = _inclusive_shares(amount - taxable, taxable, inclusive)
    exclusive = [(rate, _whole(taxable * _percent(rate) / 100))
                 for rate in rates if not rate["inclusive"]]
    return [_tax(rate, tax, taxable) for rate, tax in [*shares, *exclusive]]


def _inclusive_shares(inside, taxable, rates):
    """(rate, tax) for each inclusive rate: its own rounded part, the last one taking what
    rounding left, so that together they are exactly the tax inside the amount."""
    shares = [(rate, _whole(taxable * _percent(rate) / 100)) for rate in rates[:-1]]
    if rates:
        shares.append((rates[-1], inside - sum(tax for _, tax in shares)))
    return shares


def _tax(rate, amount, taxable):
    return {"amount": amount,
            "tax_behavior": "inclusive" if rate["inclusive"] else "exclusive",
            "tax_rate_details": {"tax_rate": rate["id"]},
            "taxability_reason": TAXABILITY_REASON, "taxable_amount": taxable,
            "type": "tax_rate_details"}


def _percent(rate):
    # Through its text: 19.5 is exactly 19.5 percent, not the nearest binary float.
    return Decimal(str(rate["percentage"]))


def _whole(value):
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


# A document's totals -----------------------------------------------------------------------


def totals(lines):
    """The tax totals of an invoice or credit note from its lines (each with its `amount`
    and `taxes`), in minor units:

        {"subtotal": Σ amounts (inclusive tax in, exclusive tax out),
         "subtotal_excluding_tax": subtotal − inclusive taxes,
         "total": subtotal + exclusive taxes,
         "total_excluding_tax": total − all taxes,
         "total_taxes": the lines' taxes summed per rate and behaviour, in `taxes` shape}
    """
    subtotal = sum(line["amount"] for line in lines)
    taxes = [tax for line in lines for tax in line["taxes"]]
    inside = sum(tax["amount"] for tax in taxes if tax["tax_behavior"] == "inclusive")
    on_top = sum(tax["amount"] for tax in taxes if tax["tax_behavior"] == "exclusive")
    total = subtotal + on_top
    return {"subtotal": subtotal, "subtotal_excluding_tax": subtotal - inside,
            "total": total, "total_excluding_tax": total - inside - on_top,
            "total_taxes": _summed(taxes)}


def _summed(taxes):
    by_rate = {}
    for tax in taxes:
        key = (tax["tax_rate_details"]["tax_rate"], tax["tax_behavior"])
        if key in by_rate:
            by_rate[key]["amount"] += tax["amount"]
            by_rate[key]["taxable_amount"] += tax["taxable_amount"]
        else:
            by_rate[key] = {**tax, "tax_rate_details": dict(tax["tax_rate_details"])}
    return list(by_rate.values())

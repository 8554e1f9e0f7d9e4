"""Products and prices: what subscriptions and invoice items are billed from."""

from .errors import invalid_enum, invalid_request, parameter_missing
from .forms import metadata, optional_bool, optional_int, required_int, required_str
from .state import new_id, page, public

INTERVALS = ("day", "week", "month", "year")
PRICE_TYPES = ("one_time", "recurring")


def create_product(state, params):
    return public(_new_product(state, required_str(params, "name"), params))


def _new_product(state, name, params):
    product = state.add({
        "id": new_id("prod"), "object": "product", "active": True, "created": state.now(),
        "default_price": None, "description": params.get("description"), "images": [],
        "livemode": False, "marketing_features": [], "metadata": metadata(params),
        "name": name, "package_dimensions": None, "shippable": None,
        "statement_descriptor": None, "tax_code": None, "type": "service", "unit_label": None,
        "updated": state.now(), "url": None,
    })
    state.emit("product.created", product)
    return product


def retrieve_product(state, params, product_id):
    return public(state.get("product", product_id))


def list_products(state, params):
    return page(state.all("product"), params, "/v1/products")


def create_price(state, params):
    product_id = _product_for(state, params)
    currency = (params.get("currency") or "").lower()
    if not currency:
        raise parameter_missing("currency")
    price = state.add({
        "id": new_id("price"), "object": "price", "active": True, "billing_scheme": "per_unit",
        "created": state.now(), "currency": currency, "custom_unit_amount": None,
        "livemode": False, "lookup_key": params.get("lookup_key"),
        "metadata": metadata(params), "nickname": params.get("nickname"),
        "product": product_id, "recurring": _recurring(params.get("recurring")),
        "tax_behavior": "unspecified", "tiers_mode": None, "transform_quantity": None,
        "type": "recurring" if params.get("recurring") else "one_time",
        "unit_amount": required_int(params, "unit_amount"),
    })
    price["unit_amount_decimal"] = str(price["unit_amount"])
    state.emit("price.created", price)
    return public(price)


def _product_for(state, params):
    if params.get("product"):
        return state.get("product", params["product"], param="product")["id"]
    product_data = params.get("product_data")
    if isinstance(product_data, dict) and product_data.get("name"):
        return _new_product(state, product_data["name"], {})["id"]
    raise parameter_missing("product")


def _recurring(recurring):
    if not recurring:
        return None
    if not isinstance(recurring, dict) or recurring.get("interval") not in INTERVALS:
        raise invalid_enum("recurring[interval]", INTERVALS)
    count = optional_int(recurring, "interval_count", 1)
    if count < 1:
        raise invalid_request("Invalid interval_count", param="recurring[interval_count]")
    return {"interval": recurring["interval"], "interval_count": count, "meter": None,
            "trial_period_days": None, "usage_type": "licensed"}


def retrieve_price(state, params, price_id):
    return public(state.get("price", price_id))


def list_prices(state, params):
    """Stripe's filters: `product`, `lookup_keys`, `active`, `type` and `currency`."""
    found = state.all("price")
    if params.get("product"):
        found = [price for price in found if price["product"] == params["product"]]
    if params.get("lookup_keys"):
        found = [price for price in found if price["lookup_key"] in params["lookup_keys"]]
    if params.get("active") not in (None, ""):
        active = optional_bool(params, "active")
        found = [price for price in found if price["active"] == active]
    if params.get("type"):
        if params["type"] not in PRICE_TYPES:
            raise invalid_enum("type", PRICE_TYPES)
        found = [price for price in found if price["type"] == params["type"]]
    if params.get("currency"):
        found = [price for price in found if price["currency"] == params["currency"].lower()]
    return page(found, params, "/v1/prices")


ROUTES = [
    ("POST", r"/v1/products", create_product),
    ("GET", r"/v1/products", list_products),
    ("GET", r"/v1/products/([^/]+)", retrieve_product),
    ("POST", r"/v1/prices", create_price),
    ("GET", r"/v1/prices", list_prices),
    ("GET", r"/v1/prices/([^/]+)", retrieve_price),
]

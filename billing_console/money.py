"""Money: integer amounts in a currency's minor unit, as Stripe counts them.

Nothing here uses float. Amounts typed by people are parsed from text with Decimal and
refused when they carry more precision than the currency has.
"""

import re
from decimal import Decimal

from billing_console.exceptions import ApplicationError
from billing_console.text import quoted

# Stripe tells customers that a refund to a card reaches their statement in 5–10 business
# days: replies, the ticket's notes, previews and Tier 2's facts all say it in these words.
REFUND_BUSINESS_DAYS = 10
REFUND_ARRIVAL = "5–10 business days"

# No single action comes near this many minor units; anything above is a typo or an attack,
# refused before anything else is looked at.
ABSURD_AMOUNT = 10**10

# Stripe's zero-decimal currencies: the amount is already in whole units.
ZERO_DECIMAL_CURRENCIES = frozenset([
    "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA",
    "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF",
])
# Stripe's three-decimal currencies.
THREE_DECIMAL_CURRENCIES = frozenset(["BHD", "JOD", "KWD", "OMR", "TND"])


# No amount the console handles has more digits than this, before or after the point.
MAX_DIGITS = 15
# An amount with its thousands grouped by commas: "1,000" and "12,345.67", never "750,00".
THOUSANDS = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d*)?", re.ASCII)
# An amount as people write money, once its grouping commas are gone: digits and a decimal
# point. Python's Decimal also reads "1e3", "1_000", "+5" and "Infinity", which nobody types
# as an amount, and "1e3" set a limit of 1,000.00.
PLAIN_AMOUNT = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)", re.ASCII)


def normalise_currency(currency):
    code = str(currency or "").strip().upper()
    if len(code) != 3 or not (code.isascii() and code.isalpha()):
        raise ApplicationError(f"{quoted(currency)} is not an ISO 4217 currency code.",
                               "currency")
    return code


def decimal_places(currency):
    code = normalise_currency(currency)
    if code in ZERO_DECIMAL_CURRENCIES:
        return 0
    if code in THREE_DECIMAL_CURRENCIES:
        return 3
    return 2


def to_minor_units(text, currency):
    """Parse "12.34" in USD into 1234. Refuses negatives, junk and extra decimals."""
    places = decimal_places(currency)
    stripped = str(text).strip()
    if "," in stripped and not THOUSANDS.fullmatch(stripped):
        # "750,00" means 750 to whoever writes a decimal comma; read as grouping it was 75,000.
        raise ApplicationError(
            f"{quoted(text)} is not an amount: use a point for decimals (750.00) and commas only "
            "between groups of three digits (1,000.00).", "amount")
    cleaned = stripped.replace(",", "")
    if not PLAIN_AMOUNT.fullmatch(cleaned):
        raise ApplicationError(f"{quoted(text)} is not an amount: write digits, with a point "
                               "for decimals (750.00).", "amount")
    value = Decimal(cleaned)
    if value < 0:
        raise ApplicationError("Enter a positive amount.", "amount")
    if value and value.adjusted() > MAX_DIGITS:
        # "1e999999" is a number, but scaling it would overflow or take all the CPU.
        raise ApplicationError("That amount is too large for any one action: write at most "
                               f"{MAX_DIGITS} digits before the point.", "amount")
    if value and value.adjusted() < -MAX_DIGITS:
        raise ApplicationError(f"{quoted(text)} has more decimal places than any currency.",
                               "amount")
    minor = value.scaleb(places)
    if minor != minor.to_integral_value():
        raise ApplicationError(
            f"{normalise_currency(currency)} amounts have {places} decimal places at most.",
            "amount",
        )
    return int(minor)


def to_major_units_text(amount, currency):
    """1234, "usd" -> "12.34": what a person types, and what `to_minor_units` reads back."""
    major = Decimal(int(amount)).scaleb(-decimal_places(currency))
    return f"{major:.{decimal_places(currency)}f}"


def format_amount(amount, currency):
    """1234, "usd" -> "12.34 USD"; -50000, "jpy" -> "-50,000 JPY"."""
    places = decimal_places(currency)
    sign = "-" if amount < 0 else ""
    major = Decimal(abs(int(amount))).scaleb(-places)
    return f"{sign}{major:,.{places}f} {normalise_currency(currency)}"

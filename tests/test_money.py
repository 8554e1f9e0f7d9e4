import pytest

from billing_console.exceptions import ApplicationError
from billing_console.money import format_amount, to_minor_units


@pytest.mark.parametrize("text,currency,minor", [
    ("12.34", "usd", 1234), ("1,000", "USD", 100000), ("5000", "jpy", 5000),
    ("1.234", "kwd", 1234), ("0.1", "eur", 10), ("12,345.67", "usd", 1234567),
    ("1,000,000", "jpy", 1000000), (".5", "usd", 50), ("5.", "usd", 500), (" 7 ", "usd", 700),
])
def test_it_parses_amounts_into_minor_units(text, currency, minor):
    assert to_minor_units(text, currency) == minor


@pytest.mark.parametrize("text,currency", [
    ("12.345", "usd"), ("1.5", "jpy"), ("-3", "usd"), ("abc", "usd"), ("NaN", "usd"),
    ("10", "dollars"),
])
def test_it_refuses_bad_amounts_with_a_clear_error(text, currency):
    with pytest.raises(ApplicationError):
        to_minor_units(text, currency)


# Python's Decimal reads these as numbers; nobody writes money so, and "1e3" set a limit of
# 1,000.00.
@pytest.mark.parametrize("text", ["1e3", "1E2", "1_000", "+5", "Infinity", "١٢", "5 0"])
def test_what_is_not_written_as_money_is_refused_saying_how_to_write_it(text):
    with pytest.raises(ApplicationError, match="write digits, with a point for decimals"):
        to_minor_units(text, "usd")


# A decimal comma was read as grouping: "750,00" set a limit of 75,000.00, "4,9" 49.00.
@pytest.mark.parametrize("text", ["750,00", "7,5", "4,9", "1,0000", "1,000,00", ",5"])
def test_a_comma_that_does_not_group_thousands_is_refused_saying_how_to_write_it(text):
    with pytest.raises(ApplicationError, match="use a point for decimals"):
        to_minor_units(text, "gbp")


@pytest.mark.parametrize("minor,currency,shown", [
    (1600, "usd", "16.00 USD"), (123456789, "eur", "1,234,567.89 EUR"),
    (-50000, "jpy", "-50,000 JPY"), (1234, "bhd", "1.234 BHD"), (5, "gbp", "0.05 GBP"),
])
def test_it_formats_amounts_for_people(minor, currency, shown):
    assert format_amount(minor, currency) == shown

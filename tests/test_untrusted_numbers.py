"""Numbers typed or sent from outside: odd digits, huge values and exponents are a clear
answer, never a 500."""

import pytest

from billing_console.exceptions import ApplicationError
from billing_console.money import to_minor_units
from billing_console.parsing import whole_number
from tests.conftest import signed_in


@pytest.mark.parametrize("text, expected", [
    ("42", 42), ("²", None), ("٣", None), ("-1", None), ("", None), (None, None),
    ("9" * 18, int("9" * 18)), ("9" * 19, None), (" 4", None)])
def test_whole_numbers_are_ascii_digits_that_fit_the_database(text, expected):
    assert whole_number(text) == expected


@pytest.mark.parametrize("text", ["1e999999", "1e-999999", "9" * 40])
def test_an_implausible_amount_is_refused_in_words(text):
    with pytest.raises(ApplicationError, match="not a plausible amount"):
        to_minor_units(text, "usd")


@pytest.mark.parametrize("path, status", [
    ("/audit/?case=²", 400), ("/audit/?before=²", 400), ("/api/v1/audit-events/?case=²", 400),
    ("/audit/?amount_min=1e999999", 400), ("/api/v1/cases/?limit=²", 400),
    ("/cases/?q=%23" + "9" * 30, 200)])
def test_finance_pages_answer_odd_numbers_without_a_500(db, finance, path, status):
    assert signed_in(finance).get(path).status_code == status


def test_tier2_ticket_lookup_answers_odd_numbers_without_a_500(db, tier2):
    client = signed_in(tier2)

    # Neither is a ticket number (a superscript two is a digit to Python, not to people;
    # Zendesk's ids fit in 64 bits): a 400 saying so.
    for ticket in ("²", "9" * 30):
        response = client.get("/cases/find/", {"ticket": ticket})
        assert response.status_code == 400 and b"is not a ticket number" in response.content

"""Numbers typed or sent from outside: odd digits, huge values and exponents are a clear
answer, never a 500."""

import pytest

from billing_console.exceptions import ApplicationError
from billing_console.money import to_minor_units
from billing_console.parsing import whole_number
from tests.cases.factories import make_case
from tests.conftest import api_client, signed_in


@pytest.mark.parametrize("text, expected", [
    ("42", 42), ("²", None), ("٣", None), ("-1", None), ("", None), (None, None),
    ("9" * 18, int("9" * 18)), ("9" * 19, None), (" 4", None)])
def test_whole_numbers_are_ascii_digits_that_fit_the_database(text, expected):
    assert whole_number(text) == expected


@pytest.mark.parametrize("text, words", [
    ("1" + "0" * 20, "That amount is too large for any one action: write at most 15 digits "
                     "before the point."),
    ("9" * 40, "That amount is too large for any one action"),
    ("0." + "0" * 20 + "1", "has more decimal places than any currency."),
])
def test_an_implausible_amount_is_refused_in_words_about_its_size(text, words):
    with pytest.raises(ApplicationError, match=words):
        to_minor_units(text, "usd")


@pytest.mark.parametrize("path, status", [
    ("/audit/?case=²", 400), ("/audit/?before=²", 400), ("/api/v1/audit-events/?case=²", 400),
    ("/audit/?amount_min=1e999999", 400), ("/api/v1/cases/?limit=²", 400),
    ("/cases/?q=%23" + "9" * 30, 200)])
def test_finance_pages_answer_odd_numbers_without_a_500(db, finance, path, status):
    assert signed_in(finance).get(path).status_code == status


def test_tier2_ticket_lookup_answers_odd_numbers_without_a_500(db, tier2):
    client = signed_in(tier2)

    # A superscript two is a digit to Python, not to people: a 400 saying so.
    response = client.get("/cases/find/", {"ticket": "²"})
    assert response.status_code == 400
    assert "“²” is not a ticket number" in response.content.decode()
    # Digits, but more than any ticket number has: a 400 saying what is wrong.
    for ticket in ("99999999999999999999", "9" * 10_000):
        page = client.get("/cases/find/", {"ticket": ticket}).content.decode()
        assert "No ticket number is that long" in page
        assert "Zendesk ticket numbers have at most 18 digits" in page
        assert "digits only" not in page


@pytest.mark.parametrize("path, words", [
    ("/audit/?case=99999999999999999999",
     "No case number is that long: case numbers have at most 18 digits."),
    ("/audit/?before=99999999999999999999",
     "No event number is that long: event numbers have at most 18 digits."),
    ("/audit/?case=12a", "“12a” is not a case number."),
])
def test_an_audit_filter_too_long_for_a_number_says_so(finance, path, words):
    response = signed_in(finance).get(path)
    assert response.status_code == 400 and words in response.content.decode()


@pytest.mark.parametrize("path, words", [
    ("/api/v1/cases/?limit=99999999999999999999", "Limit: Must be at most 100."),
    ("/api/v1/money-actions/?case=99999999999999999999",
     "Case: Must be at most 999999999999999999."),
    ("/api/v1/cases/?limit=1²", "Limit: Must be a whole number in the digits 0-9."),
])
def test_an_api_number_too_long_is_refused_for_its_size(finance, path, words):
    response = api_client(finance).get(path)
    assert response.status_code == 400 and response.json()["message"] == words


def test_a_zendesk_id_too_long_is_refused_for_its_size(admin_user, tier2):
    response = signed_in(admin_user).post(f"/manage/users/{tier2.pk}/", {
        "first_name": "Noor", "is_active": "on", "roles": ["tier2_agent"],
        "zendesk_group_id": "99999999999999999999"})
    assert response.status_code == 400
    assert "No Zendesk id is that long: Zendesk&#x27;s ids have at most 18 digits." in \
        response.content.decode()


def test_a_json_number_of_thousands_of_digits_is_a_400_in_words(specialist):
    case = make_case()
    response = api_client(specialist).generic(
        "POST", f"/api/v1/cases/{case.pk}/priority/", '{"priority": ' + "9" * 5000 + "}",
        content_type="application/json")
    assert response.status_code == 400
    assert "A number of 5,000 digits; no number here has more than 19." in \
        response.json()["message"]

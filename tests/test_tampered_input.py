"""Tampered input is refused briefly: a refusal quotes at most the start of what was sent
(40 characters, then "…"), or says what would do instead; it never sends the whole of it
back, on a page or from the API."""

import html
import re

import pytest
from django import forms
from django.urls import get_resolver

from billing_console.forms import NOT_A_CHOICE
from billing_console.text import quoted
from tests.cases.factories import make_case
from tests.conftest import api_client, signed_in

LONG = "x" * 10_000
TOO_MUCH = "x" * 41  # more than a refusal ever quotes


def test_quoted_gives_back_at_most_40_characters():
    assert quoted("4821") == "“4821”"
    assert quoted("x" * 40) == f"“{'x' * 40}”"
    assert quoted(LONG) == f"“{'x' * 40}…”"


def test_a_long_value_posted_for_a_select_is_refused_without_it(specialist):
    case = make_case()
    response = signed_in(specialist).post(f"/cases/{case.pk}/state/", {"to_state": LONG},
                                          follow=True)
    page = response.content.decode()
    assert NOT_A_CHOICE in page and TOO_MUCH not in page


def test_a_long_value_posted_for_a_checkbox_is_refused_without_it(admin_user, tier2):
    response = signed_in(admin_user).post(f"/manage/users/{tier2.pk}/", {
        "first_name": "Noor", "is_active": "on", "roles": ["tier2_agent", LONG]})
    page = response.content.decode()
    assert response.status_code == 400
    assert NOT_A_CHOICE in page and TOO_MUCH not in page


def _console_forms():
    get_resolver().url_patterns  # noqa: B018 - the URLs import every view, and its forms
    waiting, found = list(forms.BaseForm.__subclasses__()), []
    while waiting:
        form_class = waiting.pop()
        waiting.extend(form_class.__subclasses__())
        if not form_class.__module__.startswith(("django", "axes", "rest_framework")):
            found.append(form_class)
    return found


def test_every_choice_field_of_the_consoles_forms_refuses_in_the_same_words():
    quoting = [f"{form_class.__name__}.{name}" for form_class in _console_forms()
               for name, field in form_class.base_fields.items()
               if isinstance(field, forms.ChoiceField)
               and field.error_messages.get("invalid_choice") != NOT_A_CHOICE]
    assert len(_console_forms()) > 10 and quoting == []


@pytest.mark.parametrize("ticket", ["9" * 10_000, LONG])
def test_a_long_ticket_number_is_not_given_back(tier2, ticket):
    response = signed_in(tier2).get("/cases/find/", {"ticket": ticket})
    page = response.content.decode()
    assert response.status_code == 400
    assert ticket[:41] not in page


def test_the_api_names_its_choices_instead_of_quoting_the_value(specialist):
    client = api_client(specialist)
    listed = client.get("/api/v1/cases/", {"state": LONG})
    case = make_case()
    posted = client.post(f"/api/v1/cases/{case.pk}/priority/", {"priority": LONG},
                         format="json")

    for response in (listed, posted):
        assert response.status_code == 400 and TOO_MUCH not in response.content.decode()
    assert listed.json()["message"].startswith('State: Must be one of "all", ')
    assert posted.json()["message"] == (
        'Priority: Must be one of "low", "normal", "high", "urgent".')


@pytest.mark.parametrize("query, message", [
    ({"source": LONG}, f"There is no source “{'x' * 40}…”."),
    ({"amount_min": LONG}, f"“{'x' * 40}…” is not an amount: write digits, with a point for "
                           "decimals (750.00)."),
    ({"since": LONG}, f"“{'x' * 40}…” is not a date; write it as YYYY-MM-DD."),
])
def test_a_filter_quotes_at_most_the_start_of_what_was_typed(finance, query, message):
    page = signed_in(finance).get("/audit/", query).content.decode()
    # The filter's own field keeps what was typed; the refusal quotes its start.
    assert re.findall(r'<div class="message error" role="alert"><p>(.*?)</p>', page) == [
        html.escape(message, quote=False)]


def test_a_search_with_no_match_quotes_at_most_the_start_of_it(tier2):
    page = signed_in(tier2).get("/guidance/", {"q": "zq" * 100}).content.decode()
    assert f"No playbook mentions “{'zq' * 20}…”" in page

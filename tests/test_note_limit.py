"""One length limit for every note a person writes, on the pages and in the API alike."""

import pytest

from billing_console.notes import NOTE_MAX_CHARS
from cases import forms as case_forms
from credit_memos import apis as credit_memo_apis
from finance import forms as finance_forms
from guidance import apis as guidance_apis
from guidance import forms as guidance_forms
from handover import forms as handover_forms
from money_actions import apis as money_action_apis
from money_actions import forms as money_action_forms
from refunds import apis as refund_apis
from refunds import forms as refund_forms
from tests.conftest import api_client

FORM_FIELDS = [
    (case_forms.NoteForm, "body"), (case_forms.ResolveForm, "summary"),
    (case_forms.ResolveForm, "public_reply"), (money_action_forms.ReasonForm, "note"),
    (refund_forms.RefundForm, "customer_reply"), (finance_forms.DecisionForm, "note"),
    (finance_forms.ExplainForm, "note"), (guidance_forms.QuestionForm, "body"),
    (guidance_forms.AnswerForm, "answer"), (handover_forms.NoteForm, "body"),
]
API_FIELDS = [
    (refund_apis.RefundInput, "note"), (refund_apis.RefundInput, "customer_reply"),
    (credit_memo_apis.CreditMemoInput, "note"), (credit_memo_apis.VoidInput, "note"),
    (credit_memo_apis.InvoiceAdjustmentInput, "note"),
    (credit_memo_apis.SubscriptionChangeInput, "note"),
    (money_action_apis.DecisionInput, "note"), (guidance_apis.QuestionInput, "body"),
    (guidance_apis.AnswerInput, "answer"),
]


def test_the_limit_is_five_thousand_characters():
    assert NOTE_MAX_CHARS == 5_000


@pytest.mark.parametrize("form, field", FORM_FIELDS,
                         ids=[f"{form.__name__}.{field}" for form, field in FORM_FIELDS])
def test_every_page_form_takes_notes_up_to_the_limit(form, field):
    assert form.base_fields[field].max_length == NOTE_MAX_CHARS


@pytest.mark.parametrize("serializer, field", API_FIELDS,
                         ids=[f"{s.__name__}.{field}" for s, field in API_FIELDS])
def test_every_api_input_takes_notes_up_to_the_limit(serializer, field):
    assert serializer().fields[field].max_length == NOTE_MAX_CHARS


def test_a_question_over_the_limit_is_a_400_in_the_api(tier2):
    response = api_client(tier2).post("/api/v1/questions/",
                                      {"body": "q" * (NOTE_MAX_CHARS + 1)}, format="json")

    assert response.status_code == 400
    assert response.json()["message"].startswith("Body:")

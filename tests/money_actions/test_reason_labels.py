"""The console's reason codes are labelled without a query per label, and a renamed one
is shown by its new name at once in the process that renamed it."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing_console.names import reason_label
from money_actions.models import ReasonCode


@pytest.mark.django_db
def test_labels_are_read_once_and_a_rename_is_seen_at_once(refund_policy):
    code = ReasonCode.objects.first()
    reason_label(code.code)
    with CaptureQueriesContext(connection) as queries:
        labels = [reason_label(code.code) for _ in range(20)]
    assert len(queries) == 0 and labels == [code.label] * 20

    code.label = "Goodwill gesture"
    code.save()

    assert reason_label(code.code) == "Goodwill gesture"

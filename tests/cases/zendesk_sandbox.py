"""Ticket specs for the sync tests (the sandbox fixture is `zendesk_sandbox`, in the
conftest files)."""

from billing_console.integrations.zendesk.sandbox.resources import TICKET_FIELDS

STRIPE_FIELD_ID = next(f["id"] for f in TICKET_FIELDS if f["title"] == "Stripe customer id")
ESCALATION_TAG = "billing_escalation"


def ticket_spec(number, *, escalated=True, tags=(), **fields):
    spec = {
        "subject": f"Billing question {number}",
        "comment": {"body": f"Message {number} from the customer."},
        "requester": {"name": f"Customer {number % 50}",
                      "email": f"customer{number % 50}@example.com"},
        "tags": [*tags, *([ESCALATION_TAG] if escalated else [])],
    }
    return {**spec, **fields}

"""The Zendesk sandbox as the sync tests use it (the fixtures are in `conftest.py`): a
quick way to arrange many tickets straight in its store, and ticket specs."""

from billing_console.integrations.zendesk.sandbox.resources import TICKET_FIELDS
from tests.contract.zendesk.conftest import EMAIL, RunningSandbox

STRIPE_FIELD_ID = next(f["id"] for f in TICKET_FIELDS if f["title"] == "Stripe customer id")
ESCALATION_TAG = "billing_escalation"


class SyncSandbox(RunningSandbox):
    def add_tickets(self, specs):
        """Tickets made directly in the store (fast), in order; returns them."""
        store = self.server.store
        author_id = store.agent_for(EMAIL)["id"]
        return [store.create_ticket(spec, author_id)[0] for spec in specs]

    def export_requests(self):
        return [r for r in self.requests_received() if "/incremental/tickets/" in r]


def ticket_spec(number, *, escalated=True, tags=(), **fields):
    spec = {
        "subject": f"Billing question {number}",
        "comment": {"body": f"Message {number} from the customer."},
        "requester": {"name": f"Customer {number % 50}",
                      "email": f"customer{number % 50}@example.com"},
        "tags": [*tags, *([ESCALATION_TAG] if escalated else [])],
    }
    return {**spec, **fields}

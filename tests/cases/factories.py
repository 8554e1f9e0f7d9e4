"""Cases for tests, made directly in the database (the sync has its own tests)."""

from datetime import timedelta
from itertools import count

from django.utils import timezone

from cases.models import Case
from tests.conftest import TIER2_ZENDESK_USER_ID

_ticket_ids = count(10_000)


def make_case(**fields):
    now = timezone.now()
    ticket_id = fields.pop("zendesk_ticket_id", next(_ticket_ids))
    defaults = {
        "subject": f"Billing question {ticket_id}",
        "requester_name": "Ava Okafor",
        "requester_email": "ava.okafor@example.com",
        "zendesk_status": "open",
        "zendesk_created_at": now - timedelta(hours=2),
        "first_response_due": now + timedelta(hours=6),
        "resolution_due": now + timedelta(hours=70),
        # Escalated by the `tier2` actor's Zendesk agent, so that agent sees it.
        "escalated_by_zendesk_id": TIER2_ZENDESK_USER_ID,
    }
    return Case.objects.create(zendesk_ticket_id=ticket_id, **{**defaults, **fields})

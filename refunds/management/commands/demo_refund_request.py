"""`manage.py demo_refund_request`: the demo's refund waiting for finance's approval.

`make run` runs it once its worker has tied the cases to their Stripe customers: the demo
specialist asks, through `refund_request` as the refund page does, for the whole of the
largest charge behind the demo's refund-request ticket (a year paid upfront, above the
approval limit), so the policy's verdicts and the audit events are the real ones, the case
waits on finance, and finance finds it on the approvals page. Run again, it finds the
request already made and makes no second one.
"""

import time

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from billing_console.integrations.demo_customers import demo_customers
from billing_console.integrations.stripe import gateway
from cases.models import Case, Category, StripeLink
from money_actions.models import MoneyAction
from refunds.services import refund_request

# The demo customer whose refund-request ticket has a year paid upfront behind it (the
# Stripe seed's `_large_charge`).
CUSTOMER = 14
REASON_CODE = "courtesy"
NOTE = ("The customer paid a year of the team plan upfront and asks for all of it back; "
        "agreed on the phone as a courtesy.")


class Command(BaseCommand):
    help = "Ask for the demo's refund that waits for finance's approval."

    def add_arguments(self, parser):
        parser.add_argument("--wait", type=float, default=60.0,
                            help="Seconds to wait for the case to be tied to its customer.")

    def handle(self, *args, wait, **options):
        case = _verified_case(time.monotonic() + wait)
        charge = max(gateway.list_charges(customer_id=case.stripe_customer_id).items,
                     key=lambda charge: charge.amount)
        if MoneyAction.objects.filter(stripe_target_id=charge.id).exists():
            self.stdout.write("The demo's refund waiting for finance was asked for before.")
            return
        action = refund_request(
            case=case, charge=gateway.charge_to_refund(charge_id=charge.id), amount=charge.amount,
            stripe_reason="requested_by_customer", reason_code=REASON_CODE, note=NOTE,
            actor=get_user_model().objects.get(username="specialist"))
        self.stdout.write(f"{action.get_kind_display()} asked for on Ticket "
                          f"#{case.zendesk_ticket_id}: {action.get_state_display()}.")


def _verified_case(deadline):
    """The refund-request case of the demo customer, once Stripe has confirmed the
    customer its ticket names."""
    _, email = demo_customers()[CUSTOMER]
    while True:
        case = (Case.objects.filter(requester_email=email, category=Category.REFUND_REQUEST,
                                    stripe_link=StripeLink.VERIFIED)
                .order_by("zendesk_ticket_id").first())
        if case is not None:
            return case
        if time.monotonic() > deadline:
            raise CommandError(f"No refund-request case of {email} was tied to its Stripe "
                               "customer in time.")
        time.sleep(0.5)

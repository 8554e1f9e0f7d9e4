"""Stripe refund webhooks, as the inbox hands them over: keep refund rows true.

The payload only names the object; it is read again from Stripe. A refund the console
made settles its money action (including a refund that fails after it succeeded); one
made elsewhere, such as in the Stripe Dashboard, is recorded as an external refund.
Registered when the app loads (`RefundsConfig.ready`); safe to run twice.
"""

from django.db.models import Q

from audit.models import Source
from billing_console.integrations import inbox
from billing_console.integrations.stripe import gateway
from billing_console.parsing import uuid_or_none
from money_actions.models import Kind, MoneyAction
from money_actions.services import money_action_record_outcome
from refunds.executor import METADATA_KEY, outcome_of
from refunds.services import refund_record_external


def _object_id(payload):
    obj = ((payload or {}).get("data") or {}).get("object") or {}
    object_id = obj.get("id")
    return object_id if isinstance(object_id, str) and object_id else None


@inbox.handles("stripe", "refund.updated")
def on_refund_updated(event):
    refund_id = _object_id(event.payload)
    if refund_id:
        sync_refund(gateway.get_refund(refund_id=refund_id))


@inbox.handles("stripe", "charge.refunded")
def on_charge_refunded(event):
    charge_id = _object_id(event.payload)
    if charge_id:
        charge = gateway.get_charge(charge_id=charge_id)
        for refund in charge.refunds:
            sync_refund(refund, charge=charge)


def sync_refund(refund, *, charge=None):
    action = console_refund_for(refund)
    if action is not None:
        money_action_record_outcome(action_id=action.pk, outcome=outcome_of(refund),
                                    source=Source.STRIPE)
        return
    charge = charge or gateway.get_charge(charge_id=refund.charge)
    refund_record_external(refund=refund, charge=charge)


def console_refund_for(refund):
    match = Q(stripe_object_id=refund.id)
    action_id = uuid_or_none(refund.metadata.get(METADATA_KEY))
    if action_id:
        match |= Q(pk=action_id)
    return MoneyAction.objects.filter(match, kind=Kind.REFUND).first()

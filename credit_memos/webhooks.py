"""Changes made outside the console (in the Stripe Dashboard, or by another integration)
to credit notes, invoices, subscriptions and customer balances, as the inbox hands their
webhooks over: each becomes an external change in the audit trail, on the customer's
latest case.

The console's own changes raise the same events; Stripe names the request that caused
each one, and the console's idempotency keys start with `console-`, so those are left to
the money action that made them. Registered when the app loads; safe to run twice.
"""

from billing_console.integrations import inbox
from credit_memos.services import record_external_change

CONSOLE_KEY_PREFIX = "console-"
# Stripe's event → the audit trail's name for it.
EXTERNAL_ACTIONS = {
    "credit_note.created": "credit_memo.external",
    "credit_note.voided": "credit_memo_void.external",
    "invoice.voided": "invoice_void.external",
    "invoice.marked_uncollectible": "invoice_uncollectible.external",
    "customer.subscription.updated": "subscription_change.external",
    "customer.subscription.deleted": "subscription_cancel.external",
    "customer.updated": "balance_change.external",
}


@inbox.handles("stripe", *EXTERNAL_ACTIONS)
def on_external_change(event):
    payload = event.payload or {}
    data = payload.get("data") or {}
    obj, before = data.get("object") or {}, data.get("previous_attributes") or {}
    if not _made_by_a_request(payload) or _made_by_console(payload) or not obj.get("id"):
        return
    if event.event_type == "customer.updated" and "balance" not in before:
        return  # only balance changes are money
    record_external_change(action=EXTERNAL_ACTIONS[event.event_type], event_id=event.event_id,
                           obj=obj, before=before)


def _made_by_a_request(payload):
    """Stripe names the API or Dashboard request behind a change; renewals, payments and
    balance credit used up by an invoice come from Stripe itself, and are not adjustments."""
    return bool((payload.get("request") or {}).get("id"))


def _made_by_console(payload):
    key = (payload.get("request") or {}).get("idempotency_key") or ""
    return key.startswith(CONSOLE_KEY_PREFIX)

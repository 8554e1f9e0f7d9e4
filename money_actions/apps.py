from django.apps import AppConfig

# The fields of the kinds' `params` a person reads on the trail: a plan change's plan is
# the action's name (`target_name`), so the ids of its item and price, like that of what
# the action acts on, are left to the raw record; its moment of pricing is a date.
PARAM_LABELS = {
    "quantity": "Quantity", "proration_behavior": "Proration",
    "proration_date": "Priced as of", "restarts_period": "Starts a new billing period",
    "at": "Worked out as of", "finalize": "Finalized afterwards",
    "add": "Items added", "remove": "Items removed", "description": "Description",
    "invoice_name": "Invoice", "charge_name": "Charge", "refund_part": "Refunded",
    "whole": "The whole payment refunded",
}
PARAM_CHOICES = {"proration_behavior": {
    "create_prorations": "On the next invoice", "always_invoice": "Invoiced now",
    "none": "Not prorated"}}
PARAM_DATES = {"proration_date", "at", "period_start", "period_end"}
PARAM_IDS = {"target", "item_id", "price_id", "invoice", "paying_charge"}


class MoneyActionsConfig(AppConfig):
    name = "money_actions"
    verbose_name = "Money actions and the money policy"

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from audit.subjects import register_fields, register_names, register_subject
        from billing_console.names import register_audit_actions, register_console_reasons
        from cases.money_waiting import register_money_waiting
        from money_actions import webhooks  # noqa: F401
        from money_actions.kinds import audit_vocabulary
        from money_actions.models import ReasonCode, State
        from money_actions.selectors import (
            action_for_audit,
            action_names,
            forget_reason_labels,
            money_waiting_on,
            reason_labels,
        )

        # The webhooks module registers the Stripe webhook handlers of the ledger with the
        # inbox; an audit event about a money action shows its approval beside it, and the
        # trail names the action and its events in words.
        register_subject("money_action", action_for_audit)
        register_names("money_action", action_names)
        register_fields("money_action", labels={
            "state": "State", "amount": "Amount", "customer": "Stripe customer",
            "target_name": "Acted on in Stripe", "reason_code": "Internal reason",
            "requested_by": "Requested by", "approved_by": "Approved by",
            "stripe_object_id": "Made in Stripe", "params": "Details", **PARAM_LABELS,
        }, choices={"state": dict(State.choices), **PARAM_CHOICES},
            amounts={"amount", "refund_part"}, people={"requested_by", "approved_by"},
            dates=PARAM_DATES, hidden=PARAM_IDS)
        register_audit_actions(audit_vocabulary)
        # Every page labels the console's reason codes as admins named them.
        register_console_reasons(reason_labels)
        # A case is not resolved, closed or taken off "waiting on finance" while its money
        # waits, and its note to Zendesk names what finance decides.
        register_money_waiting(money_waiting_on)
        for signal, name in ((post_save, "saved"), (post_delete, "deleted")):
            signal.connect(forget_reason_labels, sender=ReasonCode,
                           dispatch_uid=f"reason_code_{name}")

        from cases.replies import register_money_replies
        from money_actions.replies import hold_reply, money_facts_of

        # The case page and the resolution draft their words from a case's money, and
        # resolving with a reply replaces the one an action holds, so the customer gets one.
        register_money_replies(read=money_facts_of, hold=hold_reply)

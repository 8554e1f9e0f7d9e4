"""How credit memos, their voids, invoice adjustments, balance moves and subscription
changes reach Stripe, and how the reconciler finds them there."""

import functools

from billing_console.integrations.stripe import gateway
from billing_console.integrations.stripe.errors import PermanentStripeError
from billing_console.money import format_amount
from credit_memos.selectors import CreditSpec, stripe_credit_note_params
from money_actions.executors import Outcome, add_executor, find_in_pages, register
from money_actions.models import Kind, State

METADATA_KEY = "console_money_action_id"


@register(Kind.CREDIT_MEMO)
class CreditMemoExecutor:
    success_tags = ("billing_credit_memo",)

    def submit(self, action):
        params = stripe_credit_note_params(CreditSpec.from_params(action.params["spec"]),
                                           action.amount, action.params["split_basis"])
        note = gateway.create_credit_note(**params, idempotency_key=action.idempotency_key,
                                          metadata={METADATA_KEY: str(action.pk),
                                                    "case_id": str(action.case_id)})
        return Outcome(State.SUCCEEDED, stripe_object_id=note.id)

    def find(self, action):
        note = find_in_pages(
            lambda cursor: gateway.list_credit_notes(invoice_id=action.stripe_target_id,
                                                     limit=100, starting_after=cursor),
            lambda note: note.metadata.get(METADATA_KEY) == str(action.pk))
        return Outcome(State.SUCCEEDED, stripe_object_id=note.id) if note else None

    def success_note(self, action):
        spec = action.params["spec"]
        return (f"Credit memo of {format_amount(action.amount, action.currency)} issued on "
                f"invoice {action.stripe_target_id} (reason: {action.reason_code}; Stripe "
                f"credit note {action.stripe_object_id}; settled to "
                f"{spec['settle_to'].replace('_', ' ')}).")


@register(Kind.CREDIT_MEMO_VOID)
class CreditMemoVoidExecutor:
    success_tags = ("billing_credit_memo_voided",)

    def submit(self, action):
        note = gateway.void_credit_note(credit_note_id=action.stripe_target_id,
                                        idempotency_key=action.idempotency_key)
        return Outcome(State.SUCCEEDED, stripe_object_id=note.id)

    def find(self, action):
        """A void leaves no object of its own: the note's status says whether it happened."""
        note = gateway.get_credit_note(credit_note_id=action.stripe_target_id)
        return Outcome(State.SUCCEEDED, stripe_object_id=note.id) \
            if note.status == "void" else None

    def success_note(self, action):
        return (f"Credit memo {action.stripe_target_id} of "
                f"{format_amount(action.amount, action.currency)} voided "
                f"(reason: {action.reason_code}).")


class InvoiceStatusExecutor:
    """An invoice moved to another status by one Stripe call; found by that status."""

    def __init__(self, call, done_status, verb):
        self.call, self.done_status, self.verb = call, done_status, verb
        self.success_tags = (f"billing_invoice_{done_status}",)

    def submit(self, action):
        invoice = self.call(invoice_id=action.stripe_target_id,
                            idempotency_key=action.idempotency_key)
        return Outcome(State.SUCCEEDED, stripe_object_id=invoice.id)

    def find(self, action):
        invoice = gateway.get_invoice(invoice_id=action.stripe_target_id)
        if invoice.status == self.done_status:
            return Outcome(State.SUCCEEDED, stripe_object_id=invoice.id)
        return None

    def success_note(self, action):
        return (f"Invoice {action.stripe_target_id} {self.verb} "
                f"({format_amount(action.amount, action.currency)} no longer owed; reason: "
                f"{action.reason_code}).")


add_executor(Kind.INVOICE_VOID, InvoiceStatusExecutor(gateway.void_invoice, "void", "voided"))
add_executor(Kind.INVOICE_UNCOLLECTIBLE, InvoiceStatusExecutor(
    gateway.mark_invoice_uncollectible, "uncollectible", "written off as uncollectible"))
add_executor(Kind.INVOICE_PAID_OUT_OF_BAND, InvoiceStatusExecutor(
    gateway.pay_invoice_out_of_band, "paid", "marked paid out of band"))


@register(Kind.INVOICE_EDIT)
class InvoiceEditExecutor:
    """Several Stripe calls, each with a key derived from the row's, so a retry repeats
    none of them: add items, remove items, finalize."""

    success_tags = ("billing_invoice_changed",)

    def submit(self, action):
        done = []
        try:
            for step, call in self._steps(action):
                call()
                done.append(step)
        except PermanentStripeError as error:
            if done:
                # Stripe refused part-way: say what did happen, so nobody repeats it.
                raise PermanentStripeError(f"Partly done ({', '.join(done)}), then Stripe "
                                           f"refused: {error.message}", code=error.code,
                                           request_id=error.request_id) from error
            raise
        return Outcome(State.SUCCEEDED, stripe_object_id=action.stripe_target_id)

    def _steps(self, action):
        """(what it does, the call) in order, each call with a key of its own."""
        params, key, invoice_id = action.params, action.idempotency_key, action.stripe_target_id
        for index, item in enumerate(params["add"]):
            yield f"added “{item['description']}”", functools.partial(
                gateway.add_invoice_item, customer_id=params["customer"],
                invoice_id=invoice_id, amount=item["amount"], currency=params["currency"],
                description=item["description"], idempotency_key=f"{key}-add-{index}",
                metadata={METADATA_KEY: str(action.pk)})
        for item_id in params["remove"]:
            yield f"removed {item_id}", functools.partial(_delete_once, item_id,
                                                           f"{key}-remove-{item_id}")
        if params["finalize"]:
            yield "finalized", functools.partial(gateway.finalize_invoice,
                                                 invoice_id=invoice_id,
                                                 idempotency_key=f"{key}-finalize")

    def find(self, action):
        """Nothing in Stripe says which of the calls were made (Stripe also finalizes a
        draft by itself), so send them all again: each one's key makes a repeat harmless
        while Stripe keeps keys, which is as long as the reconciler resends."""
        return None

    def success_note(self, action):
        params = action.params
        return (f"Draft invoice {action.stripe_target_id} changed: {len(params['add'])} item(s) "
                f"added, {len(params['remove'])} removed"
                f"{', then finalized' if params['finalize'] else ''} "
                f"(reason: {action.reason_code}).")


def _delete_once(item_id, idempotency_key):
    """Stripe ignores keys on DELETE: an item already gone was deleted by an earlier try."""
    try:
        gateway.delete_invoice_item(invoice_item_id=item_id, idempotency_key=idempotency_key)
    except PermanentStripeError as error:
        if error.code != "resource_missing":
            raise


class BalanceExecutor:
    """A customer balance transaction: negative is credit toward the next invoices."""

    def __init__(self, sign, verb):
        self.sign, self.verb = sign, verb
        self.success_tags = (f"billing_balance_{verb}",)

    def submit(self, action):
        transaction = gateway.create_balance_transaction(
            customer_id=action.stripe_target_id, amount=self.sign * action.amount,
            currency=action.currency, idempotency_key=action.idempotency_key,
            description=action.params["description"],
            metadata={METADATA_KEY: str(action.pk)})
        return Outcome(State.SUCCEEDED, stripe_object_id=transaction.id)

    def find(self, action):
        transaction = find_in_pages(
            lambda cursor: gateway.list_balance_transactions(
                customer_id=action.stripe_target_id, limit=100, starting_after=cursor),
            lambda transaction: transaction.metadata.get(METADATA_KEY) == str(action.pk))
        return Outcome(State.SUCCEEDED, stripe_object_id=transaction.id) \
            if transaction else None

    def success_note(self, action):
        return (f"Customer balance {self.verb}ed {format_amount(action.amount, action.currency)}"
                f" (“{action.params['description']}”; reason: {action.reason_code}).")


add_executor(Kind.BALANCE_CREDIT, BalanceExecutor(-1, "credit"))
add_executor(Kind.BALANCE_DEBIT, BalanceExecutor(1, "debit"))


class SubscriptionExecutor:
    """One Stripe call on a subscription; found by the state it leaves the subscription in."""

    def __init__(self, call, is_done, describe, tag):
        self.call, self.is_done, self.describe = call, is_done, describe
        self.success_tags = (tag,)

    def submit(self, action):
        subscription = self.call(action)
        return Outcome(State.SUCCEEDED, stripe_object_id=subscription.id)

    def find(self, action):
        subscription = gateway.get_subscription(subscription_id=action.stripe_target_id)
        if self.is_done(subscription, action.params):
            return Outcome(State.SUCCEEDED, stripe_object_id=subscription.id)
        return None

    def success_note(self, action):
        return (f"Subscription {action.stripe_target_id}: {self.describe(action.params)} "
                f"(reason: {action.reason_code}).")


def _item_changed(subscription, change):
    item = next((item for item in subscription.items if item.id == change["item_id"]), None)
    return item is not None and (not change.get("price_id") or item.price == change["price_id"]) \
        and (change.get("quantity") is None or item.quantity == change["quantity"])


def _change_call(action):
    return gateway.update_subscription_item(subscription_id=action.stripe_target_id,
                                            idempotency_key=action.idempotency_key,
                                            **action.params)


def _cancel_call(action):
    return gateway.cancel_subscription_now(
        subscription_id=action.stripe_target_id, prorate=action.params["prorate"],
        invoice_now=action.params["invoice_now"], idempotency_key=action.idempotency_key)


def _schedule_call(cancel_at_period_end):
    return lambda action: gateway.set_cancel_at_period_end(
        subscription_id=action.stripe_target_id, cancel_at_period_end=cancel_at_period_end,
        idempotency_key=action.idempotency_key)


def _describe_change(change):
    parts = [f"price {change['price_id']}" if change.get("price_id") else "",
             f"quantity {change['quantity']}" if change.get("quantity") is not None else ""]
    return (f"changed to {' and '.join(part for part in parts if part)}, proration "
            f"{change['proration_behavior']}")


add_executor(Kind.SUBSCRIPTION_CHANGE, SubscriptionExecutor(
    _change_call, _item_changed, _describe_change, "billing_plan_changed"))
add_executor(Kind.SUBSCRIPTION_CANCEL, SubscriptionExecutor(
    _cancel_call, lambda subscription, _: subscription.status == "canceled",
    lambda change: "canceled now" + (", prorated" if change["prorate"] else "")
    + (", invoiced now" if change["invoice_now"] else ""), "billing_canceled"))
add_executor(Kind.SUBSCRIPTION_CANCEL_AT_PERIOD_END, SubscriptionExecutor(
    _schedule_call(True), lambda subscription, _: subscription.cancel_at_period_end,
    lambda _: "cancels at the end of the current period", "billing_cancel_scheduled"))
add_executor(Kind.SUBSCRIPTION_RESUME, SubscriptionExecutor(
    _schedule_call(False), lambda subscription, _: not subscription.cancel_at_period_end,
    lambda _: "scheduled cancellation undone", "billing_cancel_undone"))

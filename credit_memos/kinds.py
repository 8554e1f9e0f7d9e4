"""The kinds this app declares: credit memos and their voids, invoice adjustments, balance
moves and subscription changes. Each is one `ActionKind`: how it reaches Stripe, finds
itself there, is checked against Stripe's rules (at request time and again just before
it is sent), and what the ticket hears."""

import functools

from django.utils.text import capfirst

from billing_console.exceptions import ApplicationError
from billing_console.integrations.stripe import gateway
from billing_console.integrations.stripe.errors import PermanentStripeError
from billing_console.money import REFUND_ARRIVAL, format_amount
from billing_console.names import day_name, in_sentence, reason_label, stripe_status
from cases.models import ResolutionCode
from credit_memos import rules
from credit_memos.selectors import (
    CreditSpec,
    read_credit_note,
    read_customer,
    read_invoice,
    read_subscription,
    split_basis,
    stripe_credit_note_params,
    unused_words,
)
from money_actions.executors import (
    UNCHANGED,
    Outcome,
    Refreshed,
    find_in_pages,
    named_target,
    reason_words,
    refund_made_by,
    refund_outcome,
)
from money_actions.kinds import METADATA_KEY, ActionKind, Family, register
from money_actions.ledger import (
    balance_transaction_fact,
    credit_note_facts,
    invoice_status_fact,
    moved_to,
)
from money_actions.models import State
from money_actions.selectors import PAYING_CHARGE, PAYING_CHARGE_NAME, refund_left_on


def _found_by_metadata(action):
    return lambda item: item.metadata.get(METADATA_KEY) == str(action.pk)


def _sent_back(error):
    return Refreshed(send_back=f"{error.message} It was not sent to Stripe.")


def _still_allowed(action, target, check):
    """Unchanged while `check(kind slug, target)` (Stripe's rule for the target's status)
    still holds; otherwise back to a person with the rule's words."""
    try:
        check(action.kind, target)
    except ApplicationError as error:
        return _sent_back(error)
    return UNCHANGED


# Credit memos -----------------------------------------------------------------------------


class CreditMemoExecutor:
    success_tags = ("billing_credit_memo",)

    def refresh(self, action):
        """The split depends on what the invoice still owes: worked out again from the
        invoice as it is now (paid meanwhile, say), for the same credit."""
        invoice = gateway.get_invoice(invoice_id=action.stripe_target_id)
        spec = CreditSpec.from_params(action.params["spec"])
        basis, paid = split_basis(invoice), rules.paid_by(invoice)
        try:
            rules.check_credit_note(invoice, spec, action.amount, basis=basis, paid=paid,
                                    excluding=action.pk)
        except ApplicationError as error:
            return _sent_back(error)
        return Refreshed(params=rules.credit_memo_params(invoice, spec, action.amount, basis, paid))

    def submit(self, action):
        params = stripe_credit_note_params(CreditSpec.from_params(action.params["spec"]),
                                           action.amount, action.params["split_basis"])
        note = gateway.create_credit_note(**params, idempotency_key=action.idempotency_key,
                                          metadata=CREDIT_MEMO.metadata(action))
        return _note_outcome(note)

    def find(self, action):
        note = find_in_pages(
            lambda cursor: gateway.list_credit_notes(invoice_id=action.stripe_target_id,
                                                     limit=100, starting_after=cursor),
            _found_by_metadata(action))
        return _note_outcome(note) if note else None

    def success_note(self, action):
        settled = SETTLED_WORDS[action.params["spec"]["settle_to"]]
        return (f"Credit note of {format_amount(action.amount, action.currency)} issued on "
                f"{named_target(action)} ({reason_words(action)}); what the invoice no "
                f"longer owes is {settled}.")


# Where what a credit note takes off an invoice went (`selectors.SETTLEMENTS`), in a note.
SETTLED_WORDS = {"customer_balance": "credited to the customer's balance",
                 "refund": "refunded to the payment method",
                 "out_of_band": "settled outside Stripe"}


def _note_outcome(note):
    """A credit note made, with the refunds and balance transaction that carried it out."""
    refunds = [gateway.get_refund(refund_id=refund_id) for refund_id in note.refunds]
    return Outcome(State.SUCCEEDED, stripe_object_id=note.id,
                   ledger=tuple(credit_note_facts(note, refunds=refunds)))


class CreditMemoVoidExecutor:
    success_tags = ("billing_credit_memo_voided",)

    def refresh(self, action):
        try:
            rules.check_void(gateway.get_credit_note(credit_note_id=action.stripe_target_id))
        except ApplicationError as error:
            return _sent_back(error)
        return UNCHANGED

    def submit(self, action):
        note = gateway.void_credit_note(credit_note_id=action.stripe_target_id,
                                        idempotency_key=action.idempotency_key)
        return Outcome(State.SUCCEEDED, stripe_object_id=note.id,
                       ledger=tuple(credit_note_facts(note)[:1]))

    def find(self, action):
        """A void leaves no object of its own: the note's status says whether it happened."""
        note = gateway.get_credit_note(credit_note_id=action.stripe_target_id)
        return Outcome(State.SUCCEEDED, stripe_object_id=note.id,
                       ledger=tuple(credit_note_facts(note)[:1])) \
            if note.status == "void" else None

    def success_note(self, action):
        return (f"{named_target(action, sentence_start=True)} of "
                f"{format_amount(action.amount, action.currency)} voided "
                f"({reason_words(action)}).")


CREDIT_MEMO = register(ActionKind(
    slug="credit_memo", label="Credit memo", family=Family.GIVES_BACK,
    executor=CreditMemoExecutor(), read_target=read_invoice, target_noun="invoice",
    ledger_type="credit_note", ledger_variant="issued", chart=True,
    settling_events=("credit_note.created", "credit_note.updated"),
    stripe_rules=rules.CREDIT_NOTE_RULES))

CREDIT_MEMO_VOID = register(ActionKind(
    slug="credit_memo_void", label="Credit memo void", family=Family.TAKES,
    executor=CreditMemoVoidExecutor(),
    read_target=read_credit_note,
    target_noun="credit note", ledger_type="credit_note", ledger_variant="void",
    settling_events=("credit_note.voided",), stripe_rules=rules.VOID_RULES))


# Invoice adjustments -----------------------------------------------------------------------


class InvoiceStatusExecutor:
    """An invoice moved to another status by one Stripe call; found by that status."""

    def __init__(self, call, done_status, verb):
        self.call, self.done_status, self.verb = call, done_status, verb
        self.success_tags = (f"billing_invoice_{done_status}",)

    def refresh(self, action):
        return _still_allowed(action, gateway.get_invoice(invoice_id=action.stripe_target_id),
                              rules.check_invoice_allows)

    def submit(self, action):
        invoice = self.call(invoice_id=action.stripe_target_id,
                            idempotency_key=action.idempotency_key)
        return self._outcome(action, invoice)

    def find(self, action):
        """Found by the move Stripe records, whatever the invoice has become since."""
        invoice = gateway.get_invoice(invoice_id=action.stripe_target_id)
        return self._outcome(action, invoice) if moved_to(invoice, self.done_status) else None

    def _outcome(self, action, invoice):
        fact = invoice_status_fact(invoice, self.done_status, given=action.amount)
        return Outcome(State.SUCCEEDED, stripe_object_id=invoice.id, ledger=(fact,))

    def success_note(self, action):
        return (f"{named_target(action, sentence_start=True)} {self.verb} "
                f"({format_amount(action.amount, action.currency)} no longer owed; "
                f"{reason_words(action)}).")


def _invoice_kind(slug, label, call, status, verb):
    return register(ActionKind(
        slug=slug, label=label, family=Family.GIVES_BACK,
        executor=InvoiceStatusExecutor(call, status, verb), read_target=read_invoice,
        target_noun="invoice", ledger_type="invoice_status", ledger_variant=status,
        stripe_rules=(rules.INVOICE_RULES[slug][1],)))


INVOICE_VOID = _invoice_kind("invoice_void", "Invoice void", gateway.void_invoice, "void",
                             "voided")
INVOICE_UNCOLLECTIBLE = _invoice_kind(
    "invoice_uncollectible", "Invoice write-off", gateway.mark_invoice_uncollectible,
    "uncollectible", "written off as uncollectible")
INVOICE_PAID_OUT_OF_BAND = _invoice_kind(
    "invoice_paid_out_of_band", "Invoice paid out of band", gateway.pay_invoice_out_of_band,
    "paid", "marked paid out of band")


class InvoiceEditExecutor:
    """Several Stripe calls, each with a key derived from the row's, so a retry repeats
    none of them: add items, remove items, finalize."""

    success_tags = ("billing_invoice_changed",)

    def refresh(self, action):
        return _still_allowed(action, gateway.get_invoice(invoice_id=action.stripe_target_id),
                              rules.check_invoice_allows)

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
        changes = [f"{count} item{'' if count == 1 else 's'} {done}"
                   for count, done in ((len(params["add"]), "added"),
                                       (len(params["remove"]), "removed")) if count]
        return (f"{named_target(action, sentence_start=True)} changed: "
                f"{' and '.join(changes) or 'no item added or removed'}"
                f"{', then finalized' if params['finalize'] else ''} "
                f"({reason_words(action)}).")


def _delete_once(item_id, idempotency_key):
    """Stripe ignores keys on DELETE: an item already gone was deleted by an earlier try."""
    try:
        gateway.delete_invoice_item(invoice_item_id=item_id, idempotency_key=idempotency_key)
    except PermanentStripeError as error:
        if error.code != "resource_missing":
            raise


INVOICE_EDIT = register(ActionKind(
    slug="invoice_edit", label="Draft invoice change", family=Family.GIVES_BACK,
    executor=InvoiceEditExecutor(), read_target=read_invoice, target_noun="invoice",
    stripe_rules=(rules.INVOICE_RULES["invoice_edit"][1],)))


# Balance moves ----------------------------------------------------------------------------


class BalanceExecutor:
    """A customer balance transaction: negative is credit toward the next invoices."""

    def __init__(self, sign, verb):
        self.sign, self.verb = sign, verb
        self.success_tags = (f"billing_balance_{verb}",)

    def refresh(self, action):
        return UNCHANGED  # Stripe takes a balance move whatever the balance is

    def submit(self, action):
        transaction = gateway.create_balance_transaction(
            customer_id=action.stripe_target_id, amount=self.sign * action.amount,
            currency=action.currency, idempotency_key=action.idempotency_key,
            description=action.params["description"],
            metadata={METADATA_KEY: str(action.pk)})
        return _balance_outcome(transaction)

    def find(self, action):
        transaction = find_in_pages(
            lambda cursor: gateway.list_balance_transactions(
                customer_id=action.stripe_target_id, limit=100, starting_after=cursor),
            _found_by_metadata(action))
        return _balance_outcome(transaction) if transaction else None

    def success_note(self, action):
        return (f"Customer balance {self.verb}ed {format_amount(action.amount, action.currency)}"
                f" (“{action.params['description']}”; {reason_words(action)}).")


def _balance_outcome(transaction):
    return Outcome(State.SUCCEEDED, stripe_object_id=transaction.id,
                   ledger=(balance_transaction_fact(transaction),))


BALANCE_CREDIT = register(ActionKind(
    slug="balance_credit", label="Balance credit", family=Family.GIVES_BACK,
    executor=BalanceExecutor(-1, "credit"), read_target=read_customer,
    target_noun="customer", ledger_type="balance_transaction", ledger_variant="credit",
    chart=True, stripe_rules=rules.BALANCE_RULES))
BALANCE_DEBIT = register(ActionKind(
    slug="balance_debit", label="Balance debit", family=Family.TAKES,
    executor=BalanceExecutor(1, "debit"), read_target=read_customer, target_noun="customer",
    ledger_type="balance_transaction", ledger_variant="debit",
    stripe_rules=rules.BALANCE_RULES))


# Subscription changes ---------------------------------------------------------------------


class SubscriptionExecutor:
    """One Stripe call on a subscription; found by the state it leaves the subscription in.
    `describe(action)` is what the ticket's note says was done."""

    def __init__(self, call, is_done, describe, tag):
        self.call, self.is_done, self.describe = call, is_done, describe
        self.success_tags = (tag,)

    def refresh(self, action):
        return _still_allowed(
            action, gateway.get_subscription(subscription_id=action.stripe_target_id),
            rules.check_subscription_allows)

    def submit(self, action):
        subscription = self.call(action)
        return Outcome(State.SUCCEEDED, stripe_object_id=subscription.id)

    def find(self, action):
        subscription = gateway.get_subscription(subscription_id=action.stripe_target_id)
        if self.is_done(subscription, action.params):
            return Outcome(State.SUCCEEDED, stripe_object_id=subscription.id)
        return None

    def success_note(self, action):
        return f"{self.describe(action)} ({reason_words(action)})."


def _item_changed(subscription, change):
    item = next((item for item in subscription.items if item.id == change["item_id"]), None)
    return item is not None and (not change.get("price_id") or item.price == change["price_id"]) \
        and (change.get("quantity") is None or item.quantity == change["quantity"])


# What a plan change's params send to Stripe (`gateway.update_subscription_item`).
CHANGE_SENT = ("item_id", "price_id", "quantity", "proration_behavior", "proration_date")


def _change_call(action):
    return gateway.update_subscription_item(
        subscription_id=action.stripe_target_id, idempotency_key=action.idempotency_key,
        **{key: value for key, value in action.params.items() if key in CHANGE_SENT})


def _cancel_call(action):
    return gateway.cancel_subscription_now(
        subscription_id=action.stripe_target_id, prorate=action.params["prorate"],
        invoice_now=action.params["invoice_now"], idempotency_key=action.idempotency_key)


def _schedule_call(cancel_at_period_end):
    return lambda action: gateway.set_cancel_at_period_end(
        subscription_id=action.stripe_target_id, cancel_at_period_end=cancel_at_period_end,
        idempotency_key=action.idempotency_key)


# A plan change's proration (`gateway.PRORATION_BEHAVIORS`), as the ticket's note says it.
PRORATION_WORDS = {"create_prorations": "prorated on the next invoice",
                   "always_invoice": "prorated and invoiced now",
                   "none": "not prorated"}


def _describe_change(action):
    """"Plan changed: Console Team monthly × 5 → Console Pro annual × 3, prorated on the
    next invoice"; a change requested before plan changes were named by both sides names
    its subscription."""
    behavior = action.params["proration_behavior"]
    when = PRORATION_WORDS[behavior]
    if action.params.get("restarts_period"):
        # Another billing interval: Stripe invoices the new plan's first period at once.
        when = "its first period invoiced now, " + \
            ("not prorated" if behavior == "none" else "less the unused time")
    return f"Plan changed: {named_target(action)}, {when}"


def _describe_subscription(words):
    """`words(params)` after the subscription's name: "The subscription to Console Pro
    monthly × 3: canceled now"."""
    return lambda action: (f"{named_target(action, sentence_start=True)}: "
                           f"{words(action.params)}")


def _subscription_kind(slug, label, executor, **named):
    return register(ActionKind(
        slug=slug, label=label, family=Family.CHANGES_PLAN, executor=executor,
        read_target=read_subscription, target_noun="subscription",
        stripe_rules=rules.SUBSCRIPTION_RULES[slug], **named))


SUBSCRIPTION_CHANGE = _subscription_kind(
    "subscription_change", "Plan change", SubscriptionExecutor(
        _change_call, _item_changed, _describe_change, "billing_plan_changed"),
    names_change=True)
SUBSCRIPTION_CANCEL = _subscription_kind(
    "subscription_cancel", "Cancellation", SubscriptionExecutor(
        _cancel_call, lambda subscription, _: subscription.status == "canceled",
        _describe_subscription(
            lambda change: "canceled now" + (", prorated" if change["prorate"] else "")
            + (", invoiced now" if change["invoice_now"] else "")), "billing_canceled"),
    deletes_target=True)
SUBSCRIPTION_CANCEL_AT_PERIOD_END = _subscription_kind(
    "subscription_cancel_at_end", "Cancellation at period end", SubscriptionExecutor(
        _schedule_call(True), lambda subscription, _: subscription.cancel_at_period_end,
        _describe_subscription(lambda _: "cancels at the end of the current period"),
        "billing_cancel_scheduled"))
SUBSCRIPTION_RESUME = _subscription_kind(
    "subscription_resume", "Scheduled cancellation undone", SubscriptionExecutor(
        _schedule_call(False), lambda subscription, _: not subscription.cancel_at_period_end,
        _describe_subscription(lambda _: "scheduled cancellation undone"),
        "billing_cancel_undone"))


# Cancel now with a refund -----------------------------------------------------------------


class CancelWithRefundExecutor:
    """Two Stripe writes, each with a key of its own derived from the action's: the
    cancellation first, so that nothing is refunded for a subscription still running,
    then the refund of the charge that paid the last invoice (`PAYING_CHARGE`), which
    carries the action's metadata. Neither is made twice: the cancellation is skipped
    once the subscription has ended, and `find` looks for the refund first."""

    success_tags = ("billing_canceled", "billing_refunded")

    def refresh(self, action):
        """The subscription still runs, and the charge can still refund the amount."""
        refusal = _still_allowed(
            action, gateway.get_subscription(subscription_id=action.stripe_target_id),
            rules.check_subscription_allows)
        if refusal.send_back:
            return refusal
        charge = gateway.charge_to_refund(charge_id=action.params[PAYING_CHARGE])
        try:
            rules.check_refundable(charge)
        except ApplicationError as error:
            return _sent_back(error)
        left = refund_left_on(charge, excluding=action.pk)
        if action.amount <= left:
            return UNCHANGED
        return Refreshed(send_back=(
            f"{named_charge(action, sentence_start=True)} can now refund only "
            f"{format_amount(left, action.currency)}, less than the "
            f"{format_amount(action.amount, action.currency)} asked: money was refunded "
            "since. Reject it, and cancel with a smaller refund. Nothing was sent to "
            "Stripe."))

    def submit(self, action):
        key = action.idempotency_key
        subscription = gateway.get_subscription(subscription_id=action.stripe_target_id)
        if subscription.status != "canceled":
            # Not prorated and not invoiced by Stripe: the refund is what gives back.
            gateway.cancel_subscription_now(subscription_id=subscription.id, prorate=False,
                                            invoice_now=False,
                                            idempotency_key=f"{key}-cancel")
        try:
            refund = gateway.create_refund(
                charge_id=action.params[PAYING_CHARGE], amount=action.amount,
                idempotency_key=f"{key}-refund", reason=action.params["stripe_reason"],
                metadata=SUBSCRIPTION_CANCEL_WITH_REFUND.metadata(action))
        except PermanentStripeError as error:
            # The subscription has ended and the money has not gone back: say both.
            return Outcome(State.FAILED, stripe_request_id=error.request_id or "",
                           failure_reason=_not_refunded(action, error.message))
        return self.settle(action, refund)

    def find(self, action):
        """The refund, by its metadata. Without one, `submit` runs again with the same
        keys: it sees a subscription it ended, and makes the refund once."""
        refund = refund_made_by(action, action.params[PAYING_CHARGE])
        return self.settle(action, refund) if refund else None

    def settle(self, action, refund):
        """What the refund (read again from Stripe) says about the action; one that failed
        or was canceled says that the subscription ended all the same."""
        gave_nothing = refund.status in ("failed", "canceled")
        why = in_sentence(reason_label(refund.failure_reason) or stripe_status(refund.status))
        return refund_outcome(refund, customer=action.stripe_customer_id,
                              failure_reason=_not_refunded(action, why) if gave_nothing
                              else "")

    def success_note(self, action):
        params = action.params
        part = "the whole last payment" if params["whole"] else \
            f"the unused {unused_words(params['period_end'] - params['at'])}"
        return (f"{named_target(action, sentence_start=True)}: canceled now. Refunded "
                f"{format_amount(action.amount, action.currency)}, {part}, of "
                f"{named_charge(action)}, which paid {params['invoice_name']} to "
                f"{day_name(params['period_end'])} ({reason_words(action)}). It reaches the "
                f"customer's account in {REFUND_ARRIVAL}.")


def named_charge(action, *, sentence_start=False):
    """The charge a cancellation's refund goes back on, as people name it."""
    name = action.params[PAYING_CHARGE_NAME]
    return capfirst(name) if sentence_start else name


def _not_refunded(action, why):
    """A cancellation whose refund failed, in words: what happened, and what to do."""
    return (f"The subscription was canceled, but the refund of "
            f"{format_amount(action.amount, action.currency)} on {named_charge(action)} "
            f"failed: {why.rstrip('.')}. Refund the charge from the case's Stripe panel, or "
            "tell finance.")


SUBSCRIPTION_CANCEL_WITH_REFUND = register(ActionKind(
    slug="subscription_cancel_refund", label="Cancellation with refund",
    family=Family.GIVES_BACK, executor=CancelWithRefundExecutor(),
    # A cancellation first: the case is resolved as a subscription changed, not a refund.
    resolution=ResolutionCode.SUBSCRIPTION_CHANGED.value,
    read_target=read_subscription, target_noun="subscription",
    # The refund it leaves is matched and counted like any refund; the variant keeps a
    # refund made outside the console the refund kind's (`kinds.kind_leaving`).
    ledger_type="refund", ledger_variant="with_cancellation", deletes_target=True,
    settling_events=("refund.created", "refund.updated", "refund.failed",
                     "charge.refund.updated", "charge.refunded"),
    stripe_rules=rules.SUBSCRIPTION_RULES["subscription_cancel_refund"]))

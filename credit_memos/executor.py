"""How credit memos and their voids reach Stripe, and how the reconciler finds them."""

from billing_console.integrations.stripe import gateway
from billing_console.money import format_amount
from credit_memos.selectors import CreditSpec, stripe_credit_note_params
from money_actions.executors import Outcome, register
from money_actions.models import Kind, State

METADATA_KEY = "console_money_action_id"
MAX_PAGES_SEARCHED = 10


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
        cursor = None
        for _ in range(MAX_PAGES_SEARCHED):
            page = gateway.list_credit_notes(invoice_id=action.stripe_target_id, limit=100,
                                             starting_after=cursor)
            for note in page.items:
                if note.metadata.get(METADATA_KEY) == str(action.pk):
                    return Outcome(State.SUCCEEDED, stripe_object_id=note.id)
            cursor = page.next_cursor
            if cursor is None:
                return None
        return None

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
        cursor = None
        for _ in range(MAX_PAGES_SEARCHED):
            page = gateway.list_credit_notes(invoice_id=action.params["invoice_id"], limit=100,
                                             starting_after=cursor)
            for note in page.items:
                if note.id == action.stripe_target_id:
                    return Outcome(State.SUCCEEDED, stripe_object_id=note.id) \
                        if note.status == "void" else None
            cursor = page.next_cursor
            if cursor is None:
                return None
        return None

    def success_note(self, action):
        return (f"Credit memo {action.stripe_target_id} of "
                f"{format_amount(action.amount, action.currency)} voided "
                f"(reason: {action.reason_code}).")

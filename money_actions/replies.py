"""The money actions of a case as its reply and its resolution speak of them, and the reply an
action holds until it succeeds; registered with `cases.replies`, which sits below this app,
from the AppConfig.ready."""

from cases.replies import MoneyFacts
from money_actions.executors import named_target
from money_actions.models import COMMITTED_STATES, IN_FLIGHT_STATES, MoneyAction, State
from money_actions.selectors import PAYING_CHARGE_NAME, label_of


def money_facts_of(case_id, since, *, lock=False):
    """[MoneyFacts] of the case's money actions requested since `since` (an aware datetime,
    or None for all), newest first, every one of them (whether the customer already has a
    reply reads them all), none withdrawn, rejected or failed. With `lock`, in a
    transaction, those on their way are locked first, so that what they hold for the
    customer stays as read until it commits."""
    if lock:
        list(MoneyAction.objects.select_for_update().filter(
            case_id=case_id, state__in=IN_FLIGHT_STATES).values_list("pk", flat=True))
    actions = MoneyAction.objects.filter(case_id=case_id, state__in=COMMITTED_STATES)
    if since is not None:
        actions = actions.filter(created_at__gte=since)
    return [_facts(action) for action in actions.order_by("-created_at", "-id")]


def _facts(action):
    kind = action.kind_def
    return MoneyFacts(
        resolution_code=kind.resolution_code, amount=action.amount, currency=action.currency,
        target_name=named_target(action), target_noun=kind.target_noun,
        charge_name=action.params.get(PAYING_CHARGE_NAME, ""), action_id=str(action.pk),
        kind=kind.slug, note=action.note, name=action.name,
        # A change that moves no money by itself (a cancellation at period end) has no amount.
        label=label_of(action) if action.amount else kind.label,
        settled=action.state == State.SUCCEEDED, reply=action.customer_reply)


def hold_reply(action_id, text):
    """Make `text` the public reply the action posts to its ticket when it succeeds
    (`services._after_outcome`). Only in the transaction that read it on its way, and
    locked it (`money_facts_of(…, lock=True)`)."""
    # An update leaves `updated_at` alone: it says when the action last moved, by which
    # one approved and never taken to Stripe is found stuck.
    MoneyAction.objects.filter(pk=action_id, state__in=IN_FLIGHT_STATES).update(
        customer_reply=text)

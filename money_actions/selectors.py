"""Reads of money actions for the pages."""

import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from billing_console.dates import parse_day, start_of_day
from billing_console.exceptions import ApplicationError
from billing_console.integrations.stripe.errors import PermanentStripeError
from billing_console.money import format_amount
from billing_console.names import in_sentence
from billing_console.parsing import uuid_or_none
from billing_console.text import quoted
from cases.money_waiting import MoneyWaiting
from money_actions.kinds import (
    MOVES_PARAM,
    Family,
    Moves,
    action_id_from_metadata,
    kind_leaving,
    slugs,
)
from money_actions.models import (
    COMMITTED_STATES,
    IN_FLIGHT_STATES,
    LedgerEntry,
    MoneyAction,
    ReasonCode,
    State,
)

APPROVALS_SHOWN = 200
HISTORY_DAYS = 90
HISTORY_SHOWN = 5


def awaiting_approval():
    """Actions waiting for a second person, oldest first: the longest wait is on top."""
    return (MoneyAction.objects.filter(state=State.PENDING_APPROVAL)
            .select_related("case", "requested_by").order_by("created_at"))


@dataclass
class ApprovalRow:
    action: MoneyAction
    reasons: list  # the verdicts that sent it to approval
    history: list = field(default_factory=list)  # the customer's recent actions, newest first


def approval_rows(*, limit=APPROVALS_SHOWN):
    """What finance weighs for each action waiting: why it waits, and what the customer
    has had lately."""
    actions = list(awaiting_approval()[:limit])
    history = _recent_by_customer({action.stripe_customer_id for action in actions},
                                  exclude={action.pk for action in actions})
    return [ApprovalRow(action=action,
                        reasons=[verdict for verdict in action.policy_verdicts
                                 if verdict["needs_approval"]],
                        history=history[action.stripe_customer_id][:HISTORY_SHOWN])
            for action in actions]


def _recent_by_customer(customer_ids, *, exclude):
    """Each customer's money actions of the last `HISTORY_DAYS` days, in one query."""
    since = timezone.now() - timedelta(days=HISTORY_DAYS)
    recent = (MoneyAction.objects.filter(stripe_customer_id__in=customer_ids - {""},
                                         created_at__gte=since)
              .exclude(pk__in=exclude).select_related("requested_by")
              .order_by("-created_at"))
    by_customer = defaultdict(list)
    for action in recent:
        by_customer[action.stripe_customer_id].append(action)
    return by_customer


def flagged_for_finance():
    """Actions finance must look at and has not yet, oldest first."""
    return (MoneyAction.objects.exclude(finance_flag="")
            .filter(finance_flag_cleared_at__isnull=True)
            .select_related("case").order_by("updated_at"))


CASE_ACTIONS_SHOWN = 20


def action_for_audit(object_id):
    """The money action an audit event names, with who decided on it; None if none."""
    return (MoneyAction.objects.select_related("requested_by", "approved_by", "rejected_by")
            .filter(pk=uuid_or_none(object_id)).first())


def action_names(object_ids):
    """{id as text: name} of the money actions among `object_ids` (the audit trail's
    object ids, one query for a page of events), each by `name_of`."""
    ids = {found for object_id in object_ids if (found := uuid_or_none(object_id))}
    actions = MoneyAction.objects.filter(pk__in=ids).only(
        "id", "kind", "amount", "currency", "target_name", "params")
    return {str(action.pk): name_of(action) for action in actions}


def label_of(action):
    """"Refund of 30.00 USD": the action's kind and amount."""
    return f"{action.get_kind_display()} of {format_amount(action.amount, action.currency)}"


def name_of(action):
    """The action as people name it, by its kind, amount (none when it moves no money by
    itself) and target as named when requested: "Refund of 800.00 USD on the charge of
    900.00 USD on 30 Nov 2026", "Cancellation at period end on the subscription to Console
    Pro monthly"; a kind that names its change, by the change and what it moves
    (`change_name`)."""
    if action.kind_def.names_change and action.target_name:
        return change_name(action)
    name = label_of(action) if action.amount else action.get_kind_display()
    if not action.target_name:
        return name
    return f"{name} on {action.target_name}"


def change_name(action):
    """A plan change by what it moves (`kinds.Moves`, in its params) and both its sides:
    "Plan change: customer pays 1,672.81 USD now (Console Team monthly × 4 → Console Pro
    annual × 3)", "Plan change: customer gets 91.19 USD back (…)", "Plan change (…),
    prorated on the next invoice", "Plan change (…)" when it moves nothing. One requested
    before plan changes kept what they move reads as it did, "Plan change of 91.19 USD
    (…)": its amount is its proration's, and nothing says which way it went."""
    label, change = action.get_kind_display(), action.target_name
    amount = format_amount(action.amount, action.currency)
    moves = (action.params or {}).get(MOVES_PARAM)
    if moves == Moves.TAKES_NOW:
        return f"{label}: customer pays {amount} now ({change})"
    if moves == Moves.GIVES_BACK_NOW:
        return f"{label}: customer gets {amount} back ({change})"
    if moves in (Moves.TAKES_NEXT_INVOICE, Moves.GIVES_BACK_NEXT_INVOICE):
        return f"{label} ({change}), prorated on the next invoice"
    if moves == Moves.NOTHING or not action.amount:
        return f"{label} ({change})"
    return f"{label_of(action)} ({change})"


def in_a_sentence(action):
    """The action inside a sentence, by its name (`name_of`): "a refund of 1,188.00 USD on
    the charge of 1,200.00 USD on 30 Nov 2026", "a plan change: customer pays 1,375.00 USD
    now (Console Team monthly × 5 → Console Pro annual × 3)", "a cancellation at period end on the
    subscription to Console Pro monthly" (a change that moves no money by itself)."""
    name = in_sentence(name_of(action))
    return f"{'an' if name[:1] in 'aeiou' else 'a'} {name}"


# The states in which an action holds its case's state (`cases.money_waiting`): waiting
# for finance, or approved and not yet through Stripe.
HOLDING_CASE_STATES = (State.PENDING_APPROVAL, State.APPROVED, State.SUBMITTING)


def money_waiting_on(case_id):
    """[MoneyWaiting] of the case's actions that hold its state, oldest first (one query,
    on the index by case)."""
    actions = (MoneyAction.objects.filter(case_id=case_id, state__in=HOLDING_CASE_STATES)
               .only("kind", "state", "amount", "currency", "target_name", "params")
               .order_by("created_at", "id"))
    return [MoneyWaiting(name=in_a_sentence(action),
                         for_finance=action.state == State.PENDING_APPROVAL)
            for action in actions]


# The labels as last read, and when (time.monotonic()); a change to a reason code empties it.
_REASON_LABELS = {"read_at": 0.0, "labels": None}
# How long another process may show a label an admin has just changed.
REASON_LABELS_SECONDS = 30


def reason_labels():
    """{code: label} of the console's reason codes, retired ones included: old actions
    keep theirs. Kept in the process for REASON_LABELS_SECONDS: a page labels every reason
    it shows, and reading the table each time was a query per label."""
    now = time.monotonic()
    if _REASON_LABELS["labels"] is None or \
            now - _REASON_LABELS["read_at"] > REASON_LABELS_SECONDS:
        _REASON_LABELS.update(labels=dict(ReasonCode.objects.values_list("code", "label")),
                              read_at=now)
    return _REASON_LABELS["labels"]


def forget_reason_labels(**_signal):
    """A reason code changed (post_save, post_delete): the next label reads the table."""
    _REASON_LABELS["labels"] = None


def actions_on(case, *, now=None):
    """The case's money actions, newest first, for its page; each has `stuck`, its
    `StuckAction` when it is stuck on the way to Stripe, else None."""
    actions = list(MoneyAction.objects.filter(case=case).select_related("requested_by")
                   .order_by("-created_at")[:CASE_ACTIONS_SHOWN])
    stuck = {}
    if any(action.state in ON_THE_WAY for action in actions):
        stuck = {row.action.pk: row for row in stuck_actions(
            stuck_on_the_way(now=now).filter(case=case))}
    for action in actions:
        action.stuck = stuck.get(action.pk)
    return actions


# Stuck on the way to Stripe -----------------------------------------------------------------
# Approved and waiting for a worker, or sent with no answer recorded yet: Stripe may not
# have the action, and nobody has said it failed.
ON_THE_WAY = (State.APPROVED, State.SUBMITTING)


def stuck_after():
    """How long an action may be on its way to Stripe before it is stuck (a timedelta,
    `MONEY_ACTION_STUCK_MINUTES`; why five minutes, the setting says)."""
    return timedelta(minutes=settings.MONEY_ACTION_STUCK_MINUTES)


def stuck_on_the_way(*, now=None):
    """The one definition of stuck: actions on their way to Stripe since longer than
    `stuck_after()` before `now`, oldest first, each annotated with `stuck_since` (aware,
    UTC): when it was sent first, or, approved and never taken by a worker, when it was
    approved (nothing saves an approved row until a worker takes it). Two index ranges,
    (state, submitted_at) and (state, updated_at), however many actions there are."""
    cutoff = (now or timezone.now()) - stuck_after()
    return (MoneyAction.objects
            .filter(Q(state=State.SUBMITTING, submitted_at__lt=cutoff)
                    | Q(state=State.APPROVED, updated_at__lt=cutoff))
            .annotate(stuck_since=models.Case(
                models.When(state=State.SUBMITTING, then=F("submitted_at")),
                default=F("updated_at")))
            .select_related("case").order_by("stuck_since", "id"))


@dataclass(frozen=True)
class StuckAction:
    """An action of `stuck_on_the_way`, with what happens next in words: what the console
    does about it, and whom to tell."""

    action: MoneyAction
    since: object  # datetime, aware: when it set off for Stripe
    next_step: str


WHOM_TO_TELL = ("If it is still stuck an hour after it set off, tell an admin: the console's "
                "worker or its connection to Stripe needs someone to look.")


def stuck_actions(actions):
    """[StuckAction] of actions from `stuck_on_the_way`, in their order."""
    return [StuckAction(action, action.stuck_since, _next_step(action)) for action in actions]


def _next_step(action):
    if action.state == State.APPROVED:
        return ("No worker has taken it to Stripe yet. The console puts it back on the "
                f"workers' queue every few minutes. {WHOM_TO_TELL}")
    if action.finance_flag and not action.finance_flag_cleared_at:
        return ("It never reached Stripe in a day of tries and is no longer sent: finance "
                "closes it under “Needs finance's attention” on the approvals page.")
    return ("Stripe's answer never came back. The console looks for it in Stripe and "
            "records what Stripe did; if Stripe never got it, the console sends it again "
            "with the same key, so it is never made twice. Do not make it again, here or "
            f"in Stripe. {WHOM_TO_TELL}")


def read_from_stripe(read, object_id, *, noun, missing):
    """The object a money action acts on, as Stripe has it now: `read(object_id)` through
    the gateway. No id (`missing` says what to do) or one Stripe refuses is the caller's
    mistake, one Stripe does not have a 404 (code `not_found`), as any id that names
    nothing; Stripe being down stays a `TransientStripeError`."""
    if not isinstance(object_id, str) or not object_id.strip():
        raise ApplicationError(missing, noun)
    try:
        return read(object_id.strip())
    except PermanentStripeError as error:
        if error.http_status == 404 or error.code == "resource_missing":
            # Stripe's own words would quote the id again, whole.
            raise ApplicationError(f"Stripe has no {noun} {quoted(object_id)}.",
                                   "not_found", status=404) from error
        raise ApplicationError(f"Stripe cannot read {noun} {quoted(object_id)}: "
                               f"{error.message[:200]}",
                               noun) from error


# What the console gives back on a charge ------------------------------------------------
# Three kinds refund a charge: a refund names it as its target; a credit memo, and a
# cancellation with a refund, act on something else and name the charge in their parameters
# (`PAYING_CHARGE`), with the part of their amount refunded to it (`REFUND_PART`). A credit
# memo's other part gives its invoice back otherwise (to the balance, out of band): refunds
# of the charge and credits on its invoice then limit each other, so the invoice is never
# given back twice, once on the card and once again as a credit. What the invoice was paid
# other than by the charge (`PAID_OTHERWISE`: from the customer's balance) may be given back
# otherwise without taking from the charge.
PAYING_CHARGE = "paying_charge"
REFUND_PART = "refund_part"
PAID_OTHERWISE = "paid_otherwise"
# The charge as people name it (`billing_console.names.stripe_name`), where an action that
# acts on something else refunds it (a cancellation's refund): what its reply names.
PAYING_CHARGE_NAME = "charge_name"
# A refund in these states is in a charge's `amount_refunded`.
_REFUND_COUNTED = ("pending", "requires_action", "succeeded")


@dataclass(frozen=True)
class GivenBack:
    """What one of the console's committed actions gives back on a charge, in minor units:
    `refund`, refunded to the charge; `otherwise`, what it gives back of the charge's
    invoice another way, of which the invoice's `paid_otherwise` takes nothing from the
    charge; `on_the_way`, whether it is not yet through Stripe; `by_credit_note`, whether
    its refund is a credit note's (counted on the invoice with the note)."""

    action_id: uuid.UUID
    refund: int
    otherwise: int
    paid_otherwise: int
    on_the_way: bool
    by_credit_note: bool


def voided_credit_notes():
    """A condition on money actions: their Stripe object is a credit note voided since it
    was issued, by the console, or in Stripe as its webhooks and the reconciler tell the
    ledger. Two subqueries (no union: SQLite refuses one ordered by a model's default)."""
    by_console = MoneyAction.objects.filter(kind=kind_leaving("credit_note", "void").slug,
                                            state=State.SUCCEEDED).values("stripe_target_id")
    in_stripe = LedgerEntry.objects.filter(entry_type=LedgerEntry.Type.CREDIT_NOTE,
                                           status="void").values("stripe_id")
    return Q(stripe_object_id__in=by_console) | Q(stripe_object_id__in=in_stripe)


def given_back_on(charge_id, *, excluding=None):
    """The console's committed actions that give back on the charge `charge_id`, each a
    `GivenBack`; not `excluding` (an action's id), nor a credit memo voided since
    (`voided_credit_notes`). A credit memo's refund that failed after the memo was issued
    gave nothing back on the card (`_failed_note_refunds`). Two queries."""
    refund_kinds = slugs(ledger_type="refund")
    actions = (MoneyAction.objects.filter(state__in=COMMITTED_STATES)
               .filter(Q(kind__in=refund_kinds, stripe_target_id=charge_id)
                       | Q(**{f"params__{PAYING_CHARGE}": charge_id}))
               .exclude(pk=excluding).exclude(voided_credit_notes())
               .values_list("pk", "kind", "amount", "params", "state", "stripe_target_id",
                            "stripe_object_id"))
    failed = _failed_note_refunds(charge_id)
    for pk, kind, amount, params, state, target, made in actions:
        part = amount if target == charge_id else (params.get(REFUND_PART) or 0)
        yield GivenBack(action_id=pk, refund=max(part - failed.get(made, 0), 0),
                        otherwise=amount - part,
                        paid_otherwise=params.get(PAID_OTHERWISE) or 0,
                        on_the_way=state in IN_FLIGHT_STATES,
                        by_credit_note=kind not in refund_kinds)


def _failed_note_refunds(charge_id):
    """{credit note id: what its refunds of the charge that failed came to (minor units)},
    as Stripe's webhooks and the reconciler tell the ledger."""
    return dict(LedgerEntry.objects.filter(entry_type=LedgerEntry.Type.REFUND,
                                           parent_id=charge_id,
                                           status__in=("failed", "canceled"))
                .exclude(settles="").order_by().values_list("settles")
                .annotate(total=models.Sum("amount")))


def refunded_of(charge, given, *, read):
    """What has been refunded of `charge` by the console's actions `given` (`GivenBack`s)
    and by anything else, as best the console can tell, in minor units: the larger of
    `read` (what Stripe's read of the charge says was refunded, of those or more) with
    those of them not yet in it, and all that they refund. A read older than a refund
    that succeeded since does not hold it yet; a refund on its way that Stripe already
    lists (by its metadata) is in the read. Reads nothing."""
    in_stripe = {action_id_from_metadata(refund.metadata) for refund in charge.refunds
                 if refund.status in _REFUND_COUNTED}
    not_in_read = sum(each.refund for each in given
                      if each.on_the_way and each.action_id not in in_stripe)
    return max(read + not_in_read, sum(each.refund for each in given))


def refund_left_on(charge, *, excluding=None):
    """What the console may still refund of `charge` (a `types.Charge` just read, with its
    refunds), in minor units of its currency: what it captured, less what was refunded of
    it (`refunded_of`: by refunds, credit memos' refund parts and cancellations' refunds
    alike, on their way or through), less what credits on the invoice it paid give back
    otherwise (`_given_otherwise`: the console's, and Stripe's credit notes as
    `gateway.charge_to_refund` read them) beyond what the invoice was paid otherwise. 0 for
    a charge that did not succeed. `excluding`: an action left out (the one being sent or
    changed). The one answer to "how much is left to refund" for refunds, credit memos and
    cancellations: call it with the charge's target lock held
    (`services.lock_target(charge.id)`), or it may be stale at once. Reads the console's own
    rows: no network."""
    if charge.status != "succeeded":
        return 0
    given = list(given_back_on(charge.id, excluding=excluding))
    return max(charge.amount_captured - refunded_of(charge, given, read=charge.amount_refunded)
               - _given_otherwise(charge, given), 0)


def _given_otherwise(charge, given):
    """What of the invoice `charge` paid was given back other than on the card, beyond
    what the invoice was paid otherwise (minor units): Stripe's credit notes as read with
    the console's credits on their way, or all the console's credits, whichever says more.
    A console credit on its way that Stripe already holds counts twice until it is through:
    a moment's caution, never a gift."""
    credited = max(charge.invoice_credited_otherwise
                   + sum(each.otherwise for each in given if each.on_the_way),
                   sum(each.otherwise for each in given))
    paid_otherwise = max([charge.invoice_paid_otherwise,
                          *(each.paid_otherwise for each in given)])
    return max(credited - paid_otherwise, 0)


def gives_back_on_the_way(customer_id):
    """Whether any of the console's actions giving back to the Stripe customer
    `customer_id` (a refund, a credit…) is committed and not yet through Stripe. One
    query."""
    return MoneyAction.objects.filter(
        stripe_customer_id=customer_id, state__in=IN_FLIGHT_STATES,
        kind__in=slugs(family=Family.GIVES_BACK)).exists()


# The list's order, newest first: each filter has an index of its own on (filter,
# created_at, id), and the list without one reads (created_at, id), so a page walks one
# index backwards from its cursor however many actions there are (migration 0009).
LIST_ORDER = ("-created_at", "-id")


def money_actions_filtered(*, state=None, kind=None, case_id=None, customer=None,
                           requester=None, since=None, until=None):
    """The money actions matching every filter given (None: not filtered), unordered:
    `state` and `kind` (a registered slug), `case_id`, `customer` (a Stripe customer id),
    `requester` (a username), created from the day `since` to the day `until`, both
    included, in UTC. A period that ends before it starts, or a day the console cannot
    hold, is an ApplicationError naming the parameter."""
    since, until = (parse_day(day and day.isoformat(), name)
                    for day, name in ((since, "since"), (until, "until")))
    if since and until and until < since:
        raise ApplicationError("The period ends before it starts.", "until")
    conditions = {"state": state, "kind": kind, "case_id": case_id,
                  "stripe_customer_id": customer}
    actions = MoneyAction.objects.filter(**{field: value for field, value
                                            in conditions.items() if value is not None})
    if requester is not None:
        # By id, so that the requester's own index answers (a join would not).
        actions = actions.filter(requested_by_id=get_user_model().objects.filter(
            username=requester).values_list("pk", flat=True).first())
    if since:
        actions = actions.filter(created_at__gte=start_of_day(since))
    if until:
        actions = actions.filter(created_at__lt=start_of_day(until + timedelta(days=1)))
    return actions

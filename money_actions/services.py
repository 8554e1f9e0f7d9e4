"""Writes to money actions: the state machine

    draft → pending_approval → approved → submitting → succeeded | failed | requires_action
                              ↘ canceled (rejected or withdrawn before submission)

Every transition locks the row, writes its audit event and a case timeline entry in the
same transaction, and queues follow-up work on commit. Stripe is never called here: the
submission task calls it between `money_action_begin_submission` and
`money_action_record_outcome`, each its own transaction.
"""

import functools
import logging

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from audit.models import POLICY_ROLE, Source
from audit.models import Outcome as AuditOutcome
from audit.services import Origin, record
from billing_console.exceptions import ApplicationError
from billing_console.money import format_amount
from billing_console.names import in_sentence, person_name, reason_label
from billing_console.notes import check_note_length, note_ending_a_sentence
from cases.models import CaseEvent, StripeLink
from cases.models import State as CaseState
from cases.replies import hold_reply, money_facts, reply_held, reply_sent
from cases.selectors import forget_stripe_snapshot
from money_actions.kinds import Event
from money_actions.ledger import ledger_record
from money_actions.models import STATE_SAID, LedgerEntry, MoneyAction, State, TargetLock
from money_actions.policy import Verdict, needs_approval

logger = logging.getLogger(__name__)

DECIDABLE_STATES = (State.PENDING_APPROVAL,)
AMENDABLE_STATES = (State.PENDING_APPROVAL, State.APPROVED)
WITHDRAWABLE_STATES = (State.PENDING_APPROVAL, State.APPROVED)
# What Stripe may tell us about an action in each state; anything else is ignored.
OUTCOME_TRANSITIONS = {
    State.APPROVED: {State.SUCCEEDED, State.FAILED, State.REQUIRES_ACTION, State.CANCELED},
    State.SUBMITTING: {State.SUCCEEDED, State.FAILED, State.REQUIRES_ACTION, State.CANCELED},
    State.REQUIRES_ACTION: {State.SUCCEEDED, State.FAILED, State.CANCELED},
    # A refund can fail days after it succeeded (an expired card, a closed account).
    State.SUCCEEDED: {State.FAILED},
}


# Locks and totals ----------------------------------------------------------------------


def lock_target(stripe_target_id, *, customer_id=""):
    """Serialise, until the surrounding transaction ends, everyone acting on one Stripe
    object, and on its customer: the customer's total in the policy window is read by
    every action that gives back, whatever it acts on. Always the customer first, so two
    requests never wait on each other. Call it inside a transaction, before reading
    `committed_amount` or evaluating the policy."""
    for key in (f"customer:{customer_id}" if customer_id else None, stripe_target_id):
        if key:
            TargetLock.objects.get_or_create(stripe_target_id=key)
            TargetLock.objects.select_for_update().get(stripe_target_id=key)


def committed_amount(*, kind, stripe_target_id, states):
    """The amounts (minor units) of `kind` (a slug) on one Stripe object in `states`."""
    total = MoneyAction.objects.filter(kind=kind, stripe_target_id=stripe_target_id,
                                       state__in=states).aggregate(total=Sum("amount"))["total"]
    return total or 0


# Why money cannot move on a link that is not verified, and how to get it verified.
UNVERIFIED_LINK_WORDS = {
    StripeLink.UNVERIFIED: (
        "This case's Stripe customer was matched by the requester's email and "
        "nobody has confirmed it is the requester. Money cannot move until a specialist "
        "confirms it: open the case and press “Confirm this customer is the requester” in its "
        "Stripe panel."),
    StripeLink.AMBIGUOUS: (
        "Several Stripe customers share the requester's email, and money cannot move until "
        "a specialist chooses the requester's: open the case and link one in its Stripe "
        "panel."),
    StripeLink.NAMED: (
        "The Stripe customer named on the Zendesk ticket has not been verified "
        "in Stripe yet, and money cannot move until it is. Try again in a minute; if it "
        "stays so, open the case's Stripe panel."),
}


def check_customer(case, customer_id, *, noun="customer"):
    """Money moves only for the customer the case is linked to, and only on a verified
    link (named on the ticket and found in Stripe, or confirmed by a specialist); every
    money request, page and API, checks here. `noun` names what was chosen (a charge) in
    the refusal, and its code."""
    if case.stripe_link in UNVERIFIED_LINK_WORDS:
        raise ApplicationError(UNVERIFIED_LINK_WORDS[case.stripe_link],
                               "customer_unverified", status=409)
    if not case.stripe_customer_id or case.stripe_link != StripeLink.VERIFIED:
        raise ApplicationError("Link this case to the requester's Stripe customer first.",
                               "customer")
    if customer_id != case.stripe_customer_id:
        wrong, instead = ("That Stripe customer is not", "Act for the case's customer") \
            if noun == "customer" else \
            (f"That {noun} belongs to another Stripe customer than",
             f"Choose one of the case's customer's {noun}s")
        raise ApplicationError(
            f"{wrong} the one this case is linked to. {instead}, or, if the case is linked to "
            "the wrong customer, correct the link on its Stripe panel first.", noun)


def _locked(action_id):
    return MoneyAction.objects.select_for_update().select_related("case").get(pk=action_id)


# Requests and decisions ----------------------------------------------------------------


@transaction.atomic
def money_action_request(*, kind, case, stripe_customer_id, stripe_target_id, amount,
                         currency, params, reason_code, note, verdicts, actor,
                         customer_reply="", origin=None, target_name=""):
    """Record the intent: an action of `kind` (a registered `ActionKind`), `amount` in
    minor units, on the Stripe object `stripe_target_id` that people call `target_name`
    (`billing_console.names.stripe_name`). Within policy it is approved at once and queued
    for Stripe; otherwise it waits for someone other than `actor`. The caller has
    validated the amount against Stripe and holds `lock_target(stripe_target_id)`."""
    _require_note(note)
    check_note_length(customer_reply, what="A reply to the customer")
    customer_reply = _one_reply_on(case, customer_reply.strip())
    action = MoneyAction.objects.create(
        kind=kind.slug, case=case, stripe_customer_id=stripe_customer_id,
        stripe_target_id=stripe_target_id, target_name=target_name, amount=amount,
        currency=currency.lower(), params=params, reason_code=reason_code, note=note.strip(),
        requested_by=actor, customer_reply=customer_reply,
        policy_verdicts=[verdict.as_json() for verdict in verdicts], state=State.DRAFT)
    _audit(action, Event.REQUESTED, actor, reason=action.note, origin=origin)
    _route_by_policy(action, verdicts, actor, origin)
    forget_stripe_snapshot(stripe_customer_id)
    return action


def _one_reply_on(case, reply):
    """The reply a new money action on `case` holds, so that the customer gets one reply
    per case: `reply` (stripped; "" for none), which replaces the one another action of the
    case still holds. Once one has gone with its action, another is refused
    (ApplicationError `reply_already_sent`, 409), as resolving refuses it. In the
    request's transaction."""
    if not reply:
        return ""
    facts = money_facts(case, lock=True)
    sent = reply_sent(facts)
    if sent is not None:
        raise ApplicationError(
            f"The customer already has the reply sent with the {in_sentence(sent.label)}. "
            "Leave the reply to the customer empty, or write to them in Zendesk.",
            "reply_already_sent", status=409)
    held = reply_held(facts)
    if held is not None and held.reply:
        hold_reply(held, "")
    return reply


def _route_by_policy(action, verdicts, actor, origin=None):
    if needs_approval(verdicts):
        _move(action, State.PENDING_APPROVAL)
        _timeline(action, actor, f"{action.name} requested; waiting for approval.")
        _case_follows_approvals(action, f"{action.name} waits for approval")
        return
    action.approved_amount = action.amount
    _move(action, State.APPROVED)
    # The policy decided, not the requester: the event has no person as its actor, so
    # the trail never reads as someone approving their own request.
    _audit(action, Event.AUTO_APPROVED, None, actor_role=POLICY_ROLE,
           reason="Within policy: no approval needed.")
    _timeline(action, actor, f"{action.name} requested; within policy, submitting.")
    _case_follows_approvals(action, f"{action.name} is within policy now")
    _queue_submission(action)


def _refusal_of_who_asks_recorded(service):
    """`service`, with its refusal of who asks (a 403: a decision on one's own request, a
    change or withdrawal of someone else's) kept as an `access.denied` audit event, as
    every refusal is; written once the service's transaction has rolled back, so that it
    stays."""

    @functools.wraps(service)
    def run(*, action_id, actor, origin=None, **kwargs):
        try:
            return service(action_id=action_id, actor=actor, origin=origin, **kwargs)
        except ApplicationError as refusal:
            if refusal.status == 403:
                origin = origin or Origin()
                case_id, ticket_id = MoneyAction.objects.filter(pk=action_id).values_list(
                    "case_id", "case__zendesk_ticket_id").first() or (None, None)
                record(action="access.denied", actor=actor, ip=origin.ip,
                       source=origin.source, object_type="money_action", object_id=action_id,
                       case_id=case_id, zendesk_ticket_id=ticket_id, reason=refusal.message,
                       outcome=AuditOutcome.DENIED)
            raise

    return run


@_refusal_of_who_asks_recorded
@transaction.atomic
def money_action_approve(*, action_id, actor, note="", expected_amount=None, origin=None):
    """Approve what the approver saw: with `expected_amount`, an amount changed since
    (the requester may change it while it waits) is refused, not approved unseen."""
    check_note_length(note)
    action = _locked(action_id)
    _require_decidable(action, actor)
    check_customer(action.case, action.stripe_customer_id)
    if expected_amount is not None and expected_amount != action.amount:
        raise ApplicationError(
            f"The amount is now {format_amount(action.amount, action.currency)}, not what "
            "you saw; look at it again before deciding.", "amount_changed", status=409)
    action.approved_by, action.approved_amount = actor, action.amount
    action.decision_note, action.decided_at = note.strip(), timezone.now()
    _move(action, State.APPROVED)
    _audit(action, Event.APPROVED, actor, reason=action.decision_note, origin=origin)
    _timeline(action, actor, f"{action.name} approved by {person_name(actor)}.")
    _case_follows_approvals(action, f"{action.name} approved", decision=(
        f"finance approved the {in_sentence(action.name)}; it is on its way to Stripe."))
    _queue_submission(action)
    return action


@_refusal_of_who_asks_recorded
@transaction.atomic
def money_action_reject(*, action_id, actor, note, origin=None):
    action = _locked(action_id)
    _require_decidable(action, actor)
    _require_note(note)
    action.rejected_by, action.decision_note = actor, note.strip()
    action.decided_at = timezone.now()
    _move(action, State.CANCELED)
    _audit(action, Event.REJECTED, actor, reason=action.decision_note, origin=origin)
    _timeline(action, actor, f"{action.name} rejected by {person_name(actor)}: {note}")
    _case_follows_approvals(action, f"{action.name} rejected", decision=(
        f"finance rejected the {in_sentence(action.name)}: {note_ending_a_sentence(note)}"))
    return action


@_refusal_of_who_asks_recorded
@transaction.atomic
def money_action_withdraw(*, action_id, actor, note="", origin=None):
    """The requester takes a request back before it reaches Stripe (a queued submission
    then finds it canceled and does nothing)."""
    check_note_length(note)
    action = _locked(action_id)
    if action.requested_by_id != actor.pk:
        raise ApplicationError("Only the person who requested it can withdraw it.",
                               "not_requester", status=403)
    if action.state not in WITHDRAWABLE_STATES:
        raise _wrong_state(action, "withdrawn")
    _move(action, State.CANCELED)
    _audit(action, Event.CANCELED, actor, reason=note or "Withdrawn by the requester.",
           origin=origin)
    _timeline(action, actor, f"{action.name} withdrawn by {person_name(actor)}.")
    _case_follows_approvals(action, f"{action.name} withdrawn")
    return action


@_refusal_of_who_asks_recorded
@transaction.atomic
def money_action_amend(*, action_id, amount, evaluate, actor, validate, origin=None):
    """Change the amount before submission. Any approval is void: policy decides again,
    and a person must approve again when it needs one. `validate(action, amount)` checks
    the new amount, and `evaluate(action, amount)` returns the policy's verdicts on it,
    while the action's customer and target are locked."""
    action = _locked(action_id)
    if action.state not in AMENDABLE_STATES:
        raise _wrong_state(action, "changed")
    if action.requested_by_id != actor.pk:
        # Otherwise an approver could change someone's request and approve it as theirs.
        raise ApplicationError("Only the person who requested it can change the amount.",
                               "not_requester", status=403)
    lock_target(action.stripe_target_id, customer_id=action.stripe_customer_id)
    check_customer(action.case, action.stripe_customer_id)
    validate(action, amount)
    verdicts = evaluate(action, amount)
    before = action.amount
    action.amount, action.approved_by, action.approved_amount = amount, None, None
    action.policy_verdicts = [verdict.as_json() for verdict in verdicts]
    _audit(action, Event.AMENDED, actor,
           reason=f"Amount changed from {format_amount(before, action.currency)}; "
                  "any approval is void.", origin=origin)
    _route_by_policy(action, verdicts, actor, origin)
    return action


@transaction.atomic
def money_action_clear_flag(*, action_id, actor, note, origin=None):
    """Finance has looked at a flagged action and says what was done about it."""
    action = _locked(action_id)
    if not action.finance_flag or action.finance_flag_cleared_at:
        raise ApplicationError("This action is not flagged for finance.", "not_flagged",
                               status=409)
    _require_note(note)
    action.finance_flag_cleared_by, action.finance_flag_cleared_at = actor, timezone.now()
    action.save(update_fields=["finance_flag_cleared_by", "finance_flag_cleared_at",
                               "updated_at"])
    _audit(action, Event.FLAG_CLEARED, actor, reason=note, origin=origin)
    if action.state == State.SUBMITTING:
        # Stripe never saw it and it is no longer sent: close it, so it stops counting
        # against what its charge or invoice can still give.
        action.failure_reason = f"Never reached Stripe; closed by finance: {note.strip()}"
        action.settled_at = timezone.now()
        _move(action, State.FAILED)
        _audit(action, Event.FAILED, actor, reason=action.failure_reason, origin=origin,
               outcome=AuditOutcome.FAILURE)
    _timeline(action, actor, f"Finance ({person_name(actor)}) handled what was flagged "
                             f"on the {in_sentence(action.name)}: {note.strip()}")
    return action


def _require_decidable(action, actor):
    if action.state not in DECIDABLE_STATES:
        raise _wrong_state(action, "decided")
    if action.requested_by_id == actor.pk:
        raise ApplicationError("You cannot decide on your own request; someone else must.",
                               "own_request", status=403)


def _require_note(note):
    if not (note or "").strip():
        raise ApplicationError("A note is required.", "note_required")
    check_note_length(note)


# What a stale page asked that the action's state no longer allows, said after its state.
NO_LONGER = {"decided": "there is nothing left to decide",
             "withdrawn": "it can no longer be withdrawn",
             "changed": "it can no longer be changed"}


def _wrong_state(action, verb):
    """"This refund has already succeeded: there is nothing left to decide." `verb`: a key
    of `NO_LONGER`."""
    return ApplicationError(f"This {in_sentence(action.get_kind_display())} "
                            f"{STATE_SAID[action.state]}: {NO_LONGER[verb]}.",
                            "invalid_state", status=409)


# Submission and outcomes ---------------------------------------------------------------


@transaction.atomic
def money_action_begin_submission(*, action_id):
    """Mark the action as being sent to Stripe, before the call. Returns the action to
    submit (again, after a lost worker or a retry), or None when there is nothing to do."""
    action = _locked(action_id)
    if action.state == State.APPROVED:
        if action.approved_amount != action.amount:
            _send_back_for_approval(action)
            return None
        refusal = _link_refusal(action)
        if refusal:
            _back_to_a_person(action, "customer_link", refusal)
            return None
        action.submitted_at = timezone.now()
        _move(action, State.SUBMITTING)
        _audit(action, Event.SUBMITTED, None)
    elif action.state != State.SUBMITTING:
        return None
    action.submit_attempts += 1
    action.save(update_fields=["submit_attempts", "updated_at"])
    return action


@transaction.atomic
def money_action_resend(*, action_id, idle_since, reason):
    """Claim an action lost on its way to Stripe for sending again (`reason`, in words),
    when it is still `submitting` and no worker has touched it since `idle_since` (aware):
    True when the caller is to queue `submit_money_action` once this returns, committed.
    The task sends the same parameters with the same idempotency key, so Stripe acts on it
    once. Claiming touches the row, so it is not claimed again for as long."""
    action = _locked(action_id)
    if action.state != State.SUBMITTING or action.updated_at >= idle_since:
        return False  # settled, or a worker took it, since the reconciler looked
    action.save(update_fields=["updated_at"])
    _audit(action, Event.RESENT, None, reason=reason)
    return True


@transaction.atomic
def money_action_record_outcome(*, action_id, outcome, source=Source.SYSTEM,
                                learnt_from=LedgerEntry.Learnt.CONSOLE):
    """Record what Stripe said, and the Stripe money it moved in the ledger, attributed to
    the action. Repeats, and news that changes nothing, are ignored."""
    action = _locked(action_id)
    for fact in outcome.ledger:
        ledger_record(fact, learnt_from=learnt_from, action_id=action.pk)
    _remember_stripe_ids(action, outcome)
    if outcome.state not in OUTCOME_TRANSITIONS.get(action.state, ()):
        action.save(update_fields=["stripe_object_id", "stripe_request_id", "updated_at"])
        return action
    was_succeeded = action.state == State.SUCCEEDED
    action.failure_reason = outcome.failure_reason
    if outcome.state in (State.SUCCEEDED, State.FAILED, State.CANCELED):
        action.settled_at = timezone.now()
    _move(action, outcome.state)
    failed = outcome.state in (State.FAILED, State.REQUIRES_ACTION)
    _audit(action, Event(outcome.state.value), None, source=source, reason=outcome.failure_reason,
           outcome=AuditOutcome.FAILURE if failed else AuditOutcome.SUCCESS)
    _after_outcome(action, was_succeeded)
    return action


@transaction.atomic
def money_action_send_back(*, action_id, reason):
    """Stripe's state changed since the decision and what was approved can no longer be
    sent (`reason`, in words): back to a person, who changes, approves, rejects or
    withdraws it. Only for an action Stripe has not seen."""
    action = _locked(action_id)
    if action.state == State.SUBMITTING:
        _back_to_a_person(action, "stripe_changed", reason)
    return action


def _back_to_a_person(action, rule, reason):
    """Not sent, for `reason`: waiting for a decision again, with the reason as a verdict."""
    action.approved_by, action.approved_amount, action.submitted_at = None, None, None
    # Stripe never saw it: the next approval's send is a first attempt, read afresh.
    action.submit_attempts = 0
    action.policy_verdicts = [*action.policy_verdicts, Verdict(rule, True, reason).as_json()]
    _move(action, State.PENDING_APPROVAL)
    _audit(action, Event.SENT_BACK, None, reason=reason, outcome=AuditOutcome.FAILURE)
    _timeline(action, None, f"{action.name} not sent: {reason}")
    _case_follows_approvals(action, f"{action.name} waits for approval again")


@transaction.atomic
def money_action_refresh_params(*, action_id, params, why):
    """Send `params` instead of the stored ones: the same money, worked out again for the
    target as Stripe has it now (`why`, in words). Only before Stripe has seen it."""
    action = _locked(action_id)
    before = action.params
    action.params = params
    action.save(update_fields=["params", "updated_at"])
    _audit(action, Event.REFRESHED, None, reason=why)
    _timeline(action, None, f"{action.name}: {why}")
    logger.info("Refreshed %s: %s -> %s", action, before, params)
    return action


def _link_refusal(action):
    """Why the case's Stripe link no longer lets this action's money move (it was
    re-linked, or is no longer verified, since the request), or ""."""
    try:
        check_customer(action.case, action.stripe_customer_id)
    except ApplicationError as error:
        return error.message
    return ""


def _send_back_for_approval(action):
    """The amount changed behind the approval's back (no service does that): the approval
    does not cover it, so a person must look again, and the sweeper stops sending it."""
    logger.error("Refusing to submit %s: the approval covers another amount", action)
    action.approved_by, action.approved_amount = None, None
    _move(action, State.PENDING_APPROVAL)
    _audit(action, Event.APPROVAL_VOIDED, None,
           reason="The amount is not the one approved; it needs approval again.",
           outcome=AuditOutcome.FAILURE)
    _case_follows_approvals(action, f"{action.name} waits for approval again")


@transaction.atomic
def money_action_flag_for_finance(*, action_id, reason):
    """Ask finance to look at an action the system cannot settle by itself. Once only."""
    action = _locked(action_id)
    if action.finance_flag and not action.finance_flag_cleared_at:
        return action
    _raise_flag(action, reason)
    _audit(action, Event.FLAGGED, None, reason=reason, outcome=AuditOutcome.FAILURE)
    return action


def _raise_flag(action, reason):
    """A new flag shows even on an action finance cleared before."""
    action.finance_flag = reason
    action.finance_flag_cleared_by = action.finance_flag_cleared_at = None
    action.save(update_fields=["finance_flag", "finance_flag_cleared_by",
                               "finance_flag_cleared_at", "updated_at"])


def _remember_stripe_ids(action, outcome):
    action.stripe_object_id = outcome.stripe_object_id or action.stripe_object_id
    action.stripe_request_id = outcome.stripe_request_id or action.stripe_request_id


def _after_outcome(action, was_succeeded):
    from cases.services import case_transition, write_back_queue

    name = action.name
    if action.state == State.SUCCEEDED:
        _timeline(action, None, f"{name} succeeded.")
        kind = action.kind_def
        write_back_queue(action.case, note=kind.success_note(action),
                         add_tags=kind.success_tags)
        if action.customer_reply:
            write_back_queue(action.case, note=action.customer_reply, public=True)
        return
    # A reason is often a sentence of its own: one full stop ends the entry.
    reason = f": {reason_label(action.failure_reason).rstrip('.')}" if action.failure_reason \
        else ""
    _timeline(action, None, f"{name} {in_sentence(action.get_state_display())}{reason}.")
    if not was_succeeded:
        return
    # The customer was told the money was on its way, and it is not.
    _raise_flag(action, f"{name} failed after it had succeeded{reason}.")
    if action.case.state in (CaseState.RESOLVED, CaseState.CLOSED):
        # The case was likely resolved on it, and needs work again.
        case_transition(case=action.case, to_state=CaseState.IN_PROGRESS, actor=None)


def _case_follows_approvals(action, reason, decision=""):
    """The case waits on finance while any of its money actions waits for approval, and
    goes back to where it was once none does (`cases.services.case_follow_approvals`);
    its ticket hears finance's `decision`, a sentence, once, with the state it goes to."""
    from cases.services import case_follow_approvals

    waiting = MoneyAction.objects.filter(case_id=action.case_id,
                                         state=State.PENDING_APPROVAL).exists()
    case_follow_approvals(case=action.case, waiting=waiting, reason=reason, decision=decision)


def _queue_submission(action):
    from money_actions.tasks import submit_money_action

    action_id = str(action.pk)
    transaction.on_commit(lambda: submit_money_action.delay(action_id))


# State, audit and timeline -------------------------------------------------------------


def _move(action, state):
    action.state = state
    action.save()


def _snapshot(action):
    """What finance filters and reads by: the requester, the customer and what the action
    acts on, by id and by name, travel with every event, since the trail outlives the rows
    it describes."""
    return {"state": action.state, "amount": action.amount, "currency": action.currency,
            "customer": action.stripe_customer_id,
            "requested_by": action.requested_by.get_username(),
            "target": action.stripe_target_id, "target_name": action.target_name,
            "stripe_object_id": action.stripe_object_id,
            "reason_code": action.reason_code, "params": action.params,
            "approved_by": action.approved_by.get_username() if action.approved_by else None}


def _audit(action, event, actor, *, reason="", source=None, outcome=AuditOutcome.SUCCESS,
           origin=None, actor_role=""):
    """`event` is an `Event`; `origin` says where a person's request came from; without
    one, the console's own pages (an actor) or the system (none). `actor_role` names
    what acted when no person did (`POLICY_ROLE`)."""
    origin = origin or Origin(source=Source.CONSOLE if actor else Source.SYSTEM)
    record(action=action.kind_def.audit_action(event), actor=actor, actor_role=actor_role,
           ip=origin.ip, source=source or origin.source,
           object_type="money_action", object_id=action.pk, after=_snapshot(action),
           amount=action.amount, currency=action.currency, case_id=action.case_id,
           zendesk_ticket_id=action.case.zendesk_ticket_id,
           stripe_object_id=action.stripe_object_id or action.stripe_target_id,
           stripe_request_id=action.stripe_request_id, reason=reason, outcome=outcome)


def _timeline(action, actor, body):
    CaseEvent.objects.create(case=action.case, kind=CaseEvent.Kind.MONEY, actor=actor,
                             body=body, created_at=timezone.now(),
                             data={"money_action": str(action.pk), "kind": action.kind,
                                   "state": action.state})

"""Writes to cases: state, assignment, notes, category, Stripe link, resolution.

Each service locks the case, checks the rule, writes a timeline entry and an audit event
in the same transaction, and queues what Zendesk should hear as a `WriteBack` row, which
a task claims (`write_back_claim`) before it calls Zendesk.
"""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import capfirst

from audit.models import Outcome, Source
from audit.services import Origin, record
from billing_console.access import Role, roles_of
from billing_console.exceptions import ApplicationError
from billing_console.integrations import inbox
from billing_console.integrations.models import InboundEvent, SetAsideRecord
from billing_console.integrations.outbox import Outbox
from billing_console.markdown import render_markdown
from billing_console.names import in_sentence, person_name
from billing_console.notes import check_note_length
from cases.models import (
    Case,
    CaseEvent,
    Category,
    Priority,
    ResolutionCode,
    SlaTarget,
    State,
    StripeLink,
    WriteBack,
)
from cases.money_waiting import money_waiting_on, names_of, refusal
from cases.replies import hold_reply, money_facts, reply_held, reply_sent
from cases.sync import TICKET, ZENDESK

# Where a case may go from each state by hand. Resolving has its own service (it needs a
# code and a summary); a customer's reply reopens a resolved case through the sync.
TRANSITIONS = {
    State.NEW: {State.TRIAGED, State.IN_PROGRESS, State.CLOSED},
    State.TRIAGED: {State.IN_PROGRESS, State.WAITING_CUSTOMER, State.WAITING_FINANCE,
                    State.CLOSED},
    State.IN_PROGRESS: {State.WAITING_CUSTOMER, State.WAITING_FINANCE, State.TRIAGED},
    State.WAITING_CUSTOMER: {State.IN_PROGRESS},
    State.WAITING_FINANCE: {State.IN_PROGRESS},
    State.RESOLVED: {State.CLOSED, State.IN_PROGRESS},
    State.CLOSED: {State.IN_PROGRESS},
}

# Tags the console sets on the Zendesk ticket, one per state, so Zendesk views can follow
# the case (`state_tags`).
STATE_TAGS = {state: f"billing_console_{state.value}" for state in State}
# How the console signs what it tells a ticket's agents.
NOTE_BY = "Billing Console:"

# The Zendesk status each console state implies for the ticket. Every state a case can
# leave "waiting on finance" for has one, so the ticket never keeps "hold" after it (Zendesk
# takes no ticket back to "new": a new or triaged case's ticket is open). Closing a case
# leaves the ticket's status to Zendesk.
ZENDESK_STATUS = {
    State.NEW: "open",
    State.TRIAGED: "open",
    State.IN_PROGRESS: "open",
    State.WAITING_CUSTOMER: "pending",
    State.WAITING_FINANCE: "hold",
    State.RESOLVED: "solved",
}


def state_tags(state):
    """(tags to add, tags to remove) for the ticket of a case now in `state`: its state's
    tag on and every other state's off, so the ticket carries one, and whatever else it is
    tagged with stays."""
    return [STATE_TAGS[state]], [tag for other, tag in STATE_TAGS.items() if other != state]


def sla_deadlines(priority, opened_at):
    """(first response due, resolution due) for a case of this priority opened then."""
    target = SlaTarget.objects.filter(priority=priority).first()
    if target is None:
        return None, None
    return (opened_at + timedelta(hours=target.first_response_hours),
            opened_at + timedelta(hours=target.resolution_hours))


def _locked(case):
    return Case.objects.select_for_update().get(pk=case.pk)


def _event(case, kind, actor, body="", **data):
    return CaseEvent.objects.create(case=case, kind=kind, actor=actor, body=body,
                                    created_at=timezone.now(), data=data)


def _audit(case, action, actor, *, before=None, after=None, reason="", origin=None):
    """`origin` says where a person's request came from (a page, the API); without one,
    the console's pages (an actor) or the console itself (none: following a money action,
    a task)."""
    origin = origin or Origin(source=Source.SYSTEM if actor is None else Source.CONSOLE)
    record(action=action, actor=actor, source=origin.source, ip=origin.ip,
           object_type="case", object_id=case.pk, case_id=case.pk,
           zendesk_ticket_id=case.zendesk_ticket_id, before=before, after=after, reason=reason)


def write_back_queue(case, *, note="", public=False, add_tags=(), remove_tags=(),
                     zendesk_status="", markdown=False):
    """Keep what Zendesk should hear; a task sends it once the transaction commits. A note
    written in Markdown in the console (`markdown=True`) reaches Zendesk as sanitised HTML
    (`html_body`), the same HTML the console shows. Tags are added and removed, never
    replaced, so the ticket keeps the tags others set."""
    from cases.tasks import send_write_back

    note_html = str(render_markdown(note)) if markdown and note else ""
    write_back = WriteBack.objects.create(case=case, note=note, note_html=note_html,
                                          public=public, add_tags=list(add_tags),
                                          remove_tags=list(remove_tags),
                                          zendesk_status=zendesk_status)
    transaction.on_commit(lambda: send_write_back.delay(write_back.pk))
    return write_back


# Zendesk answers a ticket update within its 20 s timeout; a claim older than this was
# left by a lost worker. The comment it carried may have landed: the next attempt looks
# for it on the ticket before sending it again (`cases.tasks`).
WRITE_BACK_CLAIM_TIMEOUT = timedelta(minutes=5)
WRITE_BACKS = Outbox(
    model=WriteBack,
    claimed=WriteBack.Status.SENDING,
    claim_timeout=WRITE_BACK_CLAIM_TIMEOUT,
    ready=lambda now: Q(status__in=[WriteBack.Status.PENDING, WriteBack.Status.FAILED]),
)


def write_back_claim(*, write_back_id):
    """Claim a write-back for sending (the one outbox rule): returns it, marked `sending`
    with the attempt counted, or None when it is sent, gone, or another worker is sending
    it now."""
    return WRITE_BACKS.claim(write_back_id)


def write_back_record_sent(*, write_back):
    """Zendesk took it. False when this worker's claim had expired and another took over."""
    sent_at = timezone.now()
    settled = WRITE_BACKS.settle(write_back, status=WriteBack.Status.SENT, sent_at=sent_at,
                                 last_error="")
    if settled:
        _first_response_if_public(write_back, sent_at)
    return settled


def _first_response_if_public(write_back, at):
    """The SLA's first response is the first public reply the customer got: a reply Zendesk
    took (on the ticket, or on the ticket that carried it). A state change, an internal note
    or a resolution tells the customer nothing, and does not count."""
    if write_back.public:
        Case.objects.filter(pk=write_back.case_id, first_responded_at__isnull=True) \
            .update(first_responded_at=at)


def write_back_record_failure(*, write_back, error):
    """Zendesk refused it or could not be reached; it stays to be sent again."""
    return WRITE_BACKS.settle(write_back, status=WriteBack.Status.FAILED,
                              last_error=f"{type(error).__name__}: {error}"[:2000])


def write_back_in_words(write_back):
    """What a write-back tells Zendesk, in a line: its note, else its status and tags."""
    if write_back.note:
        kind = "public reply" if write_back.public else "internal note"
        return f"{kind}: {write_back.note}"
    changes = [f"status {write_back.zendesk_status}"] if write_back.zendesk_status else []
    if write_back.add_tags:
        changes.append("tags " + ", ".join(write_back.add_tags))
    return ", ".join(changes) or "an empty update"


@transaction.atomic
def write_back_record_followed_up(*, write_back, follow_up_ticket_id):
    """Its ticket was closed, and ticket `follow_up_ticket_id` carried it instead (the one
    it was merged into, or a follow-up).
    False, changing nothing, when this worker's claim had expired."""
    case = _locked(write_back.case)
    sent_at = timezone.now()
    if not WRITE_BACKS.settle(write_back, status=WriteBack.Status.FOLLOWED_UP,
                              follow_up_ticket_id=follow_up_ticket_id,
                              sent_at=sent_at, last_error=""):
        return False
    _first_response_if_public(write_back, sent_at)
    kind = "public reply" if write_back.public else "internal note"
    carried = f"to ticket #{follow_up_ticket_id}, which it was merged into" \
        if follow_up_ticket_id == case.merged_into_ticket_id \
        else f"out as follow-up ticket #{follow_up_ticket_id}"
    body = (f"Zendesk ticket #{case.zendesk_ticket_id} is closed: the {kind} went "
            f"{carried} instead")
    _event(case, CaseEvent.Kind.SYNC, None, body, write_back=write_back.pk,
           follow_up_ticket=follow_up_ticket_id, link="write_back_follow_up")
    record(action="case.write_back_followed_up", source=Source.SYSTEM, object_type="case",
           object_id=case.pk, case_id=case.pk, zendesk_ticket_id=case.zendesk_ticket_id,
           after={"write_back": write_back.pk, "follow_up_ticket_id": follow_up_ticket_id},
           reason=body)
    return True


@transaction.atomic
def write_back_record_undeliverable(*, write_back, error):
    """Its ticket is closed and no follow-up could carry it: not retried, and the case
    says what Zendesk did not get. False, changing nothing, when the claim had expired."""
    case = _locked(write_back.case)
    if not WRITE_BACKS.settle(write_back, status=WriteBack.Status.UNDELIVERABLE,
                              last_error=f"{type(error).__name__}: {error}"[:2000]):
        return False
    line = (f"Not delivered to Zendesk ticket #{case.zendesk_ticket_id}, which is closed "
            f"({timezone.now():%Y-%m-%d %H:%M} UTC): {write_back_in_words(write_back)}")
    case.undelivered = "\n".join(filter(None, [case.undelivered, line]))
    case.save(update_fields=["undelivered", "updated_at"])
    _event(case, CaseEvent.Kind.SYNC, None, line, write_back=write_back.pk,
           error=str(error)[:500])
    record(action="case.write_back_undeliverable", source=Source.SYSTEM, object_type="case",
           object_id=case.pk, case_id=case.pk, zendesk_ticket_id=case.zendesk_ticket_id,
           after={"write_back": write_back.pk}, reason=line, outcome=Outcome.FAILURE)
    return True


@transaction.atomic
def case_transition(*, case, to_state, actor, origin=None):
    """Move a case by hand (or by the console, `actor` None) along `TRANSITIONS`.
    ApplicationError: `resolution_required` (400) for "resolved", `invalid_transition` and
    `money_waiting` (409) for a move the case's state or its money does not allow."""
    case = _locked(case)
    to_state = State(to_state)
    if to_state == State.RESOLVED:
        raise ApplicationError("Resolve a case with a resolution code and a summary.",
                               "resolution_required")
    if to_state not in TRANSITIONS[State(case.state)]:
        raise ApplicationError(
            f"A case that is {in_sentence(case.get_state_display())} cannot move to "
            f"{in_sentence(to_state.label)}.", "invalid_transition", status=409)
    _check_money_allows(case, to_state)
    return _change_state(case, to_state, actor, origin=origin)


def _check_money_allows(case, to_state):
    """Money on its way holds the locked case: it is not resolved or closed while a money
    action on it waits for finance or for Stripe (the money would move on a finished
    case), nor taken off "waiting on finance" while finance has yet to decide (following
    approvals moves it on once they are decided). ApplicationError `money_waiting` (409)
    names what waits and says what to do."""
    if to_state in (State.RESOLVED, State.CLOSED):
        held_by = money_waiting_on(case)
        to_do = f"{'resolve' if to_state == State.RESOLVED else 'close'} the case"
    elif case.state == State.WAITING_FINANCE:
        held_by = [item for item in money_waiting_on(case) if item.for_finance]
        to_do = f"move the case to {in_sentence(to_state.label)}"
    else:
        return
    if held_by:
        raise ApplicationError(refusal(held_by, to_do), "money_waiting", status=409)


def _change_state(case, to_state, actor, reason="", *, origin=None, told="", **data):
    """Move the locked case to `to_state`, with its timeline entry (`data` added to the
    entry's), its audit event and what Zendesk hears: a note, the ticket's status and the
    state's tag. `told`, a sentence the ticket's agents read first, shares the note."""
    before = case.state
    case.state = to_state
    case.save(update_fields=["state", "updated_at"])
    body = f"{State(before).label} → {to_state.label}" + (f": {reason}" if reason else "")
    _event(case, CaseEvent.Kind.STATE, actor, body, before=before, after=to_state.value,
           **data)
    _audit(case, "case.state_changed", actor, before={"state": before},
           after={"state": to_state.value}, reason=reason, origin=origin)
    add_tags, remove_tags = state_tags(to_state)
    write_back_queue(case, note=_state_note(case, to_state, told), add_tags=add_tags,
                     remove_tags=remove_tags, zendesk_status=ZENDESK_STATUS.get(to_state, ""))
    return case


def _state_note(case, state, told=""):
    """What the ticket's agents read of the case's new state, as a sentence: "Billing
    Console: this case is in progress."; waiting on finance names what finance decides:
    "Billing Console: this case is waiting on finance's approval of a refund of 1,188.00
    USD." After `told`, a sentence of its own: "Billing Console: finance rejected the
    refund of 30.00 USD: paid back in March already. This case is new." """
    words = f"this case is {in_sentence(state.label)}."
    if state == State.WAITING_FINANCE:
        waiting = [item for item in money_waiting_on(case) if item.for_finance]
        if waiting:
            words = f"this case is waiting on finance's approval of {names_of(waiting)}."
    return f"{NOTE_BY} {told} {capfirst(words)}" if told else f"{NOTE_BY} {words}"


# The states a case leaves for "waiting on finance" when one of its money actions needs
# approval, and goes back to once finance has decided.
WORKING_STATES = (State.NEW, State.TRIAGED, State.IN_PROGRESS, State.WAITING_CUSTOMER)


@transaction.atomic
def case_follow_approvals(*, case, waiting, reason, decision=""):
    """Keep a case in step with its money actions' approvals: while one waits for approval
    (`waiting`), a case in a working state waits on finance; once none does, a case the
    approvals put there goes back to the state it was in. A case resolved, closed, or moved
    by hand meanwhile is left as it is. `reason`, in words, is the timeline's and the
    audit trail's. `decision` is finance's decision as the ticket's agents read it, a
    sentence ("finance rejected the refund of 30.00 USD: paid back in March already."): one
    internal note carries it, with the state the case goes to, or alone when the case
    stays. Returns the case."""
    case = _locked(case)
    if waiting and case.state in WORKING_STATES:
        return _change_state(case, State.WAITING_FINANCE, None, reason, told=decision,
                             for_approval=True)
    if not waiting and case.state == State.WAITING_FINANCE:
        back_to = _state_before_approval(case)
        if back_to is not None:
            return _change_state(case, back_to, None, reason, told=decision)
    if decision:
        write_back_queue(case, note=f"{NOTE_BY} {decision}")
    return case


def _state_before_approval(case):
    """The state the case was in before an approval made it wait on finance; None when a
    person, not an approval, put it there last."""
    entry = (CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.STATE,
                                      data__after=State.WAITING_FINANCE.value)
             .order_by("-created_at", "-id").values_list("data", flat=True).first())
    if not entry or not entry.get("for_approval"):
        return None
    return State(entry["before"])


@transaction.atomic
def case_assign(*, case_ids, assignee, actor, origin=None):
    """Assign several cases at once (the queue's bulk action); None unassigns. Only an
    active billing specialist can be an assignee (ApplicationError `not_a_specialist`)."""
    if assignee is not None and not _is_specialist(assignee):
        raise _not_a_specialist()
    cases = list(Case.objects.select_for_update().filter(pk__in=case_ids).order_by("pk"))
    if len(cases) != len(set(case_ids)):
        raise ApplicationError("Some of those cases no longer exist.", "not_found",
                               status=404)
    for case in cases:
        before = case.assignee_id
        if before == (assignee.pk if assignee else None):
            continue
        case.assignee = assignee
        if case.state == State.NEW and assignee is not None:
            case.state = State.TRIAGED
        case.save(update_fields=["assignee", "state", "updated_at"])
        name = person_name(assignee) if assignee else "nobody"
        _event(case, CaseEvent.Kind.ASSIGNMENT, actor, f"Assigned to {name}",
               before=before, after=assignee.pk if assignee else None)
        _audit(case, "case.assigned", actor, before={"assignee": before},
               after={"assignee": assignee.pk if assignee else None}, origin=origin)
    return cases


def assignee_named(username):
    """The active billing specialist whose username is `username`, to assign cases to;
    ApplicationError `not_a_specialist` for anyone else, or no one."""
    user = get_user_model().objects.filter(username=username).first()
    if user is None or not _is_specialist(user):
        raise _not_a_specialist()
    return user


def _is_specialist(user):
    return user.is_active and Role.SPECIALIST in roles_of(user)


def _not_a_specialist():
    return ApplicationError("Cases can be assigned to billing specialists only.",
                            "not_a_specialist")


@transaction.atomic
def case_add_note(*, case, body, actor, post_to_zendesk=False, origin=None):
    body = (body or "").strip()
    if not body:
        raise ApplicationError("Write the note before saving it.", "empty_note")
    check_note_length(body)
    case = _locked(case)
    event = _event(case, CaseEvent.Kind.NOTE, actor, body, posted_to_zendesk=post_to_zendesk)
    _audit(case, "case.note_added", actor, after={"posted_to_zendesk": post_to_zendesk},
           origin=origin)
    if post_to_zendesk:
        write_back_queue(case, note=body, markdown=True)
    return event


@transaction.atomic
def case_set_category(*, case, category, actor, origin=None):
    case = _locked(case)
    category = Category(category)
    before = case.category
    case.category = category
    case.category_set_by_staff = True
    case.save(update_fields=["category", "category_set_by_staff", "updated_at"])
    _event(case, CaseEvent.Kind.STATE, actor, f"Category set to {category.label}",
           before=before, after=category.value)
    _audit(case, "case.category_changed", actor, before={"category": before},
           after={"category": category.value}, origin=origin)
    return case


@transaction.atomic
def case_set_priority(*, case, priority, actor, origin=None):
    case = _locked(case)
    priority = Priority(priority)
    before = case.priority
    case.priority = priority
    opened_at = case.zendesk_created_at or case.created_at
    case.first_response_due, case.resolution_due = sla_deadlines(priority, opened_at)
    case.save(update_fields=["priority", "first_response_due", "resolution_due", "updated_at"])
    _event(case, CaseEvent.Kind.STATE, actor, f"Priority set to {priority.label}",
           before=before, after=priority.value)
    _audit(case, "case.priority_changed", actor, before={"priority": before},
           after={"priority": priority.value}, origin=origin)
    return case


@transaction.atomic
def case_confirm_stripe_customer(*, case, customer_id, actor, origin=None):
    """A specialist confirms which Stripe customer the requester is."""
    case = _locked(case)
    candidates = {c["id"] for c in case.stripe_candidates}
    if customer_id != case.stripe_customer_id and customer_id not in candidates:
        raise ApplicationError("Pick one of the Stripe customers matched for this case.",
                               "unknown_customer")
    before = {"customer": case.stripe_customer_id, "link": case.stripe_link}
    case.stripe_customer_id = customer_id
    case.stripe_link = StripeLink.VERIFIED
    case.save(update_fields=["stripe_customer_id", "stripe_link", "updated_at"])
    _event(case, CaseEvent.Kind.LINK, actor, f"Stripe customer {customer_id} confirmed",
           customer=customer_id)
    _audit(case, "case.stripe_customer_confirmed", actor, before=before,
           after={"customer": customer_id, "link": StripeLink.VERIFIED}, origin=origin)
    return case


@transaction.atomic
def case_resolve(*, case, code, summary, actor, public_reply="", origin=None):
    """Resolve the case with a resolution code and a summary (and a public reply to the
    customer, if given). ApplicationError: 400 for a missing or too long code, summary or
    reply; 409 `already_resolved`, and `money_waiting` while a money action on the case
    waits for finance or for Stripe."""
    summary = (summary or "").strip()
    if code not in ResolutionCode.values:
        raise ApplicationError("Choose a resolution code.", "resolution_code")
    if not summary:
        raise ApplicationError("Write a summary of the resolution.", "resolution_summary")
    check_note_length(summary, what="A summary")
    check_note_length(public_reply, what="A reply to the customer")
    # Money actions are locked before their case, as their own services lock them.
    money = money_facts(case, lock=True)
    case = _locked(case)
    if case.state in (State.RESOLVED, State.CLOSED):
        raise ApplicationError("This case is already resolved.", "already_resolved",
                               status=409)
    _check_money_allows(case, State.RESOLVED)
    before = case.state
    case.state = State.RESOLVED
    case.resolution_code = code
    case.resolution_summary = summary
    case.resolved_at = timezone.now()
    case.save(update_fields=["state", "resolution_code", "resolution_summary", "resolved_at",
                             "updated_at"])
    label = ResolutionCode(code).label
    _event(case, CaseEvent.Kind.STATE, actor, f"Resolved: {label}. {summary}",
           before=before, after=State.RESOLVED.value, code=code)
    _audit(case, "case.resolved", actor, before={"state": before},
           after={"state": State.RESOLVED.value, "code": code}, reason=summary,
           origin=origin)
    add_tags, remove_tags = state_tags(State.RESOLVED)
    write_back_queue(case, note=f"{NOTE_BY} this case is resolved ({in_sentence(label)}). "
                                f"{summary}",
                     add_tags=add_tags, remove_tags=remove_tags,
                     zendesk_status=ZENDESK_STATUS[State.RESOLVED])
    _reply_once(case, money, public_reply.strip())
    return case


def _reply_once(case, money, reply):
    """Send the resolution's public `reply` (none when blank) so that the customer gets one
    reply: while a money action on the case (of `money`, its `money_facts`) is still on its
    way, the reply replaces the one it holds and goes once it succeeds; once one has gone
    with its action, that same reply is not sent again (the form showed it while it
    waited) and another is refused (ApplicationError `reply_already_sent`, 409)."""
    if not reply:
        return
    held, sent = reply_held(money), reply_sent(money)
    if held is not None:
        hold_reply(held, reply)
    elif sent is not None and reply == sent.reply:
        return
    elif sent is not None:
        raise ApplicationError(
            f"The customer already has the reply sent with the {in_sentence(sent.label)}. "
            "Leave the public reply empty, or write to them in Zendesk.",
            "reply_already_sent", status=409)
    else:
        write_back_queue(case, note=reply, public=True)


# --- Webhook events that gave up (the integrations page) ----------------------------------


@transaction.atomic
def inbound_event_retry(*, event_id, actor, origin=None):
    """An admin sends a webhook event that gave up through its handlers again, now. Raises
    ApplicationError (409) when it no longer waits for that (retried already, or gone).
    `origin` says where the request came from (the pages unless given)."""
    event = inbox.retry_now(event_id)
    if event is None:
        raise ApplicationError("That event is no longer waiting for a retry.",
                               "event_not_given_up", status=409)
    origin = origin or Origin()
    record(action="integrations.inbound_event_retried", actor=actor, ip=origin.ip,
           source=origin.source, object_type="inbound_event", object_id=event.pk,
           before={"source": event.source, "event_type": event.event_type,
                   "event_id": event.event_id, "status": InboundEvent.Status.GAVE_UP.value,
                   "attempts": event.attempts, "last_error": event.last_error},
           after={"status": event.status})
    return event


@transaction.atomic
def set_aside_ticket_retry(*, ticket_id, actor, origin=None):
    """An admin has a Zendesk ticket that was set aside fetched and stored again: a task,
    queued on commit, refreshes it (`sync.refresh_ticket`); stored, it leaves the list,
    refused again, it stays with the new reason. Raises ApplicationError (409) when the
    ticket is no longer set aside. `origin` says where the request came from (the pages
    unless given)."""
    held = SetAsideRecord.objects.select_for_update().filter(
        source=ZENDESK, kind=TICKET, external_id=str(ticket_id)).first()
    if ticket_id is None or held is None:
        raise ApplicationError("That ticket is no longer set aside.", "not_set_aside",
                               status=409)
    origin = origin or Origin()
    record(action="integrations.set_aside_retried", actor=actor, ip=origin.ip,
           source=origin.source, object_type="zendesk_ticket", object_id=ticket_id,
           zendesk_ticket_id=ticket_id,
           before={"reason": held.reason, "times": held.times})
    transaction.on_commit(lambda: _queue_refresh(ticket_id))
    return held


def _queue_refresh(ticket_id):
    from cases.tasks import refresh_zendesk_ticket

    refresh_zendesk_ticket.delay(ticket_id)

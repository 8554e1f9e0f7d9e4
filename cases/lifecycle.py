"""A case's life as its Zendesk ticket leads it: the rules in one place.

The sync (`cases.sync`) asks here what a ticket's change does to its case; it writes the
cases, and every state change it makes is an audit event from source "system".

- A ticket first seen closed or solved becomes a closed or resolved case: it does not land
  in the queue as new work.
- A ticket closed in Zendesk closes its case. A ticket closed by merging it into another
  (closed, tagged `closed_by_merge`) closes its case as "merged into" the target: the merge
  note on the ticket names the target, and the case links to the target's case. Zendesk
  lets nothing change a closed ticket, so such a case never reopens from Zendesk.
- A follow-up ticket (`via.source.rel` is `follow_up`) of a ticket with a case is linked
  to that case, and becomes a case even when the intake rule would not take it: it carries
  on a case the console already worked.
- The customer's reply reopens: Zendesk opens a pending or solved ticket again when its
  requester replies, so the case follows its ticket back to `open` (or `new`): a resolved
  case, a case closed by hand after its ticket was solved, and a case waiting on the
  customer all go back to in progress. The console's own write-backs set `solved`,
  `pending` or `hold`, which never reopen anything.
- A write-back to a closed ticket is never retried: Zendesk refuses every update to a
  closed ticket. It goes out as a follow-up ticket carrying the note instead, or, when that
  fails too, the case says what Zendesk did not get (`cases.services`).
"""

import re

from django.utils import timezone

from audit.models import Source
from audit.services import record
from billing_console.integrations.zendesk.types import MERGE_TAG
from cases.models import Case, CaseEvent, State

REOPENING_STATUSES = ("new", "open")
# A merge note names its target ticket: Zendesk's own ("merged into request #123") and the
# console's.
MERGE_TARGET = re.compile(r"merged into (?:request|ticket) #(\d+)", re.IGNORECASE)


def is_merged(ticket_status, tags):
    return ticket_status == "closed" and MERGE_TAG in (tags or ())


def first_values(ticket):
    """The state of a case made now for this ticket, and the ticket it follows up."""
    values = {"follow_up_of_ticket_id": ticket.follow_up_of}
    if ticket.status == "closed":
        return {**values, "state": State.CLOSED, "resolved_at": ticket.updated_at}
    if ticket.status == "solved":
        return {**values, "state": State.RESOLVED, "resolved_at": ticket.updated_at}
    return {**values, "state": State.NEW, "resolved_at": None}


def state_values(ticket, before):
    """The case's state (and `resolved_at`) once it has taken this change of its ticket;
    `before` is what the case was, or None for a new case."""
    if before is None:
        return first_values(ticket)
    kept = {"state": before["state"], "resolved_at": before["resolved_at"]}
    if ticket.status == "closed":
        if before["state"] == State.CLOSED:
            return kept
        return {"state": State.CLOSED,
                "resolved_at": before["resolved_at"] or ticket.updated_at or timezone.now()}
    if _customer_replied(ticket.status, before):
        resolved = before["state"] in (State.RESOLVED, State.CLOSED)
        return {"state": State.IN_PROGRESS,
                "resolved_at": None if resolved else before["resolved_at"]}
    return kept


def _customer_replied(status, before):
    """The ticket went back to new or open the way Zendesk reopens it for the requester."""
    if status not in REOPENING_STATUSES:
        return False
    was = before["zendesk_status"]
    if before["state"] == State.RESOLVED:
        return was not in REOPENING_STATUSES
    if before["state"] == State.CLOSED:
        # Closed by hand after the ticket was solved; a ticket the console closed while
        # Zendesk still worked it does not come back into the queue.
        return was == "solved"
    if before["state"] == State.WAITING_CUSTOMER:
        return was == "pending"
    return False


def change_reason(before, values):
    """The timeline's (and the audit event's) words for a state change the sync makes."""
    if values["state"] == State.CLOSED:
        if is_merged(values["zendesk_status"], values["tags"]):
            return "The Zendesk ticket was merged into another ticket; the case is closed."
        return "The Zendesk ticket was closed; the case is closed."
    if before["state"] == State.WAITING_CUSTOMER:
        return (f"The customer replied: the ticket went back to {values['zendesk_status']} "
                "in Zendesk")
    return (f"Reopened: the ticket went back to {values['zendesk_status']} in Zendesk "
            "(the customer replied)")


def count_change(outcome, before, values):
    """Count a state change the sync made as a reopening or a closing."""
    if values["state"] == before["state"]:
        return
    if values["state"] == State.CLOSED:
        outcome.closed += 1
    else:
        outcome.reopened += 1


def wants_comments(before, values):
    """A case just merged learns its target from the merge note, among the comments."""
    return (before is not None and values["state"] == State.CLOSED
            and before["state"] != State.CLOSED
            and is_merged(values["zendesk_status"], values["tags"]))


# The console's own follow-ups of closed tickets, which carry a note Zendesk would not take
# on the closed ticket: the note is the console's, not new work, so no case is made of it.
FOLLOW_UP_TAG = "billing_console_follow_up"
# Said after a linked ticket that has a case too: the ticket number is the case's name.
IN_THE_CONSOLE = ", a case here too"


def is_consoles_follow_up(ticket):
    return FOLLOW_UP_TAG in (ticket.tags or ())


def followed_up_tickets(tickets):
    """Of the tickets these follow up, those with a case: their follow-ups are cases too."""
    origins = {ticket.follow_up_of for ticket in tickets if ticket.follow_up_of}
    if not origins:
        return set()
    return set(Case.objects.filter(zendesk_ticket_id__in=origins)
               .values_list("zendesk_ticket_id", flat=True))


def link_follow_ups(ticket_ids):
    """New cases of follow-up tickets (call it once, as they are created): a timeline entry
    on each and on the case it follows up."""
    cases = list(Case.objects.filter(zendesk_ticket_id__in=ticket_ids,
                                     follow_up_of_ticket_id__isnull=False)
                 .only("pk", "zendesk_ticket_id", "follow_up_of_ticket_id"))
    if not cases:
        return
    origins = dict(Case.objects.filter(
        zendesk_ticket_id__in=[case.follow_up_of_ticket_id for case in cases])
        .values_list("zendesk_ticket_id", "pk"))
    now, events = timezone.now(), []
    for case in cases:
        origin_id = origins.get(case.follow_up_of_ticket_id)
        of_case = IN_THE_CONSOLE if origin_id else ""
        events.append(CaseEvent(
            case_id=case.pk, kind=CaseEvent.Kind.SYNC, created_at=now,
            body=f"Follow-up of Zendesk ticket #{case.follow_up_of_ticket_id}{of_case}",
            data={"link": "follow_up", "ticket": case.follow_up_of_ticket_id,
                  "case": origin_id}))
        if origin_id:
            events.append(CaseEvent(
                case_id=origin_id, kind=CaseEvent.Kind.SYNC, created_at=now,
                body=f"Zendesk ticket #{case.zendesk_ticket_id} follows this one up"
                     f"{IN_THE_CONSOLE}",
                data={"link": "followed_up_by", "ticket": case.zendesk_ticket_id,
                      "case": case.pk}))
    CaseEvent.objects.bulk_create(events)


def merge_target(comments):
    """The ticket a merge note names, from the newest note that names one."""
    for comment in reversed(comments):
        match = MERGE_TARGET.search(comment.body or "")
        if match:
            return int(match.group(1))
    return None


def record_merge_target(case, comments):
    """A merged case learns which ticket it was merged into, from the merge note: the case
    links to it, with a timeline entry and an audit event, once. Runs in the caller's
    transaction, with the case locked."""
    if not is_merged(case.zendesk_status, case.tags) or case.merged_into_ticket_id:
        return case
    target = merge_target(comments)
    if target is None or target == case.zendesk_ticket_id:
        return case
    case = Case.objects.select_for_update().get(pk=case.pk)
    if case.merged_into_ticket_id:
        return case
    case.merged_into_ticket_id = target
    case.save(update_fields=["merged_into_ticket_id", "updated_at"])
    target_case = Case.objects.filter(zendesk_ticket_id=target).values_list("pk", flat=True)
    target_case_id = target_case.first()
    of_case = IN_THE_CONSOLE if target_case_id else ""
    body = f"Merged into Zendesk ticket #{target}{of_case}"
    CaseEvent.objects.create(case=case, kind=CaseEvent.Kind.SYNC, created_at=timezone.now(),
                             body=body, data={"link": "merged_into", "ticket": target,
                                              "case": target_case_id})
    record(action="case.merged", source=Source.SYSTEM, object_type="case", object_id=case.pk,
           case_id=case.pk, zendesk_ticket_id=case.zendesk_ticket_id,
           before={"merged_into_ticket_id": None},
           after={"merged_into_ticket_id": target}, reason=body)
    return case

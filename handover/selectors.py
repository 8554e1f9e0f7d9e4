"""What a shift hands over: what changed since a moment, and what waits now.

Each list is one query that an index answers, newest (or most urgent) first, cut at
`LIST_SIZE` rows; one row more is read to say whether there are more than shown.

- cases opened since: `Case.created_at`;
- cases reopened, and money actions approved, rejected or failed, since: the audit trail
  from the first event at or after the moment (`audit.filters.first_id_at`), by its
  (action, id) indexes;
- money actions stuck on their way to Stripe now (`money_actions.selectors
  .stuck_on_the_way`): (state, submitted_at) and (state, updated_at);
- cases waiting on finance now: (state, resolution_due, id);
- open cases whose resolution falls due in the next `SLA_HORIZON`: the queue's index of
  open cases by due time;
- Tier 2's questions answered since, and those waiting now: (answered_at, created_at);
- finance flags: reconciliation differences nobody has explained yet, and the latest check
  of the audit chain (a break is raised);
- the handover notes left since: `HandoverNote.created_at`.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from audit.filters import first_id_at
from audit.models import AuditEvent
from audit.selectors import latest_verification
from audit.words import role_names
from billing_console.exceptions import ApplicationError
from billing_console.names import CONSOLE_NAME, action_label, person_name
from cases.models import OPEN_CASE, Case, State
from finance.reconciliation import unexplained_differences
from guidance.models import Question
from guidance.selectors import open_questions
from handover.models import HandoverNote
from money_actions.kinds import Event, all_kinds
from money_actions.selectors import action_names, stuck_actions, stuck_on_the_way

LIST_SIZE = 20
# Three shifts a day: with no earlier shift of the person's to start from, one shift back.
SHIFT = timedelta(hours=8)
# The furthest back the page looks, whether the moment is worked out or chosen.
FURTHEST_BACK = timedelta(days=7)
# Cases whose resolution falls due this soon are handed over as about to breach their SLA.
SLA_HORIZON = timedelta(hours=4)

SIGN_IN = "auth.login"
STATE_CHANGED = "case.state_changed"
DONE_STATES = [State.RESOLVED, State.CLOSED]
# The money actions' audit events a shift hands over, said as the audit trail says them
# (`billing_console.names.action_label`: "Refund approved by the policy").
OUTCOMES = (Event.APPROVED, Event.AUTO_APPROVED, Event.REJECTED, Event.FAILED)


@dataclass(frozen=True)
class Since:
    """The moment the page starts from (aware, UTC), and why that one, in words."""

    at: datetime
    why: str


def last_shift_end(user):
    """When `user`'s last shift ended: the time of the last thing the audit trail records
    them doing (signing out, leaving a handover note, asking for a refund, …) before their
    latest sign-in. None when the trail has nothing of theirs before it (their first
    sign-in, or none recorded). Two lookups in the (actor_username, id) index."""
    theirs = AuditEvent.objects.filter(actor_username=user.get_username())
    sign_in = (theirs.filter(action=SIGN_IN).order_by("-id")
               .values_list("id", flat=True).first())
    if sign_in is None:
        return None
    return (theirs.filter(id__lt=sign_in).order_by("-id")
            .values_list("created_at", flat=True).first())


def shift_since(user, *, now):
    """Where `user`'s handover starts when they choose no time: the end of their last shift
    (`last_shift_end`), at most `FURTHEST_BACK` ago; without one, one `SHIFT` ago."""
    end = last_shift_end(user)
    if end is None:
        return Since(now - SHIFT, "8 hours ago, one shift: the console has nothing of yours "
                                  "from before this sign-in")
    if end < now - FURTHEST_BACK:
        return Since(now - FURTHEST_BACK, "7 days ago, the furthest back this page looks "
                                          "(your last shift ended before that)")
    return Since(end, "the end of your last shift: the last thing you did in the console "
                      "before you signed in this time")


def chosen_since(at, *, now):
    """The `Since` of a moment a person chose (aware), or an ApplicationError (code
    "since") when it is still to come or more than `FURTHEST_BACK` ago."""
    shown = f"{at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
    if at > now:
        raise ApplicationError(f"{shown} is still to come; choose a time before now.",
                               "since")
    if at < now - FURTHEST_BACK:
        raise ApplicationError(f"{shown} is more than 7 days ago; the handover looks back "
                               "at most 7 days.", "since")
    return Since(at, "the time you chose")


@dataclass(frozen=True)
class Listing:
    """At most `LIST_SIZE` rows, and whether more than those match."""

    rows: list
    more: bool


@dataclass(frozen=True)
class ActionOutcome:
    """A money action's approval, rejection or failure, as its audit event has it."""

    event: AuditEvent
    label: str  # "Refund failed"
    about: str  # the action's name (`money_actions.selectors.name_of`), "" when gone
    by: str  # who acted, by name: a person, the money policy, or the console itself


@dataclass(frozen=True)
class Difference:
    """A reconciliation difference, with its case's ticket number (None without a case)."""

    item: object
    ticket_id: int | None


@dataclass(frozen=True)
class Handover:
    since: Since
    now: datetime
    opened: Listing
    reopened: Listing
    waiting_on_finance: Listing
    due_soon: Listing
    actions: Listing
    stuck: Listing  # of money_actions.selectors.StuckAction, stuck longest first
    answered: Listing
    waiting_questions: Listing
    differences: Listing
    chain: object  # the latest ChainVerification, or None before the first check
    notes: Listing


def handover(*, since, now):
    """Everything the page shows, from `since` (a `Since`) to `now`."""
    first_event = first_id_at(since.at)
    return Handover(
        since=since, now=now,
        opened=_listing(Case.objects.filter(created_at__gte=since.at)
                        .order_by("-created_at", "-id")),
        reopened=_listing(_events_from(first_event).filter(
            action=STATE_CHANGED, before__state__in=DONE_STATES)
            .exclude(after__state__in=DONE_STATES)),
        waiting_on_finance=_listing(Case.objects.filter(state=State.WAITING_FINANCE)
                                    .order_by("resolution_due", "id")),
        due_soon=_listing(Case.objects.filter(
            OPEN_CASE, resolution_due__gte=now, resolution_due__lt=now + SLA_HORIZON)
            .order_by("resolution_due", "id")),
        actions=_action_outcomes(first_event),
        stuck=_stuck(now),
        answered=_listing(Question.objects.filter(answered_at__gte=since.at)
                          .select_related("asker", "answered_by", "case")
                          .order_by("-answered_at")),
        waiting_questions=_listing(open_questions()),
        differences=_differences(),
        chain=latest_verification(),
        notes=_listing(HandoverNote.objects.filter(created_at__gte=since.at)
                       .select_related("author")),
    )


def _listing(query):
    rows = list(query[:LIST_SIZE + 1])
    return Listing(rows[:LIST_SIZE], len(rows) > LIST_SIZE)


def _events_from(first_id):
    """The audit events from `first_id` on, newest first; none when nothing was recorded
    since the moment."""
    if first_id is None:
        return AuditEvent.objects.none()
    return AuditEvent.objects.filter(id__gte=first_id).select_related("actor").order_by("-id")


def _action_outcomes(first_event):
    names = [kind.audit_action(event) for kind in all_kinds() for event in OUTCOMES]
    listing = _listing(_events_from(first_event).filter(action__in=names))
    about = action_names({event.object_id for event in listing.rows})
    return Listing([ActionOutcome(event, action_label(event.action),
                                  about.get(event.object_id, ""), _by(event))
                    for event in listing.rows], listing.more)


def _by(event):
    """Who acted in `event` (its actor read with it), by name."""
    return person_name(event.actor) or role_names(event.actor_role) or CONSOLE_NAME


def _stuck(now):
    listing = _listing(stuck_on_the_way(now=now))
    return Listing(stuck_actions(listing.rows), listing.more)


def _differences():
    listing = _listing(unexplained_differences().order_by("-id"))
    tickets = dict(Case.objects.filter(pk__in={item.case_id for item in listing.rows})
                   .values_list("pk", "zendesk_ticket_id"))
    return Listing([Difference(item, tickets.get(item.case_id)) for item in listing.rows],
                   listing.more)

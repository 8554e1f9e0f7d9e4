"""Reading cases: the queue (filters, search, keyset paging, counts) and its health; the case
page (timeline, SLA clocks, write-back problems, reply templates, the Stripe snapshot)."""

import functools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.db import connection, transaction
from django.db.models import Case as SqlCase
from django.db.models import Count, F, IntegerField, Q, Value, When
from django.utils import timezone

from billing_console.access import Capability, has_capability
from billing_console.exceptions import UnknownCursor
from billing_console.integrations.stripe import gateway as stripe_gateway
from billing_console.models import ZendeskIdentity
from billing_console.names import ticket_name
from billing_console.parsing import cursor_for, cursor_values, is_bigint, whole_number
from cases.models import (
    OPEN_STATES,
    Case,
    Category,
    Priority,
    ReplyTemplate,
    State,
    WriteBack,
)
from cases.replies import (
    MoneyFacts,
    may_see_card,
    money_facts,
    reply_held,
    reply_sent,
    resolution_draft,
)

PAGE_SIZE = 50


# --- who sees which case -------------------------------------------------------------------


def cases_visible_to(viewer):
    """The cases `viewer` may open. Specialists, finance and admins see every case; a Tier
    2 agent sees only the cases they escalated in Zendesk, or their Zendesk group did (by
    the Zendesk identity admins give them), and none without one. Any other case is "not
    found" to them, by page, by ticket number and by API alike."""
    if has_capability(viewer, Capability.VIEW_QUEUE) or has_capability(
            viewer, Capability.MANAGE_CONSOLE):
        return Case.objects.all()
    identity = ZendeskIdentity.objects.filter(user_id=viewer.pk).first() \
        if viewer.is_authenticated else None
    escalated = Q(pk__in=[])
    if identity is not None and identity.zendesk_user_id is not None:
        escalated |= Q(escalated_by_zendesk_id=identity.zendesk_user_id)
    if identity is not None and identity.zendesk_group_id is not None:
        escalated |= Q(escalation_group_id=identity.zendesk_group_id)
    return Case.objects.filter(escalated)

# The choices of the queue's own filters, value: label.
SORTS = {
    "sla": "SLA due",
    "priority": "Priority",
    "updated": "Last update",
}
ASSIGNEES = {"anyone": "Anyone", "me": "Me", "unassigned": "Unassigned"}
SLA_FILTERS = {"breached": "Breached", "due_1h": "Due within 1 h"}
STRIPE_FILTERS = {"linked": "Linked", "unlinked": "Not linked"}
PRIORITY_RANK = SqlCase(
    *(When(priority=p, then=Value(rank)) for rank, p in enumerate(
        (Priority.URGENT, Priority.HIGH, Priority.NORMAL, Priority.LOW))),
    default=Value(9), output_field=IntegerField(),
)


@dataclass(frozen=True)
class QueueFilters:
    state: str = "open"  # a State value, "open" or "all"
    assignee: str = "anyone"  # "me", "unassigned" or "anyone"
    category: str = ""
    priority: str = ""
    sla: str = ""  # "breached" or "due_1h"
    stripe: str = ""  # "linked" or "unlinked"
    q: str = ""
    sort: str = "sla"

    @classmethod
    def from_query(cls, params):
        """Read filters from a query string, dropping values that are not options."""
        values = {}
        for name, allowed in FILTER_OPTIONS.items():
            value = params.get(name, "")
            if value in allowed:
                values[name] = value
        values["q"] = params.get("q", "").strip()[:200]
        return cls(**values)


# The values each filter takes: the choices never change, so the sets are made once.
FILTER_OPTIONS = {
    "state": frozenset({"open", "all", *State.values}),
    "assignee": frozenset(ASSIGNEES),
    "category": frozenset(Category.values),
    "priority": frozenset(Priority.values),
    "sla": frozenset(SLA_FILTERS),
    "stripe": frozenset(STRIPE_FILTERS),
    "sort": frozenset(SORTS),
}


@dataclass(frozen=True)
class QueuePage:
    cases: list
    next_cursor: str | None


def _filtered(filters, viewer_id, now):
    cases = Case.objects.all()
    if filters.state == "open":
        cases = cases.filter(state__in=OPEN_STATES)
    elif filters.state != "all":
        cases = cases.filter(state=filters.state)
    if filters.assignee == "me":
        cases = cases.filter(assignee_id=viewer_id)
    elif filters.assignee == "unassigned":
        cases = cases.filter(assignee__isnull=True)
    if filters.category:
        cases = cases.filter(category=filters.category)
    if filters.priority:
        cases = cases.filter(priority=filters.priority)
    if filters.sla == "breached":
        cases = cases.filter(resolution_due__lt=now)
    elif filters.sla == "due_1h":
        cases = cases.filter(resolution_due__gte=now, resolution_due__lt=now + timedelta(hours=1))
    if filters.stripe == "linked":
        cases = cases.exclude(stripe_customer_id="")
    elif filters.stripe == "unlinked":
        cases = cases.filter(stripe_customer_id="")
    if filters.q:
        cases = cases.filter(_search(filters.q))
    return cases


def _search(text):
    """Ticket id, Stripe customer id, or part of an email, a name or a subject
    (`ben.lindqvist`, `lindqvist`). On PostgreSQL trigram indexes serve the three
    `UPPER(column) LIKE` conditions (migrations 0004 and 0006)."""
    ticket_id = whole_number(text.lstrip("#"))
    if ticket_id is not None:
        return Q(zendesk_ticket_id=ticket_id)
    if text.startswith("cus_"):
        return Q(stripe_customer_id=text)
    if "@" in text:
        return Q(requester_email__icontains=text)
    return (Q(requester_email__icontains=text) | Q(requester_name__icontains=text)
            | Q(subject__icontains=text))


# --- keyset paging ---------------------------------------------------------------------------
# A cursor holds the sort key of the last row shown; the next page starts after it. Each
# sort orders by a column and then id, so the key is unique and paging never skips a row.


def _list_name(sort):
    return f"cases.queue:{sort}"


def _decode(cursor, sort):
    """The sort key a cursor holds; `UnknownCursor` for one this queue did not give for
    `sort`: the cursor comes back from the browser or a program, so its shape is checked
    before any of it reaches a query. (The API refuses it; the page starts over.)"""
    key = cursor_values(cursor, _list_name(sort))
    if key is None or not _fits(key, sort):
        raise UnknownCursor()
    return key


def _fits(key, sort):
    """Whether `key` has the shape `_sort_key` gives for `sort`."""
    shape = {"sla": (_due, is_bigint), "priority": (is_bigint, _due, is_bigint),
             "updated": (_moment, is_bigint)}[sort]
    return (isinstance(key, list) and len(key) == len(shape)
            and all(fits(value) for fits, value in zip(shape, key, strict=True)))


def _moment(value):
    try:
        return datetime.fromisoformat(value).tzinfo is not None
    except (TypeError, ValueError):
        return False


def _due(value):
    return value is None or _moment(value)


def _sort_key(case, sort):
    """The cursor's key of a case: a model instance, or a row of `case_queue(fields=…)`."""
    get = case.get if isinstance(case, dict) else functools.partial(getattr, case)
    if sort == "sla":
        due = get("resolution_due")
        return [due.isoformat() if due else None, get("pk")]
    if sort == "priority":
        due = get("resolution_due")
        return [get("priority_rank"), due.isoformat() if due else None, get("pk")]
    return [get("updated_at").isoformat(), get("pk")]


def _after_due(due_text, pk):
    """Rows after (due, pk) in `resolution_due ASC NULLS LAST, id ASC` order."""
    if due_text is None:
        return Q(resolution_due__isnull=True, pk__gt=pk)
    due = datetime.fromisoformat(due_text)
    return (Q(resolution_due__gt=due) | Q(resolution_due=due, pk__gt=pk)
            | Q(resolution_due__isnull=True))


def _ordered(cases, sort, cursor):
    key = _decode(cursor, sort) if cursor else None
    if sort == "priority":
        cases = cases.annotate(priority_rank=PRIORITY_RANK)
        if key:
            rank, due, pk = key
            cases = cases.filter(
                Q(priority_rank__gt=rank) | Q(priority_rank=rank) & _after_due(due, pk))
        return cases.order_by("priority_rank", F("resolution_due").asc(nulls_last=True), "id")
    if sort == "updated":
        if key:
            updated, pk = datetime.fromisoformat(key[0]), key[1]
            cases = cases.filter(Q(updated_at__lt=updated) | Q(updated_at=updated, pk__lt=pk))
        return cases.order_by("-updated_at", "-id")
    if key:
        cases = cases.filter(_after_due(*key))
    return cases.order_by(F("resolution_due").asc(nulls_last=True), "id")


# What the cursor of each sort reads from a case (the priority rank is computed in SQL).
SORT_KEY_FIELDS = {
    "sla": ("pk", "resolution_due"),
    "priority": ("pk", "resolution_due", "priority_rank"),
    "updated": ("pk", "updated_at"),
}


def case_queue(*, viewer, filters, cursor=None, size=PAGE_SIZE, now=None, fields=None):
    """A page of cases. `fields` names the columns to read, when a caller shows only a few:
    the rest of a case (its description above all) can be long, and the page never shows
    it. Given `fields`, each case is a dict of those (`assignee__username` follows the
    assignee) and of what the sort's cursor reads, not a model instance: a page of 50
    instances costs more to build than its query costs to run. A `cursor` this queue did
    not give for the sort is `UnknownCursor`."""
    now = now or timezone.now()
    # What the filters do not read stays out of the view's key, so that views share it.
    viewer_id = viewer.pk if filters.assignee == "me" else None
    now = now if filters.sla else None
    if fields is None:
        cases = _ordered(_filtered(filters, viewer_id, now), filters.sort, cursor)
        rows = list(cases.select_related("assignee")[: size + 1])
    else:
        rows = _value_rows(_queue_sql(filters, viewer_id, now, cursor, size, tuple(fields)))
    next_cursor = cursor_for(_list_name(filters.sort), _sort_key(rows[size - 1], filters.sort)) \
        if len(rows) > size else None
    return QueuePage(cases=rows[:size], next_cursor=next_cursor)


@functools.lru_cache(maxsize=256)
def _queue_sql(filters, viewer_id, now, cursor, size, fields):
    """(SQL, parameters) of one view of the queue reading `fields`, as the ORM writes them;
    None for a view that can match nothing. Kept per view: building the query cost the ORM
    half of what PostgreSQL spends running it, and most requests ask for a view asked
    before (the default view; each table's refresh every 30 s)."""
    values = _ordered(_filtered(filters, viewer_id, now), filters.sort, cursor).values(
        *dict.fromkeys((*SORT_KEY_FIELDS[filters.sort], *fields)))[: size + 1]
    try:
        return values.query.get_compiler(using=values.db).as_sql()
    except EmptyResultSet:
        return None


def _value_rows(query):
    """The rows of `_queue_sql`'s query as dicts, run on a plain cursor: reading 51 rows
    through the ORM's iterables cost a third of what running it did. The columns come back
    named as values() names them."""
    if query is None:
        return []
    with connection.cursor() as cursor:
        cursor.execute(*query)
        # The first item of each column's description is its name, on every backend: only
        # psycopg's columns have a `.name` too, and SQLite (the demo's) has none.
        names = [column[0] for column in cursor.description]
        rows = cursor.fetchall()
    if connection.vendor == "sqlite":
        rows = [tuple(map(_aware, row)) for row in rows]
    return [dict(zip(names, row, strict=True)) for row in rows]


def _aware(value):
    """SQLite hands a plain cursor its datetimes naive (the ORM's converters, which a plain
    cursor skips, make them aware); they are stored in UTC."""
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


# On PostgreSQL the counts are kept by triggers as cases change (`CaseStateCount`): reading
# them sums a few hundred rows at most, whatever the number of cases. Once more rows than
# this have piled up, the reader that notices folds them into one per state.
COMPACT_STATE_COUNTS_AFTER = 200
STATE_VALUES = tuple(State.values)
# Any fixed 64-bit number: it names the advisory lock that keeps two foldings apart.
STATE_COUNTS_LOCK_KEY = 0x7374617465  # "state"


def state_counts():
    """Cases per state, for the queue's tabs and health, as of now: read from the counts
    PostgreSQL keeps (no scan of the cases, no cache). SQLite, the embedded default of one
    machine, keeps none and counts the cases instead."""
    if connection.vendor != "postgresql":
        return _count_states()
    counts = dict.fromkeys(STATE_VALUES, 0)
    rows = 0
    with connection.cursor() as cursor:
        # Plain SQL: every page of the queue asks, and the ORM would cost more than the sum.
        cursor.execute("SELECT state, SUM(count), COUNT(*) FROM cases_casestatecount "
                       "GROUP BY state")
        for state, count, kept in cursor.fetchall():
            rows += kept
            if state in counts:
                counts[state] = int(count)
    if rows > COMPACT_STATE_COUNTS_AFTER:
        compact_state_counts()
    return counts


def compact_state_counts():
    """Fold the delta rows into one row per state (none for a state at zero); the sums stay
    as they were. One statement deletes the rows its snapshot sees and inserts their sums,
    so a delta committed meanwhile is neither lost nor counted twice, and no writer waits:
    their new rows are not the ones deleted. A second reader folding at the same time skips
    it instead of waiting (a try-lock). Returns whether it folded."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [STATE_COUNTS_LOCK_KEY])
        if not cursor.fetchone()[0]:
            return False
        cursor.execute(
            "WITH folded AS (DELETE FROM cases_casestatecount RETURNING state, count) "
            "INSERT INTO cases_casestatecount (state, count) "
            "SELECT state, SUM(count) FROM folded GROUP BY state HAVING SUM(count) <> 0")
    return True


def _count_states():
    counts = dict(Case.objects.values_list("state").annotate(n=Count("id")).order_by())
    return {state: counts.get(state, 0) for state in State.values}


@dataclass(frozen=True)
class QueueHealth:
    open_by_state: dict
    breached: int
    oldest_unassigned: Case | None
    median_first_response: timedelta | None


# The health figures are the same for every specialist and each open queue asks for them
# every 60 s; one computation per this many seconds serves them all.
QUEUE_HEALTH_SECONDS = 30


def current_queue_health():
    """The queue's health, computed at most QUEUE_HEALTH_SECONDS ago."""
    return cache.get_or_set("cases:queue-health", queue_health, QUEUE_HEALTH_SECONDS)


def queue_health(*, now=None):
    now = now or timezone.now()
    open_cases = Case.objects.filter(state__in=OPEN_STATES)
    counts = state_counts()
    return QueueHealth(
        open_by_state={state: counts[state] for state in OPEN_STATES},
        breached=open_cases.filter(resolution_due__lt=now).count(),
        oldest_unassigned=open_cases.filter(assignee__isnull=True)
        .order_by("zendesk_created_at", "id")
        .only("zendesk_ticket_id", "zendesk_created_at").first(),
        median_first_response=_median_first_response(now - timedelta(days=7)),
    )


def _median_first_response(since):
    waits = sorted(
        responded - (opened or created)
        for responded, opened, created in Case.objects.filter(first_responded_at__gte=since)
        .values_list("first_responded_at", "zendesk_created_at", "created_at")
    )
    return waits[len(waits) // 2] if waits else None


# --- the case page ---------------------------------------------------------------------------

TIMELINE_PAGE_SIZE = 100
# A write-back still pending after this long has most likely lost its queue message or
# keeps failing quietly; the case page says so.
WRITE_BACK_OVERDUE = timedelta(minutes=5)
# Stripe is read when a specialist opens a case; a short cache spares it the reloads of
# one look at a case without hiding a change for long.
STRIPE_SNAPSHOT_SECONDS = 60


@dataclass(frozen=True)
class TimelinePage:
    events: list
    older_than: int | None  # the id to page on from, when older events exist


def case_timeline(*, case, before=None, size=TIMELINE_PAGE_SIZE):
    """Newest first; `before` is the id of the last event already shown."""
    events = case.events.select_related("actor").order_by("-created_at", "-id")
    if before is not None:
        anchor = case.events.filter(pk=before).values_list("created_at", flat=True).first()
        if anchor is not None:
            events = events.filter(Q(created_at__lt=anchor) | Q(created_at=anchor, pk__lt=before))
    rows = list(events[: size + 1])
    return TimelinePage(events=rows[:size],
                        older_than=rows[size - 1].pk if len(rows) > size else None)


@dataclass(frozen=True)
class SlaClock:
    label: str
    due: datetime | None
    met_at: datetime | None
    breached: bool


def case_sla_clocks(*, case, now=None):
    now = now or timezone.now()
    targets = (("First response", case.first_response_due, case.first_responded_at),
               ("Resolution", case.resolution_due, case.resolved_at))
    return [SlaClock(label, due, met_at, breached=due is not None and (met_at or now) > due)
            for label, due, met_at in targets]


def case_write_back_problems(*, case, now=None):
    """Write-backs Zendesk has not confirmed: failed ones, and pending or sending ones
    overdue (a sending one may have lost its worker)."""
    now = now or timezone.now()
    return list(case.write_backs.filter(
        Q(status=WriteBack.Status.FAILED)
        | Q(status__in=[WriteBack.Status.PENDING, WriteBack.Status.SENDING],
            created_at__lt=now - WRITE_BACK_OVERDUE),
    ).order_by("-created_at")[:20])


def reply_templates_for(*, case, money=None, sees_card=False):
    """(name, body) of each active template, filled in for this case and `money` (a
    `cases.replies.MoneyFacts`, or None), the card's digits only when `sees_card`."""
    return [(template.name, template.render_for(case, money, sees_card=sees_card))
            for template in ReplyTemplate.objects.filter(active=True)]


def case_replies(*, case, viewer):
    """(facts, templates) of `case`: its `cases.replies.money_facts`, newest first, and
    its reply templates, (name, body) filled in for the newest, with the card's digits
    only when `viewer` may see them."""
    facts = money_facts(case)
    return facts, reply_templates_for(case=case, money=facts[0] if facts else None,
                                      sees_card=may_see_card(viewer))


def reply_template_for(code, kind=""):
    """The name of the first active template that goes with resolution `code`, those for
    money-action `kind` (a slug; "" for none) first; None for none. One query."""
    templates = ReplyTemplate.objects.filter(active=True, resolution_code=code).exclude(
        resolution_code="")
    if kind:
        templates = templates.order_by(
            SqlCase(When(money_action_kind=kind, then=Value(0)), default=Value(1)),
            "position", "name")
    return templates.values_list("name", flat=True).first()


@dataclass(frozen=True)
class ResolutionDraft:
    """What the resolution form starts from: `code` and `summary` drafted from the money
    moved on the case (`cases.replies.resolution_draft`), the reply `template` chosen for
    that code (its name, or None) and the `reply` in the box; `held`, the money action
    whose reply waits for it to succeed (the box holds that reply), or `sent`, the one
    whose reply the customer already has (the box starts empty). Blank with no money."""

    code: str = ""
    summary: str = ""
    template: str | None = None
    reply: str = ""
    held: MoneyFacts | None = None
    sent: MoneyFacts | None = None


def resolution_drafted(*, facts, templates):
    """The `ResolutionDraft` of a case from `facts`, its `cases.replies.money_facts`, and
    `templates`, its (name, body) filled in for the newest (`reply_templates_for`). One
    query: the template for the code."""
    code, summary = resolution_draft(facts)
    held, sent = reply_held(facts), reply_sent(facts)
    template = reply_template_for(code, facts[0].kind) if code and not sent else None
    if held is not None and held.reply:
        reply = held.reply
    else:
        reply = dict(templates).get(template, "") if template else ""
    return ResolutionDraft(code=code, summary=summary, template=template, reply=reply,
                           held=held, sent=None if held else sent)


def _snapshot_key(customer_id):
    return f"cases:stripe-snapshot:{customer_id}"


def forget_stripe_snapshot(customer_id):
    """The console changed the customer's money: the next look reads Stripe again, so the
    Stripe panel never shows the state from before the console's own action."""
    if customer_id:
        transaction.on_commit(lambda: cache.delete(_snapshot_key(customer_id)))


def stripe_snapshot(*, customer_id):
    """The customer's billing snapshot, cached briefly. Errors are not cached, so the next
    look tries Stripe again."""
    key = _snapshot_key(customer_id)
    snapshot = cache.get(key)
    if snapshot is None:
        snapshot = stripe_gateway.billing_snapshot(customer_id=customer_id)
        cache.set(key, snapshot, STRIPE_SNAPSHOT_SECONDS)
    return snapshot


def latest_case_of_customer(customer_id):
    """The case a change to a Stripe customer made outside the console belongs on."""
    if not customer_id:
        return None
    return Case.objects.filter(stripe_customer_id=customer_id).order_by("-updated_at").first()


def case_names(case_ids):
    """{case id as text: "Ticket #6"} of the cases among `case_ids` (the audit trail's
    object ids), in one query."""
    ids = {number for case_id in case_ids if (number := whole_number(str(case_id)))}
    return {str(pk): ticket_name(ticket) for pk, ticket in
            Case.objects.filter(pk__in=ids).values_list("pk", "zendesk_ticket_id")}


def customer_names(customer_ids):
    """{Stripe customer id: the requester's name or email} of the customers among
    `customer_ids` some case is tied to, in one query: how the trail names a customer its
    summaries wrote by id."""
    rows = (Case.objects.filter(stripe_customer_id__in=set(customer_ids))
            .exclude(requester_name="", requester_email="")
            .values_list("stripe_customer_id", "requester_name", "requester_email"))
    return {customer: name or email for customer, name, email in rows}


def case_stripe_names(case):
    """{Stripe customer id: name or email} of the customers the case's timeline may write by
    id: those Stripe matched to it (as Stripe names them), and the one it is tied to."""
    names = {candidate["id"]: candidate.get("name") or candidate.get("email") or ""
             for candidate in case.stripe_candidates or () if candidate.get("id")}
    if case.stripe_customer_id and (case.requester_name or case.requester_email):
        names.setdefault(case.stripe_customer_id, case.requester_name or case.requester_email)
    return {customer: name for customer, name in names.items() if name}


@dataclass(frozen=True)
class TicketLinks:
    """How the case's ticket relates to others in Zendesk (`cases.lifecycle`), with the
    console's case of each ticket where there is one."""

    merged: bool
    merged_into: tuple | None  # (ticket id, its case or None), once the note named it
    follow_up_of: tuple | None  # (ticket id, its case or None)
    follow_ups: list  # cases of tickets following this one up
    merged_here: list  # cases of tickets merged into this one

    @property
    def any(self):
        return bool(self.merged or self.follow_up_of or self.follow_ups or self.merged_here)


def case_ticket_links(*, case):
    ticket_ids = [t for t in (case.merged_into_ticket_id, case.follow_up_of_ticket_id) if t]
    cases = {c.zendesk_ticket_id: c for c in Case.objects.filter(
        zendesk_ticket_id__in=ticket_ids).only("pk", "zendesk_ticket_id", "subject", "state")}
    related = list(Case.objects.filter(
        Q(follow_up_of_ticket_id=case.zendesk_ticket_id)
        | Q(merged_into_ticket_id=case.zendesk_ticket_id))
        .only("pk", "zendesk_ticket_id", "subject", "state", "follow_up_of_ticket_id",
              "merged_into_ticket_id")
        .order_by("pk")[:50])

    def linked(ticket_id):
        return (ticket_id, cases.get(ticket_id)) if ticket_id else None

    return TicketLinks(
        merged=case.is_merged, merged_into=linked(case.merged_into_ticket_id),
        follow_up_of=linked(case.follow_up_of_ticket_id),
        follow_ups=[c for c in related if c.follow_up_of_ticket_id == case.zendesk_ticket_id],
        merged_here=[c for c in related if c.merged_into_ticket_id == case.zendesk_ticket_id])


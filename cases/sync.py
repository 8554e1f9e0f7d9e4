"""Zendesk intake: the incremental ticket export and ticket webhooks become cases.

Two paths write cases, and both go through `_store_tickets`:

- `sync_zendesk_once`, run every minute by beat, reads the cursor-based export from the
  stored cursor (from `INITIAL_START_TIME` on the very first run). Each page is stored in
  one transaction together with the cursor that follows it, so a crash between fetching a
  page and committing it replays that page. Rows that would not change are not written,
  so reading the same pages again changes nothing.
- `refresh_ticket`, run for a webhook and once for every new case, reads one ticket with
  its requester and comments, and stores the ticket and the comments. Reads of one ticket
  asked for close together are coalesced (`tickets_with_webhooks_waiting`): a webhook
  that no worker has taken yet reads the ticket later, so an earlier webhook, or a new
  case's read of its comments, leaves the read to it. A read is three requests against
  Zendesk's rate limit, and Zendesk sends a webhook for every change: a burst of edits
  to one ticket would otherwise spend the budget the rest of the console needs.

Which tickets become cases: those matching the `IntakeRule` (a tag, a group, or all).
A ticket that already has a case stays in sync even when it stops matching (its tag
removed), so a case being worked never freezes.

What the sync decides for the console:
- the category, from custom field values and tags, unless staff set it;
- the priority (from Zendesk's) and SLA dues, when the case is created; after that the
  priority belongs to staff;
- a deleted ticket (`status == "deleted"` in the export, 404 for a webhook) closes its
  case, with a timeline entry;
- the case's state as its ticket lives in Zendesk, by the rules of `cases.lifecycle`: a
  closed ticket closes its case, a merged one marks it merged into the target's case, a
  follow-up links to the case it follows up, and the customer's reply reopens a resolved
  case; each change with a timeline entry and an audit event;
- who escalated the ticket (its assignee, or the agent who filed it for the requester, and
  its group) is kept from when the case is created: Tier 2 sees those cases;
- the Stripe customer named in the ticket's "Stripe customer id" field is linked as
  `named` when the field changes, and verified only once Stripe has that customer.
  Checking it, and matching by requester email, call Stripe, so they never run here: a
  task is queued (after commit) for each new case, or case whose email or named customer
  changed, left unverified.

Zendesk content (subjects, descriptions, comments, names) is untrusted: it is stored as
received and escaped wherever it is shown, except the characters the database refuses
(NUL, lone surrogates), which are replaced and audited (`billing_console.text`). A ticket
the database still refuses is set aside with the reason (`integrations.set_aside`), so one
bad ticket never stops a page or the cursor; admins see it, and retry it, on
`/manage/integrations/`.
"""

import fcntl
import hashlib
import logging
import re
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone

from audit.models import Source
from audit.services import record
from billing_console import text
from billing_console.celery import app as celery_app
from billing_console.integrations import set_aside
from billing_console.integrations.models import InboundEvent
from billing_console.integrations.zendesk import gateway as zendesk
from billing_console.integrations.zendesk.errors import ZendeskNotFound
from cases import lifecycle
from cases.models import (
    Case,
    CaseEvent,
    Category,
    IntakeRule,
    Priority,
    SlaTarget,
    State,
    StripeLink,
    SyncState,
)

logger = logging.getLogger(__name__)

SINGLETON_PK = 1
UPSERT_TABLE = "cases_case_upsert"
# The first run reads the whole history: an escalated ticket may be old.
INITIAL_START_TIME = 0
# Pages one beat run reads at most (Zendesk allows 10 export requests a minute); the next
# run carries on from the saved cursor.
MAX_PAGES_PER_RUN = 30
PAGE_SIZE = zendesk.EXPORT_MAX_PER_PAGE
STRIPE_FIELD_TITLE = "Stripe customer id"
STRIPE_CUSTOMER_ID = re.compile(r"cus_[A-Za-z0-9]{1,200}")
# Any fixed 64-bit number: it names the PostgreSQL advisory lock that keeps runs apart.
SYNC_LOCK_KEY = 0x7A656E64657368  # "zendesh"
# How a ticket the database refused is named in the set-aside list.
ZENDESK, TICKET = "zendesk", "ticket"
# The webhooks our Zendesk trigger sends; each names its ticket (`id`) and nothing more.
TICKET_WEBHOOKS = ("ticket_created", "ticket_updated")

PRIORITIES = {"low": Priority.LOW, "normal": Priority.NORMAL, "high": Priority.HIGH,
              "urgent": Priority.URGENT}
CATEGORY_TAGS = {
    Category.REFUND_REQUEST: ("refund_request", "refund"),
    Category.DUPLICATE_CHARGE: ("duplicate_charge", "double_charge", "charged_twice"),
    Category.INVOICE_DISPUTE: ("invoice_dispute", "invoice"),
    Category.PLAN_CHANGE: ("plan_change", "cancellation", "cancel", "downgrade", "upgrade"),
    Category.TAX: ("tax_vat", "tax", "vat"),
    Category.FAILED_PAYMENT: ("failed_payment", "payment_failed", "card_declined"),
}
TAG_CATEGORY = {tag: category for category, tags in CATEGORY_TAGS.items() for tag in tags}
FIELD_CATEGORIES = frozenset(Category.values) - {Category.OTHER}

# Fields copied from the ticket on every change.
MIRRORED_FIELDS = (
    "subject", "description", "requester_name", "requester_email", "requester_zendesk_id",
    "zendesk_status", "zendesk_priority", "zendesk_group_id", "tags", "custom_fields",
    "zendesk_created_at", "zendesk_updated_at",
)
# Console fields the sync may change on an existing case.
DERIVED_FIELDS = ("category", "state", "resolved_at", "stripe_customer_id", "stripe_link",
                  "stripe_candidates")
UPSERT_FIELDS = (*MIRRORED_FIELDS, *DERIVED_FIELDS)
# What is read of an existing case to decide what changes.
EXISTING_FIELDS = ("pk", "zendesk_ticket_id", "category_set_by_staff", *UPSERT_FIELDS)
# Fields whose values (str, int, bool, None) go to the database unchanged.
PLAIN_FIELDS = (models.CharField, models.TextField, models.BooleanField, models.IntegerField,
                models.ForeignKey)
TEXT_LIMITS = {"subject": 500, "requester_name": 255, "requester_email": 255,
               "zendesk_status": 16, "zendesk_priority": 16}


class SyncAlreadyRunning(Exception):
    """Another sync run holds the lock."""


@dataclass
class StoreOutcome:
    """What storing a batch of tickets did, and the follow-up work it leaves."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    closed: int = 0
    reopened: int = 0
    set_aside: int = 0
    new_ticket_ids: list = field(default_factory=list)
    # Cases whose comments are read again: a merged ticket's note names its target.
    comment_ticket_ids: list = field(default_factory=list)
    stripe_lookup_ticket_ids: list = field(default_factory=list)
    # The tickets whose cases were written (created or changed).
    stored_ticket_ids: list = field(default_factory=list)

    def add(self, other):
        for name in ("created", "updated", "unchanged", "closed", "reopened", "set_aside"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name in ("new_ticket_ids", "stripe_lookup_ticket_ids", "stored_ticket_ids"):
            getattr(self, name).extend(getattr(other, name))


@dataclass
class SyncRun(StoreOutcome):
    pages: int = 0
    tickets: int = 0
    end_of_stream: bool = False


@dataclass(frozen=True)
class SyncHealth:
    last_run_at: object
    last_success_at: object
    newest_ticket_updated_at: object
    lag: timedelta | None
    last_error: str
    last_error_at: object
    failing: bool
    every: timedelta  # how often the sync runs by itself
    late: bool  # no success for longer than its schedule allows: something is wrong


# --- the export ----------------------------------------------------------------------------


def sync_zendesk_once(*, per_page=None, max_pages=MAX_PAGES_PER_RUN):
    """Read the export from the stored cursor until its end (or `max_pages`), `per_page`
    tickets a page (`PAGE_SIZE` unless given).

    Raises SyncAlreadyRunning when another run holds the lock; any Zendesk error is
    recorded on the sync state and raised again, for the task to retry.
    """
    with _sync_lock() as held:
        if not held:
            raise SyncAlreadyRunning("Another Zendesk sync is running")
        _sync_state_update(last_run_at=timezone.now())
        try:
            run = _read_pages(per_page=per_page or PAGE_SIZE, max_pages=max_pages)
        except Exception as error:
            _sync_state_update(last_error=f"{type(error).__name__}: {error}"[:2000],
                               last_error_at=timezone.now())
            raise
        _sync_state_update(last_success_at=timezone.now())
        return run


def _read_pages(*, per_page, max_pages):
    state = sync_state()
    rule = IntakeRule.objects.get_or_create(pk=SINGLETON_PK)[0]
    field_id = stripe_field_id()
    cursor, newest = state.cursor, state.newest_ticket_updated_at
    run = SyncRun()
    while max_pages is None or run.pages < max_pages:
        if cursor:
            page = zendesk.export_tickets_page(cursor=cursor, per_page=per_page)
        else:
            page = zendesk.export_tickets_page(start_time=INITIAL_START_TIME, per_page=per_page)
        newest = max([newest, *(t.updated_at for t in page.tickets)], key=_sortable_time)
        run.add(store_page(page, rule=rule, stripe_field=field_id, newest=newest))
        cursor = page.after_cursor
        run.pages += 1
        run.tickets += len(page.tickets)
        if page.end_of_stream:
            run.end_of_stream = True
            break
    return run


@transaction.atomic
def store_page(page, *, rule, stripe_field, newest):
    """One export page's cases and the cursor after it, in one transaction. A ticket the
    database refuses is set aside, and the cursor moves past it all the same."""
    users = {user.id: user for user in page.users}
    outcome = _store_or_set_aside(page.tickets, users, rule=rule, stripe_field=stripe_field)
    _save_position(cursor=page.after_cursor, newest=newest)
    _queue_follow_ups(outcome, fetch_comments=True)
    return outcome


def _store_or_set_aside(tickets, users, **options):
    """The tickets in one savepoint; when the database refuses that, one savepoint a
    ticket, and each ticket refused is set aside with the reason. When every ticket of
    several is refused, the fault is not one ticket's: that error is raised, and the page
    is read again on the next run."""
    try:
        with transaction.atomic():
            return _store_clean(tickets, users, **options)
    except set_aside.BAD_RECORD_ERRORS:
        logger.warning("An export page was refused; storing its tickets one by one",
                       exc_info=True)
    outcome, refused = StoreOutcome(), []
    latest = {ticket.id: ticket for ticket in tickets}
    for ticket in latest.values():
        try:
            with transaction.atomic():
                outcome.add(_store_clean([ticket], users, **options))
        except set_aside.BAD_RECORD_ERRORS as error:
            refused.append((ticket.id, error))
    if len(latest) > 1 and len(refused) == len(latest):
        raise refused[0][1]
    for ticket_id, error in refused:
        _set_ticket_aside(ticket_id, error)
    outcome.set_aside += len(refused)
    return outcome


def _save_position(*, cursor, newest):
    _sync_state_update(cursor=cursor, newest_ticket_updated_at=newest)


def _sortable_time(value):
    return value.timestamp() if value else float("-inf")


# --- one ticket ----------------------------------------------------------------------------


def refresh_ticket(ticket_id):
    """Read one ticket with its comments from Zendesk and store both (webhooks, and the
    comments of each new case). Returns the case, or None when the ticket has none."""
    try:
        detail = zendesk.get_ticket(ticket_id)
    except ZendeskNotFound:
        # Zendesk answers 404 for a deleted ticket.
        with transaction.atomic():
            _close_deleted_cases([ticket_id], StoreOutcome())
            set_aside.clear(source=ZENDESK, kind=TICKET, external_ids=[ticket_id])
        return Case.objects.filter(zendesk_ticket_id=ticket_id).first()
    rule = IntakeRule.objects.get_or_create(pk=SINGLETON_PK)[0]
    field_id = stripe_field_id()
    users = {detail.requester.id: detail.requester} if detail.requester else {}
    try:
        with transaction.atomic():
            outcome = _store_clean([detail.ticket], users, rule=rule, stripe_field=field_id)
            case = Case.objects.filter(zendesk_ticket_id=ticket_id).first()
            if case is not None:
                _store_comments(case, detail.comments, authors=detail.users)
                case = lifecycle.record_merge_target(case, detail.comments)
            _queue_follow_ups(outcome, fetch_comments=False)
    except set_aside.BAD_RECORD_ERRORS as error:
        # Raising would retry the webhook event to no end; the admin retries it instead.
        with transaction.atomic():
            _set_ticket_aside(ticket_id, error)
        return Case.objects.filter(zendesk_ticket_id=ticket_id).first()
    return case


def tickets_with_webhooks_waiting(ticket_ids, *, after=None):
    """The ids among `ticket_ids` (Zendesk ticket ids) that a ticket webhook waiting in the
    inbox names: one no worker has taken yet (`pending`), received after the inbox event
    `after` (a pk) when given. Handling it reads the ticket, comments and all, after this
    moment, so a read of that ticket asked for before now is left to it. Source of truth:
    the inbox's rows, committed ones only."""
    ticket_ids = list(ticket_ids)
    if not ticket_ids:
        return set()
    waiting = InboundEvent.objects.filter(
        source=InboundEvent.Source.ZENDESK, event_type__in=TICKET_WEBHOOKS,
        status=InboundEvent.Status.PENDING,
        # A trigger's `{{ticket.id}}` sends the id as a string.
        payload__id__in=[*ticket_ids, *map(str, ticket_ids)])
    if after is not None:
        waiting = waiting.filter(pk__gt=after)
    return {int(value) for value in waiting.values_list("payload__id", flat=True)}


def _set_ticket_aside(ticket_id, error):
    set_aside.set_aside(source=ZENDESK, kind=TICKET, external_id=ticket_id, error=error)


def _store_comments(case, comments, authors=()):
    """Each Zendesk comment once on the timeline, keyed by its id, its text made storable."""
    known = set(CaseEvent.objects.filter(case=case, zendesk_comment_id__isnull=False)
                .values_list("zendesk_comment_id", flat=True))
    comments, places = text.storable([c for c in comments if c.id not in known],
                                     where="comments")
    text.report(places, what=f"Zendesk ticket {case.zendesk_ticket_id}",
                object_type="case", object_id=case.pk, case_id=case.pk,
                zendesk_ticket_id=case.zendesk_ticket_id)
    now = timezone.now()
    by_id = {user.id: user for user in authors}
    CaseEvent.objects.bulk_create([
        CaseEvent(case=case, kind=CaseEvent.Kind.COMMENT, created_at=comment.created_at or now,
                  body=comment.body, public=comment.public, zendesk_comment_id=comment.id,
                  zendesk_author_id=comment.author_id,
                  data={"attachments": [{"file_name": a.file_name, "size": a.size}
                                        for a in comment.attachments],
                        **comment_author(case, by_id.get(comment.author_id))})
        for comment in comments
    ], ignore_conflicts=True)  # a concurrent refresh may have stored the same comment


class AuthorRole:
    """Who wrote a Zendesk comment, as the timeline says it."""

    REQUESTER = "requester"  # the customer who filed the ticket
    AGENT = "agent"  # a Zendesk agent (Tier 2, billing)
    CONSOLE = "console"  # the console itself: its notes and replies, by its API user
    END_USER = "end-user"  # someone else copied on the ticket


def comment_author(case, user):
    """{"author": {"name", "role"}} for a comment's side-loaded author, or nothing when
    Zendesk did not send them. The console's own comments are those of the API user it
    signs in as (`ZENDESK_EMAIL`)."""
    if user is None:
        return {}
    if user.email and user.email.lower() == (settings.ZENDESK_EMAIL or "").lower():
        role = AuthorRole.CONSOLE
    elif user.id == case.requester_zendesk_id:
        role = AuthorRole.REQUESTER
    elif user.role in ("agent", "admin"):
        role = AuthorRole.AGENT
    else:
        role = AuthorRole.END_USER
    # A name is Zendesk content: kept as text the database takes, escaped when shown.
    name = (user.name or "").replace("\x00", "").encode("utf-8", "replace").decode()[:255]
    return {"author": {"name": name, "role": role}}


# --- storing tickets -----------------------------------------------------------------------


def _store_clean(tickets, users, *, rule, stripe_field):
    """`_store_tickets`, with Zendesk's text made storable first (`billing_console.text`);
    a ticket whose case was written with text replaced is reported (audited), and every
    ticket stored here leaves the set-aside list."""
    tickets, users, cleaned = _storable_tickets(tickets, users)
    outcome = _store_tickets(tickets, users, rule=rule, stripe_field=stripe_field)
    for ticket_id in outcome.stored_ticket_ids:
        text.report(cleaned.get(ticket_id), what=f"Zendesk ticket {ticket_id}",
                    object_type="zendesk_ticket", object_id=ticket_id,
                    zendesk_ticket_id=ticket_id)
    set_aside.clear(source=ZENDESK, kind=TICKET, external_ids=[t.id for t in tickets])
    return outcome


def _storable_tickets(tickets, users):
    """(tickets, users, places by ticket id): their text made storable, and where each
    ticket, or its requester, had characters replaced."""
    clean_users, user_places = {}, {}
    for user_id, user in users.items():
        clean_users[user_id], user_places[user_id] = text.storable(user, where="requester")
    clean_tickets, cleaned = [], {}
    for ticket in tickets:
        ticket, places = text.storable(ticket)
        places += user_places.get(ticket.requester_id, [])
        if places:
            cleaned[ticket.id] = places
        clean_tickets.append(ticket)
    return clean_tickets, clean_users, cleaned


def _store_tickets(tickets, users, *, rule, stripe_field):
    """Upsert the cases of these tickets in one statement, writing only what changes."""
    latest = {ticket.id: ticket for ticket in tickets}  # a ticket changed twice: the last
    outcome = StoreOutcome()
    _close_deleted_cases([t.id for t in latest.values() if t.is_deleted], outcome)
    live = [t for t in latest.values() if not t.is_deleted]
    existing = {row["zendesk_ticket_id"]: row for row in Case.objects.select_for_update()
                .filter(zendesk_ticket_id__in=[t.id for t in live]).values(*EXISTING_FIELDS)}
    sla = _sla_table()
    followed_up = lifecycle.followed_up_tickets(live)
    rows, events = [], []
    for ticket in live:
        before = existing.get(ticket.id)
        if before is None and (lifecycle.is_consoles_follow_up(ticket) or not (
                _matches(rule, ticket) or ticket.follow_up_of in followed_up)):
            continue
        values = _case_values(ticket, users.get(ticket.requester_id), before, stripe_field)
        if before is None:
            rows.append({**values, **_opening_values(ticket, sla)})
            outcome.created += 1
            outcome.new_ticket_ids.append(ticket.id)
        elif _is_older(ticket, before) or all(values[name] == before[name]
                                               for name in UPSERT_FIELDS):
            outcome.unchanged += 1
            continue
        else:
            rows.append(values)
            events += _change_events(before, values)
            outcome.updated += 1
            lifecycle.count_change(outcome, before, values)
            if lifecycle.wants_comments(before, values):
                outcome.comment_ticket_ids.append(ticket.id)
        if _needs_stripe_lookup(before, values):
            outcome.stripe_lookup_ticket_ids.append(ticket.id)
    outcome.stored_ticket_ids = [row["zendesk_ticket_id"] for row in rows]
    _upsert_cases(rows)
    CaseEvent.objects.bulk_create(events)
    if followed_up:
        lifecycle.link_follow_ups(outcome.new_ticket_ids)
    return outcome


def _upsert_cases(rows):
    """Insert the new cases and update the changed ones, inside the caller's transaction.

    The same `INSERT ... ON CONFLICT (zendesk_ticket_id) DO UPDATE` as
    `bulk_create(update_conflicts=True)`, with values adapted by the backend's own
    adapters instead of the ORM's per-value machinery, which was most of a page's time
    (see bench/ingest.py): rows are COPYed on PostgreSQL, sent with `executemany` on
    SQLite. Fields a row does not give take the model's default, so a field added to
    `Case` later needs nothing here.
    """
    if not rows:
        return
    now = timezone.now()
    fields = [f for f in Case._meta.concrete_fields if not f.primary_key]
    adapters = [_db_adapter(f) for f in fields]
    defaults = {f.attname: f.get_default() for f in fields}
    stamps = {"created_at": now, "updated_at": now}
    values = [[adapt(row.get(f.attname, stamps.get(f.attname, defaults[f.attname])))
               for f, adapt in zip(fields, adapters, strict=True)] for row in rows]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            _upsert_by_copy(cursor, fields, values)
        else:
            cursor.executemany(_upsert_sql(fields, "VALUES ({})".format(
                ", ".join(["%s"] * len(fields)))), values)


def _upsert_by_copy(cursor, fields, values):
    """PostgreSQL: COPY the rows into a temporary table, then upsert from it. COPY streams
    the rows through psycopg's C code; a statement with a parameter a value spends longer
    in Python than the database spends on the rows."""
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    # Dropped at commit; emptied first for a caller still inside a transaction.
    # Names come from the model's metadata and constants; no value is in the SQL.
    cursor.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS {UPSERT_TABLE} "  # noqa: S608
                   f"ON COMMIT DROP AS SELECT {columns} FROM {quote(Case._meta.db_table)} "
                   "WITH NO DATA")
    cursor.execute(f"TRUNCATE {UPSERT_TABLE}")
    # `copy` is psycopg's own: its errors are made Django's here, as `execute` makes them.
    with connection.wrap_database_errors, cursor.copy(
            f"COPY {UPSERT_TABLE} ({columns}) FROM STDIN") as copy:
        for row in values:
            copy.write_row(row)
    cursor.execute(_upsert_sql(fields, f"SELECT {columns} FROM {UPSERT_TABLE}"))  # noqa: S608


def _upsert_sql(fields, source):
    quote = connection.ops.quote_name
    updated = [Case._meta.get_field(name).column for name in (*UPSERT_FIELDS, "updated_at")]
    # Identifiers come from the model's metadata; every value is a parameter.
    return (f"INSERT INTO {quote(Case._meta.db_table)} "  # noqa: S608
            f"({', '.join(quote(f.column) for f in fields)}) {source} "
            f"ON CONFLICT ({quote('zendesk_ticket_id')}) DO UPDATE SET "
            + ", ".join(f"{quote(column)} = EXCLUDED.{quote(column)}" for column in updated))


def _db_adapter(model_field):
    if isinstance(model_field, models.JSONField):
        return lambda value: connection.ops.adapt_json_value(value, model_field.encoder)
    if isinstance(model_field, models.DateTimeField):
        adapt = connection.ops.adapt_datetimefield_value
        return lambda value: None if value is None else adapt(value)
    if isinstance(model_field, PLAIN_FIELDS):
        return _as_is  # the drivers take str, int, bool and None as they are
    return lambda value: model_field.get_db_prep_save(value, connection)


def _as_is(value):
    return value


def _is_older(ticket, before):
    """The export can lag behind a webhook that already stored a newer version."""
    stored = before["zendesk_updated_at"]
    return bool(stored and ticket.updated_at and ticket.updated_at < stored)


def _matches(rule, ticket):
    if rule.match == IntakeRule.Match.ALL:
        return True
    if rule.match == IntakeRule.Match.GROUP:
        return rule.group_id is not None and ticket.group_id == rule.group_id
    return bool(rule.tag) and rule.tag in ticket.tags


def _case_values(ticket, requester, before, stripe_field):
    """Every upserted field of the ticket's case: Zendesk's values, and the console's
    kept from `before` unless the ticket changes them."""
    values = {
        "zendesk_ticket_id": ticket.id,
        "subject": ticket.subject,
        "description": ticket.description,
        "requester_zendesk_id": ticket.requester_id,
        "zendesk_status": ticket.status,
        "zendesk_priority": ticket.priority or "",
        "zendesk_group_id": ticket.group_id,
        "tags": list(ticket.tags),
        "custom_fields": {str(f.id): f.value for f in ticket.custom_fields},
        "zendesk_created_at": ticket.created_at,
        "zendesk_updated_at": ticket.updated_at,
        **_requester_values(requester, before),
    }
    for name, limit in TEXT_LIMITS.items():
        values[name] = values[name][:limit]
    staff_category = before is not None and before["category_set_by_staff"]
    values["category"] = before["category"] if staff_category else infer_category(ticket)
    values.update(_state_values(ticket, before))
    values.update(_stripe_values(ticket, before, stripe_field))
    if before is None:
        values.update(_escalation_values(ticket))
    return values


def _escalation_values(ticket):
    """Who escalated the ticket, as it stands when first seen: its assignee, else the agent
    who filed it for the requester (a submitter other than the requester), and its group.
    Written once, when the case is created (not in UPSERT_FIELDS)."""
    agent = ticket.assignee_id
    if agent is None and ticket.submitter_id != ticket.requester_id:
        agent = ticket.submitter_id
    return {"escalated_by_zendesk_id": agent, "escalation_group_id": ticket.group_id}


def _requester_values(requester, before):
    """The side-loaded requester; when the page did not carry it, what the case had."""
    if requester is not None:
        return {"requester_name": requester.name, "requester_email": requester.email or ""}
    if before is not None:
        return {"requester_name": before["requester_name"],
                "requester_email": before["requester_email"]}
    return {"requester_name": "", "requester_email": ""}


def infer_category(ticket):
    """A custom field naming a category wins; then the first tag that names one."""
    for custom_field in ticket.custom_fields:
        if custom_field.value in FIELD_CATEGORIES:
            return custom_field.value
    for tag in ticket.tags:
        if tag in TAG_CATEGORY:
            return TAG_CATEGORY[tag]
    return Category.OTHER


def _state_values(ticket, before):
    return lifecycle.state_values(ticket, before)


STRIPE_FIELDS = ("stripe_customer_id", "stripe_link", "stripe_candidates")


def _stripe_values(ticket, before, stripe_field):
    """A customer newly named in the ticket's field is linked as `named`: the follow-up
    task verifies it in Stripe. Otherwise the case keeps its link, so a person's choice or
    Stripe's answer is not undone by the next change to the ticket."""
    named = _named_stripe_customer(ticket, stripe_field)
    kept = {name: before[name] for name in STRIPE_FIELDS} if before is not None else None
    newly_named = named and (before is None or named != _named_stripe_customer(
        before["custom_fields"], str(stripe_field)))
    if newly_named and not (kept and kept["stripe_customer_id"] == named
                            and kept["stripe_link"] == StripeLink.VERIFIED):
        return {"stripe_customer_id": named, "stripe_link": StripeLink.NAMED,
                "stripe_candidates": []}
    if kept is not None:
        return kept
    return {"stripe_customer_id": "", "stripe_link": StripeLink.NONE, "stripe_candidates": []}


def _named_stripe_customer(ticket, stripe_field):
    """The field's customer id, if it looks like one (the field is free text), from a
    ticket or from a case's stored `custom_fields` (keyed by the field id as text)."""
    if not stripe_field:
        return ""
    value = (ticket.get(stripe_field) if isinstance(ticket, dict)
             else ticket.custom_field(stripe_field))
    value = value.strip() if isinstance(value, str) else ""
    return value if STRIPE_CUSTOMER_ID.fullmatch(value) else ""


def _needs_stripe_lookup(before, values):
    if values["stripe_link"] == StripeLink.NAMED:
        return before is None or (before["stripe_link"], before["stripe_customer_id"]) != (
            StripeLink.NAMED, values["stripe_customer_id"])
    if values["stripe_link"] == StripeLink.VERIFIED or not values["requester_email"]:
        return False
    return before is None or before["requester_email"] != values["requester_email"]


def _opening_values(ticket, sla):
    priority = PRIORITIES.get(ticket.priority or "", Priority.NORMAL)
    opened_at = ticket.created_at or timezone.now()
    first_response, resolution = sla.get(priority, (None, None))
    return {
        "priority": priority,
        "first_response_due": opened_at + first_response if first_response else None,
        "resolution_due": opened_at + resolution if resolution else None,
    }


def _sla_table():
    """SLA targets by priority, read once per batch (see `services.sla_deadlines`)."""
    return {target.priority: (timedelta(hours=target.first_response_hours),
                              timedelta(hours=target.resolution_hours))
            for target in SlaTarget.objects.all()}


def _change_events(before, values):
    events = []
    case_id, now = before["pk"], timezone.now()
    if values["state"] != before["state"]:
        body = lifecycle.change_reason(before, values)
        events.append(CaseEvent(
            case_id=case_id, kind=CaseEvent.Kind.STATE, created_at=now, body=body,
            data={"before": before["state"], "after": values["state"], "source": "zendesk"}))
        _audit_state_change(case_id, values["zendesk_ticket_id"], before["state"],
                            values["state"], body)
    if (values["stripe_customer_id"], values["stripe_link"]) != (
            before["stripe_customer_id"], before["stripe_link"]):
        events.append(_stripe_link_event(
            case_id, values["zendesk_ticket_id"], before, values,
            f"Stripe customer {values['stripe_customer_id']} named on the Zendesk ticket; "
            "it is checked in Stripe before money can move", now=now))
    return events


def _stripe_link_event(case_id, ticket_id, before, after, body, *, now):
    """A change of the case's Stripe customer, by the sync or its Stripe follow-up: a
    timeline entry (returned, unsaved) and an audit event with before and after."""
    old = {"customer": before["stripe_customer_id"], "link": before["stripe_link"]}
    new = {"customer": after["stripe_customer_id"], "link": after["stripe_link"]}
    record(action="case.stripe_link_changed", source=Source.SYSTEM, object_type="case",
           object_id=case_id, case_id=case_id, zendesk_ticket_id=ticket_id,
           before=old, after=new, reason=body)
    return CaseEvent(case_id=case_id, kind=CaseEvent.Kind.LINK, created_at=now, body=body,
                     data={**new, "before": old,
                           "candidates": len(after.get("stripe_candidates") or [])})


def _audit_state_change(case_id, ticket_id, before, after, reason):
    """A state change Zendesk caused is answered for like one a person made."""
    record(action="case.state_changed", source=Source.SYSTEM, object_type="case",
           object_id=case_id, case_id=case_id, zendesk_ticket_id=ticket_id,
           before={"state": before}, after={"state": after}, reason=reason)


def _close_deleted_cases(ticket_ids, outcome):
    """Close the cases of deleted tickets, each with a timeline entry, once."""
    cases = list(Case.objects.select_for_update().filter(zendesk_ticket_id__in=ticket_ids)
                 .exclude(state=State.CLOSED, zendesk_status="deleted")
                 .only("pk", "state", "zendesk_ticket_id"))
    now = timezone.now()
    body = "The Zendesk ticket was deleted; the case is closed."
    CaseEvent.objects.bulk_create([
        CaseEvent(case_id=case.pk, kind=CaseEvent.Kind.SYNC, created_at=now, body=body,
                  data={"before": case.state, "after": State.CLOSED})
        for case in cases])
    for case in cases:
        _audit_state_change(case.pk, case.zendesk_ticket_id, case.state, State.CLOSED, body)
    Case.objects.filter(pk__in=[case.pk for case in cases]).update(
        state=State.CLOSED, zendesk_status="deleted", updated_at=now)
    outcome.closed += len(cases)


def _queue_follow_ups(outcome, *, fetch_comments):
    """After commit, one message hands the per-case work (comments, Stripe matching) to a
    task that queues a task per case: the page itself stays fast."""
    comment_ticket_ids = ([*outcome.new_ticket_ids, *outcome.comment_ticket_ids]
                          if fetch_comments else [])
    if not (comment_ticket_ids or outcome.stripe_lookup_ticket_ids):
        return
    stripe_ticket_ids = outcome.stripe_lookup_ticket_ids
    transaction.on_commit(lambda: _queue_case_follow_ups(comment_ticket_ids,
                                                         stripe_ticket_ids))


def _queue_case_follow_ups(comment_ticket_ids, stripe_ticket_ids):
    """Once the cases are committed: a ticket whose webhook is still waiting has its comments
    read when that webhook is handled, after this commit, so it needs no read of its own."""
    from cases.tasks import queue_case_follow_ups

    waiting = tickets_with_webhooks_waiting(comment_ticket_ids)
    comment_ticket_ids = [ticket for ticket in comment_ticket_ids if ticket not in waiting]
    if comment_ticket_ids or stripe_ticket_ids:
        queue_case_follow_ups.delay(comment_ticket_ids=comment_ticket_ids,
                                    stripe_ticket_ids=stripe_ticket_ids)


# --- matching a Stripe customer by email (a task calls Stripe first) ----------------------


def wants_stripe_match(case):
    """A customer named on the ticket waits for Stripe's word; an unverified case with an
    email is matched by it."""
    if case.stripe_link == StripeLink.NAMED:
        return True
    return case.stripe_link != StripeLink.VERIFIED and bool(case.requester_email)


@transaction.atomic
def record_stripe_match(*, case_id, email, customers):
    """Store what looking `email` up in Stripe found: one customer is linked unverified
    (a specialist confirms it before money moves), several are kept as candidates to
    choose from. Nothing changes if the case moved on meanwhile (linked for certain,
    named on the ticket, another email)."""
    case = Case.objects.select_for_update().filter(pk=case_id).first()
    if (case is None or not wants_stripe_match(case) or case.stripe_link == StripeLink.NAMED
            or case.requester_email != email):
        return case
    link, customer_id, candidates, body = _email_match(customers)
    _set_stripe_link(case, link, customer_id, candidates, body)
    return case


@transaction.atomic
def record_named_customer_check(*, case_id, customer_id, exists, email="", customers=()):
    """Store Stripe's answer on the customer named on the ticket: verified when Stripe has
    it; otherwise the requester's email decides, as `record_stripe_match` does (`customers`
    are those with `email`). Nothing changes if the case moved on meanwhile."""
    case = Case.objects.select_for_update().filter(pk=case_id).first()
    if case is None or (case.stripe_link, case.stripe_customer_id) != (
            StripeLink.NAMED, customer_id):
        return case
    if exists:
        _set_stripe_link(case, StripeLink.VERIFIED, customer_id, [],
                         f"Stripe customer {customer_id} named on the Zendesk ticket exists "
                         "in Stripe: verified")
        return case
    if case.requester_email and case.requester_email == email:
        link, matched, candidates, found = _email_match(customers)
    else:
        link, matched, candidates, found = StripeLink.NONE, "", [], "No email to match by"
    _set_stripe_link(case, link, matched, candidates,
                     f"The Zendesk ticket names {customer_id}, which Stripe does not have. "
                     f"{found}")
    return case


def _email_match(customers):
    """(link, customer id, candidates, words) for the customers having the email."""
    candidates = [{"id": c.id, "name": c.name or "", "email": c.email or ""} for c in customers]
    if len(customers) == 1:
        customer_id = customers[0].id
        return (StripeLink.UNVERIFIED, customer_id, candidates,
                f"Stripe customer {customer_id} matched by the requester's email "
                "(unverified: a specialist confirms it before money can move)")
    if customers:
        return (StripeLink.AMBIGUOUS, "", candidates,
                f"{len(customers)} Stripe customers share the requester's email; choose one")
    return StripeLink.NONE, "", candidates, "No Stripe customer has the requester's email"


def _set_stripe_link(case, link, customer_id, candidates, body):
    """Change the locked case's link, with its timeline entry and audit event; nothing if
    it is the same."""
    before = {name: getattr(case, name) for name in STRIPE_FIELDS}
    after = {"stripe_customer_id": customer_id, "stripe_link": link,
             "stripe_candidates": candidates}
    if before == after:
        return
    for name, value in after.items():
        setattr(case, name, value)
    case.save(update_fields=[*STRIPE_FIELDS, "updated_at"])
    _stripe_link_event(case.pk, case.zendesk_ticket_id, before, after, body,
                       now=timezone.now()).save()


# --- the Stripe customer field, the state row, the lock -----------------------------------


_stripe_field_ids = {}


def stripe_field_id():
    """The "Stripe customer id" field's id in this Zendesk account, asked once per account
    and process (field ids never change; an account without the field is asked again)."""
    account = (settings.ZENDESK_API_URL, settings.ZENDESK_SUBDOMAIN)
    if _stripe_field_ids.get(account) is None:
        _stripe_field_ids[account] = zendesk.find_ticket_field_id(STRIPE_FIELD_TITLE)
    return _stripe_field_ids[account]


def sync_state():
    return SyncState.objects.get_or_create(pk=SINGLETON_PK)[0]


def _sync_state_update(**fields):
    sync_state()  # the row is made by a migration; a flushed test database lacks it
    SyncState.objects.filter(pk=SINGLETON_PK).update(**fields)


def _sync_lock():
    """A context manager yielding whether this run holds the lock that keeps sync runs
    from overlapping.

    It is held for the whole run, outside any transaction (the run calls Zendesk), and
    goes away with the process that held it: PostgreSQL's session advisory lock ends with
    the connection, a `flock` with the process. SQLite runs on one machine, so a lock file
    next to the database is enough; an in-memory database (tests, benchmarks) belongs to
    one process, so a lock in that process is.
    """
    if connection.vendor == "postgresql":
        return _advisory_lock()
    if connection.is_in_memory_db():
        return _process_lock()
    digest = hashlib.sha256(str(connection.settings_dict["NAME"]).encode()).hexdigest()
    return _file_lock(settings.VAR_DIR / f"zendesk-sync-{digest[:16]}.lock")


@contextmanager
def _advisory_lock():
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [SYNC_LOCK_KEY])
        held = cursor.fetchone()[0]
    try:
        yield held
    finally:
        if held:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [SYNC_LOCK_KEY])


@contextmanager
def _file_lock(path):
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


_in_process_lock = threading.Lock()


@contextmanager
def _process_lock():
    held = _in_process_lock.acquire(blocking=False)
    try:
        yield held
    finally:
        if held:
            _in_process_lock.release()


# --- health --------------------------------------------------------------------------------


def sync_health(*, now=None):
    """For admins: when the sync last ran and succeeded, how far behind Zendesk it is (now
    minus the newest ticket change it has stored: on a quiet day, only how long nobody
    changed a ticket) and its last error, failing when that error is newer than the last
    success; late when it has not succeeded for two of its runs (one may be under way)."""
    state = sync_state()
    now = now or timezone.now()
    newest = state.newest_ticket_updated_at
    failing = bool(state.last_error_at) and (
        state.last_success_at is None or state.last_error_at > state.last_success_at)
    every = sync_every()
    return SyncHealth(
        last_run_at=state.last_run_at, last_success_at=state.last_success_at,
        newest_ticket_updated_at=newest, lag=now - newest if newest else None,
        last_error=state.last_error, last_error_at=state.last_error_at, failing=failing,
        every=every, late=state.last_success_at is not None
        and now - state.last_success_at > 2 * every)


def sync_every():
    """How often the sync runs by itself, as its entry in the beat schedule says (a
    timedelta)."""
    return next(timedelta(seconds=entry["schedule"])
                for entry in celery_app.conf.beat_schedule.values()
                if entry["task"] == "cases.tasks.sync_zendesk")

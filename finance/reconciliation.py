"""Reconciliation: the console's money actions against Stripe's own record of a period.

Four kinds of change are compared, each known by the Stripe object it made, and each
attributed through the ledger of Stripe money (a credit memo's refund is the memo's):

- refunds: console refunds against the refunds Stripe created in the period (those that
  moved or are moving money: a failed or canceled refund gave nothing back);
- credit notes: console credit memos against the credit notes Stripe created;
- customer balance transactions: console balance credits and debits against the
  adjustments Stripe made to customers' balances. Stripe lists them customer by customer
  only, so the customers read are those whose balance moved in the period as far as
  the console knows (its own balance actions, and the ledger, which the `customer.updated`
  webhook fills for changes made outside it), and those whose balance Stripe's
  `customer.updated` events show moving (Stripe lists events for 30 days);
- invoice status changes: console voids, write-offs and out-of-band payments against
  Stripe's `invoice.voided` and `invoice.marked_uncollectible` events. Stripe's
  `invoice.paid` is left out of the listing: it is raised for every paid invoice and does
  not say whether the money came outside Stripe, so an out-of-band payment is checked
  only from the console's side, on the invoice's `status_transitions`.

The console's side is its money actions that succeeded (`settled_at`) in the period.
A change seen on both sides is matched, or its amounts differ; one Stripe has and the
console has not recorded as done is "in Stripe only" (made outside the console, say); one
the console recorded that Stripe does not have is "in the console only". A change near
midnight can be in Stripe on one day and settled in the console on the next, so each side
is looked up on the other beyond the period before it is called missing: a console change
is looked for in Stripe by its kind's executor (`find`), the same lookup that settles a
lost submission.

A run is a Celery job over any period up to a year: Stripe is read a day at a time,
outside any transaction, and each day's items are stored as it is done ("The run as a
job" below). A difference is flagged to finance until someone explains it, with a note;
several can be explained with one note, and once explained a difference is explained in
every run that reports it. The reads the reconciliation pages need are at the end.
"""

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import (
    Case,
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)
from django.utils import timezone

from audit.models import AuditEvent, Source
from audit.models import Outcome as AuditOutcome
from audit.services import Origin, record
from billing_console.access import Capability, has_capability
from billing_console.exceptions import ApplicationError
from billing_console.integrations.stripe import gateway
from billing_console.integrations.stripe.errors import PermanentStripeError
from billing_console.notes import check_note_length
from billing_console.parsing import whole_number
from cases.models import Case as CaseRow
from finance.models import (
    GOING,
    ONE_GOING_PER_PERIOD,
    Match,
    ReconciledObject,
    ReconciliationItem,
    ReconciliationRun,
)
from finance.periods import Period
from money_actions.kinds import action_id_from_key, action_id_from_metadata, all_kinds
from money_actions.ledger import (
    INVOICE_STATUS_EVENTS,
    REFUND_MOVING_MONEY,
    carries_out_another,
)
from money_actions.models import LedgerEntry, MoneyAction, State

REPORT_ROWS = 500
# Ids per `IN (...)` lookup: well under every database's limit on query parameters.
LOOKUP_BATCH = 500
# How long Stripe keeps events to list.
STRIPE_EVENT_DAYS = 30
# The event Stripe raises when a customer's balance moves (`previous_attributes.balance`).
BALANCE_MOVED_EVENT = "customer.updated"


# One change, as one side records it ----------------------------------------------------


@dataclass(frozen=True)
class Change:
    object_type: str
    stripe_object_id: str
    invoice_status: str
    amount: int | None
    currency: str
    happened_at: datetime | None
    # The console action that made it: the console's own, or the one Stripe's metadata
    # or request names.
    money_action_id: uuid.UUID | None = None
    case_id: int | None = None
    customer: str = ""
    tax: int | None = None  # of `amount`, as Stripe states it (credit notes)

    @property
    def key(self):
        return (self.object_type, self.stripe_object_id, self.invoice_status)


def _moment(seconds):
    return datetime.fromtimestamp(seconds, tz=UTC) if seconds else None


def _as_case_id(value):
    return whole_number(value)


# Stripe's side -------------------------------------------------------------------------


def stripe_changes(period):
    """Every change Stripe records in the period. Network: call outside a transaction."""
    bounds = period.stripe_bounds()
    refunds = [_refund_change(refund) for refund in gateway.refunds_created(**bounds)
               if refund.status in REFUND_MOVING_MONEY]
    notes = [_credit_note_change(note) for note in gateway.credit_notes_created(**bounds)]
    events = gateway.events_created(types=[*INVOICE_STATUS_EVENTS, BALANCE_MOVED_EVENT],
                                    **bounds)
    invoices = [_invoice_change(event) for event in events
                if event.type in INVOICE_STATUS_EVENTS]
    moved = {event.object_id for event in events if event.type == BALANCE_MOVED_EVENT
             and "balance" in (event.previous_attributes or {})}
    return [*refunds, *notes, *invoices, *_balance_changes(period, bounds, moved)]


def _balance_changes(period, bounds, moved):
    """Balance adjustments of the customers whose balance moved in the period, as the
    console knows it or Stripe's events (`moved`, customer ids) show it: Stripe lists a
    customer's balance transactions only customer by customer. A balance transaction a
    credit note made is the note's, compared with it."""
    changes = []
    for customer in sorted((_customers_with_balance_moves(period) | moved) - {None, ""}):
        changes += [_balance_change(transaction) for transaction in
                    gateway.balance_transactions_created(customer_id=customer, **bounds)
                    if transaction.type == "adjustment"]
    return changes


def _customers_with_balance_moves(period):
    kinds = [slug for slug, (object_type, _) in _compared_kinds().items()
             if object_type == ReconciledObject.BALANCE_TRANSACTION]
    console = MoneyAction.objects.filter(kind__in=kinds, settled_at__gte=period.starts_at,
                                         settled_at__lt=period.ends_at)
    ledger = LedgerEntry.objects.filter(entry_type=ReconciledObject.BALANCE_TRANSACTION,
                                        stripe_created_at__gte=period.starts_at,
                                        stripe_created_at__lt=period.ends_at)
    return {*console.values_list("stripe_customer_id", flat=True),
            *ledger.values_list("stripe_customer_id", flat=True)} - {""}


def _balance_change(transaction):
    """What moved, unsigned, as the console records it (a credit or a debit)."""
    return Change(ReconciledObject.BALANCE_TRANSACTION, transaction.id, "",
                  abs(transaction.amount), transaction.currency, _moment(transaction.created),
                  action_id_from_metadata(transaction.metadata), customer=transaction.customer)


def _refund_change(refund):
    return Change(ReconciledObject.REFUND, refund.id, "", refund.amount, refund.currency,
                  _moment(refund.created), action_id_from_metadata(refund.metadata),
                  _as_case_id(refund.metadata.get("case_id")))


def _credit_note_change(note):
    return Change(ReconciledObject.CREDIT_NOTE, note.id, "", note.amount, note.currency,
                  _moment(note.created), action_id_from_metadata(note.metadata),
                  _as_case_id(note.metadata.get("case_id")), tax=note.tax)


def _invoice_change(event):
    """What the invoice no longer asks for, as the event shows it at the change."""
    invoice = event.data.get("object") or {}
    return Change(ReconciledObject.INVOICE_STATUS, invoice.get("id", ""),
                  INVOICE_STATUS_EVENTS[event.type], invoice.get("amount_remaining"),
                  invoice.get("currency", ""), _moment(event.created),
                  action_id_from_key(event.idempotency_key))


def found_in_stripe(console_change):
    """The console's change as Stripe has it now, whenever it was made: what its kind's
    executor finds (the lookup that also settles a lost submission); None when Stripe has
    no such change, or one that moved no money (a failed refund). Network."""
    action = MoneyAction.objects.filter(pk=console_change.money_action_id).first()
    try:
        outcome = action.kind_def.executor.find(action) if action else None
    except PermanentStripeError as error:
        if error.code == "resource_missing":
            return None
        raise
    if outcome is None or outcome.state in (State.FAILED, State.CANCELED):
        return None
    fact = next((fact for fact in outcome.ledger
                 if fact.entry_type == console_change.object_type), None)
    return None if fact is None else Change(
        fact.entry_type, fact.stripe_id, fact.invoice_status, abs(fact.amount), fact.currency,
        _moment(fact.created), action.pk, customer=fact.customer, tax=fact.tax)


# The console's side --------------------------------------------------------------------


def _compared_kinds():
    """The kinds compared, by slug, with the change in Stripe each one makes: its ledger
    type (a reconciled object type) and, for an invoice status change, the status."""
    compared = {ReconciledObject.REFUND, ReconciledObject.CREDIT_NOTE,
                ReconciledObject.INVOICE_STATUS, ReconciledObject.BALANCE_TRANSACTION}
    return {kind.slug: (kind.ledger_type, kind.ledger_variant
                        if kind.ledger_type == ReconciledObject.INVOICE_STATUS else "")
            for kind in all_kinds()
            if kind.ledger_type in compared and kind.ledger_variant != "void"
            or kind.ledger_type == ReconciledObject.INVOICE_STATUS}


def _console_change(action):
    object_type, invoice_status = _compared_kinds()[action.kind]
    return Change(object_type, action.stripe_object_id, invoice_status, action.amount,
                  action.currency, action.settled_at, action.pk, action.case_id,
                  customer=action.stripe_customer_id)


def _succeeded_actions():
    return MoneyAction.objects.filter(state=State.SUCCEEDED, kind__in=list(_compared_kinds()))


def console_changes(period):
    """The console's changes that succeeded in the period."""
    actions = _succeeded_actions().filter(settled_at__gte=period.starts_at,
                                          settled_at__lt=period.ends_at)
    return [_console_change(action) for action in actions.order_by("settled_at")]


def console_changes_of(stripe_ids):
    """The console's succeeded changes to these Stripe objects, whenever they settled."""
    return {change.key: change for batch in _batches(stripe_ids)
            for change in map(_console_change,
                              _succeeded_actions().filter(stripe_object_id__in=batch))}


def _batches(ids):
    """The ids in lists short enough for one `IN (...)`, whatever the database allows."""
    ids = sorted(set(ids))
    return [ids[start:start + LOOKUP_BATCH] for start in range(0, len(ids), LOOKUP_BATCH)]


# Comparing -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Pair:
    """One change, as each side has it; either may be missing."""

    console: Change | None
    stripe: Change | None

    @property
    def match(self):
        if self.console is None:
            return Match.STRIPE_ONLY
        if self.stripe is None:
            return Match.CONSOLE_ONLY
        if (self.console.amount, self.console.currency.lower()) != (
                self.stripe.amount, self.stripe.currency.lower()):
            return Match.AMOUNTS_DIFFER
        return Match.MATCHED

    @property
    def either(self):
        return self.console or self.stripe

    @property
    def money_action_id(self):
        return self.either.money_action_id

    @property
    def case_id(self):
        sides = (side for side in (self.console, self.stripe) if side and side.case_id)
        return next((side.case_id for side in sides), None)

    @property
    def happened_at(self):
        """Stripe's time when Stripe has the change: it is the one the period is about."""
        return (self.stripe or self.console).happened_at


def carried_out(changes):
    """The console's side of Stripe's changes that only carry out a console action of
    another kind (a credit memo's refund), from the ledger: the same change, as the
    console caused it. By change key."""
    ids = [change.stripe_object_id for change in changes]
    entries = {(entry.entry_type, entry.stripe_id): entry for batch in _batches(ids)
               for entry in LedgerEntry.objects.filter(stripe_id__in=batch,
                                                       money_action__state=State.SUCCEEDED)
               .select_related("money_action")}
    found = {}
    for change in changes:
        entry = entries.get((change.object_type, change.stripe_object_id))
        if entry is not None and carries_out_another(entry):
            action = entry.money_action
            found[change.key] = replace(change, happened_at=action.settled_at,
                                        money_action_id=action.pk, case_id=action.case_id)
    return found


def compare(period, *, already=frozenset()):
    """Every change of the period on either side, paired, except those whose key is in
    `already` (changes a run has stored on an earlier day: neither paired again nor looked
    up in Stripe again). Reads Stripe: call it outside a transaction."""
    in_stripe = [change for change in stripe_changes(period) if change.key not in already]
    known = console_changes_of({change.stripe_object_id for change in in_stripe})
    known |= carried_out([change for change in in_stripe if change.key not in known])
    pairs = [Pair(known.get(change.key), change) for change in in_stripe]
    seen = {change.key for change in in_stripe} | set(already)
    for change in console_changes(period):
        if change.key not in seen:
            seen.add(change.key)
            pairs.append(Pair(change, found_in_stripe(change)))
    return pairs


# The run as a job -----------------------------------------------------------------------
#
# A page (or the nightly task) asks for a run: `reconciliation_request` writes it queued,
# with its audit event, and queues `finance.tasks.run_reconciliation` when that commits.
# The web request never reads Stripe. The task (`reconciliation_job`) works through the
# period a day at a time: it reads Stripe for the day with no transaction open, then
# stores the day's items and moves the run's progress in one transaction, under the run's
# row lock. A day is the unit because it is what finance reads the progress in, it keeps
# each transaction small however busy the period, and a task delivered again (a worker
# lost) loses at most the day it was reading: it resumes at `days_done`. One run of a
# period goes at a time: asking again while one is queued or running shows that one.
#
# A change can be in Stripe on one day and settled in the console on the next: each day
# looks the other side up beyond the day, so both days find it. The job stores it once,
# on the first day that finds it, and skips the lookup on later days (the run's keys are
# unique: object type, Stripe id, invoice status). The counts are recomputed from the
# items in the transaction that stores them, so they always equal the items.


class RunAlreadyGoing(ApplicationError):
    """A run of the period asked for is already queued or running: `run`, the one to show
    instead of starting a second."""

    def __init__(self, run):
        super().__init__(f"A reconciliation of this period is already running: run "
                         f"#{run.pk}, {run.period_start} to {run.period_end}. Another can "
                         "start once it is done.", "already_running", status=409)
        self.run = run


@transaction.atomic
def reconciliation_request(*, period, actor=None, origin=None, queue=True):
    """Ask for a run of `period` (a `Period`, already checked by `Period.to_reconcile`):
    the queued `ReconciliationRun`, with its `reconciliation.requested` audit event; the
    task that runs it is queued when this commits (unless `queue` is False: the caller
    runs `reconciliation_job` itself). `actor` None is the nightly task.

    One run of a period goes at a time: when one is queued or running, this raises
    `RunAlreadyGoing` naming it (a form sent twice would otherwise read Stripe twice for
    the same report); a finished run does not count. What makes this hold for two
    requests at the same time is the partial unique constraint on the period of the runs
    going (`ONE_GOING_PER_PERIOD`), not the look-up before the insert: there is no row to
    lock before the first run of a period exists (a row lock would need one per period,
    or the whole table locked, serialising every request), whereas the unique index makes
    the second insert wait for the first transaction and then fail if it committed, or
    go on if it rolled back, whoever asks (page, nightly task, script), and a run leaves
    the index as it finishes."""
    from finance.tasks import run_reconciliation

    run = _new_run(period, actor)
    origin = origin or Origin(source=Source.CONSOLE if actor else Source.SYSTEM)
    record(action="reconciliation.requested", actor=actor, ip=origin.ip,
           source=origin.source, object_type="reconciliation_run", object_id=run.pk,
           after={"period_start": period.since, "period_end": period.until,
                  "days": period.days},
           reason=f"Reconcile {period.since} to {period.until} with Stripe.")
    if queue:
        transaction.on_commit(lambda: run_reconciliation.delay(run.pk))
    return run


def _new_run(period, actor):
    """The period's new run, queued; `RunAlreadyGoing` when one is queued or running."""
    for _ in range(2):  # twice: the run in the way may have finished meanwhile
        going = _run_going(period)
        if going is not None:
            raise RunAlreadyGoing(going)
        try:
            with transaction.atomic():
                return ReconciliationRun.objects.create(
                    period_start=period.since, period_end=period.until, started_by=actor,
                    days_total=period.days)
        except IntegrityError as error:
            if _constraint_broken(error) != ONE_GOING_PER_PERIOD:
                raise
    raise ApplicationError("Another reconciliation of this period was asked for at the "
                           "same moment; try again.", "already_running", status=409)


def _run_going(period):
    """The run of exactly `period` queued or running, if there is one."""
    return ReconciliationRun.objects.filter(period_start=period.since,
                                            period_end=period.until,
                                            status__in=GOING).order_by("pk").first()


def _constraint_broken(error):
    """The name of the constraint an IntegrityError broke, as PostgreSQL reports it."""
    diag = getattr(error.__cause__, "diag", None)
    return getattr(diag, "constraint_name", None)


def reconciliation_job(run_id):
    """Run the run `run_id` to its end, from the first day not done. Reads Stripe, one day
    at a time, outside any transaction: call it from a task. Returns the run, or None when
    there is nothing for this call to do (the run is finished, or another delivery of the
    task has moved it on). Raises the gateway's errors: `TransientStripeError` (retry;
    what is stored is kept) or `PermanentStripeError`."""
    run = _begin(run_id)
    if run is None:
        return None
    period = Period(run.period_start, run.period_end)
    stored = set(run.items.values_list("object_type", "stripe_object_id", "invoice_status"))
    for index in range(run.days_done, run.days_total):
        pairs = compare(period.day(index), already=stored)
        run = _store_day(run_id, index, pairs)
        if run is None:
            return None
        stored |= {pair.either.key for pair in pairs}
    return _finish(run_id)


def reconciliation_run(*, period, actor=None, origin=None):
    """Ask for a run of `period` and run it here, to its end: for scripts and tests that
    want the report at once. Reads Stripe: call it outside a transaction."""
    run = reconciliation_request(period=period, actor=actor, origin=origin, queue=False)
    return reconciliation_job(run.pk) or ReconciliationRun.objects.get(pk=run.pk)


@transaction.atomic
def _begin(run_id):
    run = ReconciliationRun.objects.select_for_update().filter(pk=run_id).first()
    if run is None or run.is_finished:
        return None
    if run.status == ReconciliationRun.Status.QUEUED:
        run.status = ReconciliationRun.Status.RUNNING
        run.save(update_fields=["status"])
    return run


@transaction.atomic
def _store_day(run_id, index, pairs):
    """Keep one day's items and count it done; None if the run is no longer at that day."""
    run = ReconciliationRun.objects.select_for_update().get(pk=run_id)
    if run.status != ReconciliationRun.Status.RUNNING or run.days_done != index:
        return None
    items = list(_items(run, _once(pairs)))
    run.explanations_carried += _carry_explanations(items)
    ReconciliationItem.objects.bulk_create(items)
    counts = dict(run.items.values_list("match").annotate(Count("pk")))
    for match in Match:
        setattr(run, f"{match}_count", counts.get(match.value, 0))
    run.days_done, run.error = index + 1, ""
    run.save()
    return run


def _once(pairs):
    """The pairs, each change once (by key), the first kept."""
    return list({pair.either.key: pair for pair in reversed(pairs)}.values())[::-1]


@transaction.atomic
def _finish(run_id):
    run = ReconciliationRun.objects.select_for_update().get(pk=run_id)
    if run.status != ReconciliationRun.Status.RUNNING or run.days_done != run.days_total:
        return None
    run.status, run.finished_at, run.error = ReconciliationRun.Status.DONE, timezone.now(), ""
    run.save(update_fields=["status", "finished_at", "error"])
    counts = {match.value: run.count_of(match) for match in Match}
    record(action="reconciliation.run", actor=run.started_by, source=Source.SYSTEM,
           object_type="reconciliation_run", object_id=run.pk,
           after={"period_start": run.period_start, "period_end": run.period_end, **counts,
                  "explanations_carried": run.explanations_carried},
           reason=f"Reconciled {run.period_start} to {run.period_end} with Stripe.")
    return run


@transaction.atomic
def reconciliation_fail(*, run_id, message):
    """The run stops for good: `failed`, with `message` (what happened and what to do)
    shown on its report and in a `reconciliation.failed` audit event. The days stored so
    far stay in the report. Nothing happens to a finished run."""
    run = ReconciliationRun.objects.select_for_update().filter(pk=run_id).first()
    if run is None or run.is_finished:
        return run
    run.status, run.error, run.finished_at = (ReconciliationRun.Status.FAILED, message,
                                              timezone.now())
    run.save(update_fields=["status", "error", "finished_at"])
    record(action="reconciliation.failed", actor=run.started_by, source=Source.SYSTEM,
           object_type="reconciliation_run", object_id=run.pk, outcome=AuditOutcome.FAILURE,
           after={"period_start": run.period_start, "period_end": run.period_end,
                  "days_done": run.days_done, "days_total": run.days_total},
           reason=message)
    return run


def reconciliation_note_retry(*, run_id, message):
    """Say on a running run's report why it is waiting (Stripe did not answer; the task
    tries again). Cleared by the next day stored."""
    ReconciliationRun.objects.filter(pk=run_id, status__in=[
        ReconciliationRun.Status.QUEUED, ReconciliationRun.Status.RUNNING]).update(error=message)


def runs_waiting_since(moment):
    """Runs still queued since before `moment`: their task's message was lost (the row is
    the outbox); the nightly task queues them again."""
    return list(ReconciliationRun.objects.filter(status=ReconciliationRun.Status.QUEUED,
                                                 created_at__lt=moment)
                .values_list("pk", flat=True))


def _items(run, pairs):
    cases = _cases_from_trail([pair.either.stripe_object_id for pair in pairs])
    for pair in pairs:
        either = pair.either
        yield ReconciliationItem(
            run=run, object_type=either.object_type, stripe_object_id=either.stripe_object_id,
            invoice_status=either.invoice_status, match=pair.match,
            money_action_id=pair.money_action_id,
            console_amount=pair.console.amount if pair.console else None,
            stripe_amount=pair.stripe.amount if pair.stripe else None,
            stripe_tax=pair.stripe.tax if pair.stripe else None,
            currency=either.currency.lower(),
            case_id=pair.case_id or cases.get(either.stripe_object_id),
            happened_at=pair.happened_at)


def _cases_from_trail(stripe_ids):
    """The case each Stripe object was recorded on, as the audit trail has it: how a
    change made outside the console finds its case."""
    return {stripe_id: case_id for batch in _batches(stripe_ids)
            for stripe_id, case_id in AuditEvent.objects.filter(
                stripe_object_id__in=batch, case_id__isnull=False)
            .order_by("id").values_list("stripe_object_id", "case_id")}


def _carry_explanations(items):
    """Differences already explained in an earlier run stay explained in this one: the
    unsaved `items` take the latest explanation. Returns how many did."""
    differences = [item for item in items if item.is_difference]
    explained = {_difference_key(item): item
                 for batch in _batches(item.stripe_object_id for item in differences)
                 for item in ReconciliationItem.objects.filter(
                     stripe_object_id__in=batch, explained_at__isnull=False)
                 .order_by("explained_at")}
    carried = 0
    for item in differences:
        earlier = explained.get(_difference_key(item))
        if earlier is not None:
            item.explained_by_id, item.explained_at = earlier.explained_by_id, earlier.explained_at
            item.explanation = earlier.explanation
            carried += 1
    return carried


def _difference_key(item):
    return (item.object_type, item.stripe_object_id, item.invoice_status, item.match)


# Explaining differences ----------------------------------------------------------------


@transaction.atomic
def reconciliation_items_explain(*, item_ids, note, actor, origin=None):
    """Finance says why some differences are not a problem, or what was done about them,
    with one note for them all. `item_ids`: ReconciliationItem ids (any runs, repeats
    ignored). Returns the items, explained, in id order.

    All or none: every row the call may change is locked first (`_lock_to_explain`) and
    the items checked; an ApplicationError says why nothing was explained: none chosen
    ("nothing_chosen", 400), one gone ("not_found", 404), one of a run still going
    ("run_not_done", 409: a run's differences are explained once it is finished, as its
    report says), a matched one ("matched", 409), one explained already
    ("already_explained", 409), no note ("note_required", 400).
    The same difference reported by other runs (same change, same class, not yet
    explained) is explained with each item, as one explanation holds for it everywhere.

    One `reconciliation.explained` audit event per item, each with the whole note: an
    event names one Stripe object, amount and case, which is how finance finds it in the
    trail (by case, by Stripe id, by amount); `after["explained_together"]` lists the
    items explained by the same note, so the batch can be read back from any of them."""
    ids = sorted(set(item_ids))
    if not ids:
        raise ApplicationError("Choose at least one difference to explain.",
                               "nothing_chosen")
    locked = _lock_to_explain(ids)
    chosen = set(ids)
    items = [row for row in locked if row.pk in chosen]
    if len(items) != len(ids):
        raise ApplicationError("Some of the chosen differences no longer exist; reload the "
                               "report and choose again.", "not_found", status=404)
    going = _runs_still_going({item.run_id for item in items})
    if going:
        run = going[0]
        raise ApplicationError(f"Run #{run.pk} is still going ({run.days_done} of "
                               f"{run.days_total} days reconciled): differences can be "
                               "explained once the run is done. Nothing was explained.",
                               "run_not_done", status=409)
    note = (note or "").strip()
    for item in items:
        if not item.is_difference:
            raise ApplicationError(f"A matched item needs no explanation. {_named(item)} "
                                   "is matched; nothing was explained.",
                                   "matched", status=409)
        if item.explained_at is not None:
            raise ApplicationError(f"{_named(item)} is already explained. Nothing was "
                                   "explained; choose only differences still waiting.",
                                   "already_explained", status=409)
    if not note:
        raise ApplicationError("A note is required: say why, or what was done.",
                               "note_required")
    check_note_length(note)
    same = _same_differences(items, locked)
    now = timezone.now()
    ReconciliationItem.objects.filter(pk__in=[pk for pks in same.values() for pk in pks]) \
        .update(explained_by=actor, explained_at=now, explanation=note)
    origin = origin or Origin()
    for item in items:
        _audit_explained(item, same[item.pk], ids, note, actor, origin)
    return list(ReconciliationItem.objects.filter(pk__in=ids).order_by("pk"))


def reconciliation_item_explain(*, item_id, note, actor, origin=None):
    """One difference explained: `reconciliation_items_explain` of one item, returned."""
    [item] = reconciliation_items_explain(item_ids=[item_id], note=note, actor=actor,
                                          origin=origin)
    return item


def _named(item):
    return f"{item.get_object_type_display()} {item.stripe_object_id}"


def _lock_to_explain(ids):
    """Every row explaining the items `ids` may change, locked, in id order: the items,
    and the items of the same changes not yet explained (in any run: the same difference
    in another run is explained with them).

    One `SELECT ... FOR UPDATE ... ORDER BY id`, so that two explainers always lock in
    the same order and wait for each other rather than deadlock: explaining one
    difference from two runs at once, each locking its own item first and then the
    other's, deadlocked. Which changes to look for is read first, unlocked (an item's
    change never changes); the lock statement checks again what it locks: a row another
    explainer explained meanwhile is left out, unless it is one of `ids` (then the
    caller refuses it as already explained). More rows than will change may be locked
    (the same change, another class), never fewer."""
    changes = list(ReconciliationItem.objects.filter(pk__in=ids)
                   .values_list("object_type", "stripe_object_id"))
    rows = Q(pk__in=ids)
    if changes:
        rows |= Q(object_type__in={object_type for object_type, _ in changes},
                  stripe_object_id__in={stripe_id for _, stripe_id in changes},
                  explained_at__isnull=True)
    return list(ReconciliationItem.objects.select_for_update().filter(rows).order_by("pk"))


def _runs_still_going(run_ids):
    """The runs among `run_ids` not finished (queued or running), oldest first."""
    return list(ReconciliationRun.objects.filter(pk__in=run_ids, status__in=GOING)
                .order_by("pk"))


def _same_differences(items, locked):
    """For each item, its id and those of the same difference not yet explained in other
    runs, from the rows `_lock_to_explain` locked."""
    chosen = {item.pk for item in items}
    wanted = {_difference_key(item): item.pk for item in items}
    found = {item.pk: {item.pk} for item in items}
    for other in locked:
        owner = wanted.get(_difference_key(other))
        if other.pk not in chosen and other.explained_at is None and owner is not None:
            found[owner].add(other.pk)
    return {pk: sorted(pks) for pk, pks in found.items()}


def _audit_explained(item, explained_ids, together, note, actor, origin):
    record(action="reconciliation.explained", actor=actor, ip=origin.ip, source=origin.source,
           object_type="reconciliation_item", object_id=item.pk,
           after={"run": item.run_id, "class": item.match, "object_type": item.object_type,
                  "items": explained_ids, "explained_together": together,
                  "money_action": str(item.money_action_id) if item.money_action_id else None},
           amount=item.stripe_amount if item.stripe_amount is not None else item.console_amount,
           currency=item.currency, case_id=item.case_id,
           stripe_object_id=item.stripe_object_id, reason=note)


# Reads for the pages -------------------------------------------------------------------


def recent_runs(limit=50):
    return ReconciliationRun.objects.select_related("started_by")[:limit]


def unexplained_differences():
    """Differences nobody has explained yet, in finished runs (done, or failed part way)
    that no newer run of the same period, done, replaced: what finance is asked to look
    at. A run still going is flagged once it is done."""
    newer = ReconciliationRun.objects.filter(
        period_start=OuterRef("run__period_start"), period_end=OuterRef("run__period_end"),
        pk__gt=OuterRef("run_id"), status=ReconciliationRun.Status.DONE)
    finished = [ReconciliationRun.Status.DONE, ReconciliationRun.Status.FAILED]
    return (ReconciliationItem.objects.exclude(match=Match.MATCHED)
            .filter(explained_at__isnull=True, run__status__in=finished)
            .exclude(Exists(newer)))


def reconciliation_flags(viewer):
    """For the approvals page: how many differences wait for finance, shown to those who
    may explain them."""
    if not has_capability(viewer, Capability.RECONCILE):
        return {}
    return {"reconciliation_flags": unexplained_differences().count()}


def events_listed_from(run):
    """The first day whose events Stripe still listed when the run was made, if the period
    starts before it: invoice status changes made outside the console before then are
    missing from the run."""
    first = (run.created_at - timedelta(days=STRIPE_EVENT_DAYS)).date()
    return first if run.period_start < first else None


def newer_run_of_same_period(run):
    """The newest done run of the same period after `run`, which replaces it."""
    return ReconciliationRun.objects.filter(period_start=run.period_start,
                                            period_end=run.period_end, pk__gt=run.pk,
                                            status=ReconciliationRun.Status.DONE
                                            ).order_by("-pk").first()


def report_items(run, match=None):
    """The run's items, differences first, each with its case's ticket number
    (`zendesk_ticket_id`, the case's name for people); only one class when `match` is
    given."""
    tickets = CaseRow.objects.filter(pk=OuterRef("case_id")).values("zendesk_ticket_id")
    items = run.items.select_related("explained_by").annotate(
        zendesk_ticket_id=Subquery(tickets[:1]))
    if match:
        items = items.filter(match=match)
    return items.order_by(_difference_first(), "id")


def _difference_first():
    return Case(When(match=Match.MATCHED, then=Value(1)), default=Value(0),
                output_field=IntegerField())


CSV_COLUMNS = ["run", "period_start", "period_end", "class", "class_label", "object_type",
               "stripe_object_id", "invoice_status", "money_action_id", "case_id", "currency",
               "console_amount_minor", "stripe_amount_minor", "stripe_tax_minor", "happened_at",
               "explained_by", "explained_at", "explanation"]


def csv_rows(run):
    """One row per item, for the CSV download, read in chunks."""
    items = report_items(run).iterator(chunk_size=2_000)
    try:
        yield from (_csv_row(run, item) for item in items)
    finally:
        items.close()  # its database cursor, now rather than when collected


def _csv_row(run, item):
    return [run.pk, run.period_start.isoformat(), run.period_end.isoformat(), item.match,
            item.get_match_display(), item.object_type, item.stripe_object_id,
            item.invoice_status, item.money_action_id or "", item.case_id,
            item.currency.upper(), item.console_amount, item.stripe_amount, item.stripe_tax,
            item.happened_at.isoformat() if item.happened_at else "",
            item.explained_by.get_username() if item.explained_by else "",
            item.explained_at.isoformat() if item.explained_at else "", item.explanation]

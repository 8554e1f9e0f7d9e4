"""Reconciliation: the console's money actions against Stripe's own record of a period.

Four kinds of change are compared, each known by the Stripe object it made, and each
attributed through the ledger of Stripe money (a credit memo's refund is the memo's):

- refunds: console refunds against the refunds Stripe created in the period (those that
  moved or are moving money: a failed or canceled refund gave nothing back);
- credit notes: console credit memos against the credit notes Stripe created;
- customer balance transactions: console balance credits and debits against the
  adjustments Stripe made to the balances of the customers the console moved money for
  in the period (Stripe lists them customer by customer);
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

Stripe is read first, outside any transaction; the run, its items and one audit event are
then written in one transaction. A difference is flagged to finance until someone
explains it, with a note; once explained, it is explained in every run that reports it.
The reads the reconciliation pages need are at the end.
"""

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.db.models import Case, Exists, IntegerField, OuterRef, Value, When
from django.utils import timezone

from audit.models import AuditEvent, Source
from audit.services import Origin, record
from billing_console.access import Capability, has_capability
from billing_console.exceptions import ApplicationError
from billing_console.integrations.stripe import gateway
from billing_console.integrations.stripe.errors import PermanentStripeError
from billing_console.parsing import whole_number
from finance.models import Match, ReconciledObject, ReconciliationItem, ReconciliationRun
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
    events = gateway.events_created(types=INVOICE_STATUS_EVENTS, **bounds)
    return [*refunds, *notes, *(_invoice_change(event) for event in events),
            *_balance_changes(period, bounds)]


def _balance_changes(period, bounds):
    """Balance adjustments of the customers the console knows moved in the period: Stripe
    lists a customer's balance transactions only customer by customer. A balance
    transaction a credit note made is the note's, compared with it."""
    changes = []
    for customer in sorted(_customers_with_balance_moves(period)):
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
                  _as_case_id(note.metadata.get("case_id")))


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
        _moment(fact.created), action.pk, customer=fact.customer)


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


def compare(period):
    """Every change of the period on either side, paired. Reads Stripe: call it outside a
    transaction."""
    in_stripe = stripe_changes(period)
    known = console_changes_of({change.stripe_object_id for change in in_stripe})
    known |= carried_out([change for change in in_stripe if change.key not in known])
    pairs = [Pair(known.get(change.key), change) for change in in_stripe]
    seen = {change.key for change in in_stripe}
    for change in console_changes(period):
        if change.key not in seen:
            pairs.append(Pair(change, found_in_stripe(change)))
    return pairs


# Writing the run -----------------------------------------------------------------------


def reconciliation_run(*, period, actor=None, origin=None):
    """Compare the period and keep the result. Stripe is read first, with no transaction
    open; the run is then written in one."""
    started_at = timezone.now()
    pairs = compare(period)
    return _store_run(period=period, pairs=pairs, started_at=started_at, actor=actor,
                      origin=origin)


@transaction.atomic
def _store_run(*, period, pairs, started_at, actor, origin):
    counts = {match.value: 0 for match in Match}
    for pair in pairs:
        counts[pair.match] += 1
    run = ReconciliationRun.objects.create(
        period_start=period.since, period_end=period.until, started_by=actor,
        created_at=started_at, finished_at=timezone.now(),
        **{f"{match}_count": count for match, count in counts.items()})
    items = list(_items(run, pairs))
    carried = _carry_explanations(items)
    ReconciliationItem.objects.bulk_create(items)
    origin = origin or Origin(source=Source.CONSOLE if actor else Source.SYSTEM)
    record(action="reconciliation.run", actor=actor, ip=origin.ip, source=origin.source,
           object_type="reconciliation_run", object_id=run.pk,
           after={"period_start": period.since, "period_end": period.until, **counts,
                  "explanations_carried": carried},
           reason=f"Reconciled {period.since} to {period.until} with Stripe.")
    return run


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


# Explaining a difference ---------------------------------------------------------------


@transaction.atomic
def reconciliation_item_explain(*, item_id, note, actor, origin=None):
    """Finance says why a difference is not a problem, or what was done about it. The
    same difference reported by other runs is explained with it."""
    item = ReconciliationItem.objects.select_for_update().get(pk=item_id)
    note = (note or "").strip()
    if not item.is_difference:
        raise ApplicationError("A matched item needs no explanation.", "matched", status=409)
    if item.explained_at is not None:
        raise ApplicationError("This difference is already explained.", "already_explained",
                               status=409)
    if not note:
        raise ApplicationError("A note is required: say why, or what was done.",
                               "note_required")
    same = ReconciliationItem.objects.filter(
        object_type=item.object_type, stripe_object_id=item.stripe_object_id,
        invoice_status=item.invoice_status, match=item.match, explained_at__isnull=True)
    explained_ids = sorted(same.values_list("id", flat=True))
    same.update(explained_by=actor, explained_at=timezone.now(), explanation=note)
    _audit_explained(item, explained_ids, note, actor, origin or Origin())
    item.refresh_from_db()
    return item


def _audit_explained(item, explained_ids, note, actor, origin):
    record(action="reconciliation.explained", actor=actor, ip=origin.ip, source=origin.source,
           object_type="reconciliation_item", object_id=item.pk,
           after={"run": item.run_id, "class": item.match, "object_type": item.object_type,
                  "items": explained_ids,
                  "money_action": str(item.money_action_id) if item.money_action_id else None},
           amount=item.stripe_amount if item.stripe_amount is not None else item.console_amount,
           currency=item.currency, case_id=item.case_id,
           stripe_object_id=item.stripe_object_id, reason=note)


# Reads for the pages -------------------------------------------------------------------


def recent_runs(limit=50):
    return ReconciliationRun.objects.select_related("started_by")[:limit]


def unexplained_differences():
    """Differences nobody has explained yet, in runs no newer run of the same period
    replaced: what finance is asked to look at."""
    newer = ReconciliationRun.objects.filter(
        period_start=OuterRef("run__period_start"), period_end=OuterRef("run__period_end"),
        pk__gt=OuterRef("run_id"))
    return (ReconciliationItem.objects.exclude(match=Match.MATCHED)
            .filter(explained_at__isnull=True).exclude(Exists(newer)))


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
    return ReconciliationRun.objects.filter(period_start=run.period_start,
                                            period_end=run.period_end,
                                            pk__gt=run.pk).order_by("-pk").first()


def report_items(run, match=None):
    """The run's items, differences first; only one class when `match` is given."""
    items = run.items.select_related("explained_by")
    if match:
        items = items.filter(match=match)
    return items.order_by(_difference_first(), "id")


def _difference_first():
    return Case(When(match=Match.MATCHED, then=Value(1)), default=Value(0),
                output_field=IntegerField())


CSV_COLUMNS = ["run", "period_start", "period_end", "class", "class_label", "object_type",
               "stripe_object_id", "invoice_status", "money_action_id", "case_id", "currency",
               "console_amount_minor", "stripe_amount_minor", "happened_at", "explained_by",
               "explained_at", "explanation"]


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
            item.currency.upper(), item.console_amount, item.stripe_amount,
            item.happened_at.isoformat() if item.happened_at else "",
            item.explained_by.get_username() if item.explained_by else "",
            item.explained_at.isoformat() if item.explained_at else "", item.explanation]

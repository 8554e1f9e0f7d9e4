"""Reconciliation with Stripe, against the Stripe sandbox: each class (matched, in Stripe
only, in the console only, amounts differ) from real console actions and changes made
directly in Stripe; the report page and its CSV; explaining a difference; who may do what;
and the daily task. The run as a job (progress, redelivery, retries, a month's report)
is in test_reconciliation_job.py; several differences explained at once in
test_reconciliation_explain.py."""

import contextlib
import csv
import io
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock

import pytest
from django.db import connection, connections
from django.utils import timezone

from audit.csv import safe_cell
from audit.models import AuditEvent, Source
from billing_console.celery import app as celery_app
from billing_console.dates import EARLIEST_DAY, LATEST_DAY
from billing_console.exceptions import ApplicationError
from billing_console.integrations.stripe.sandbox.builders import create_customer, open_invoice
from cases.models import StripeLink
from finance.models import Match, ReconciliationItem, ReconciliationRun
from finance.periods import Period
from finance.reconciliation import (
    RunAlreadyGoing,
    reconciliation_item_explain,
    reconciliation_request,
    reconciliation_run,
)
from finance.tasks import reconcile_yesterday
from money_actions.models import MoneyAction, State
from money_actions.tasks import submit_money_action
from money_actions.webhooks import on_charge_refunded
from tests.cases.factories import make_case
from tests.credit_memos.conftest import memo_body, post_memo
from tests.refunds.conftest import new_charge, post_refund, refund_body, signed_in

pytestmark = pytest.mark.django_db(transaction=True)

LINES = [("Pro plan, March", 6_000), ("Extra seats × 4", 4_000)]
ADJUSTMENTS = "/api/v1/invoice-adjustments/"
RUNS = "/audit/reconciliation/"
RUN_NOW = "/audit/reconciliation/run/"
needs_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL: two requests at once (set DATABASE_URL)")


@pytest.fixture(autouse=True)
def default_policy(refund_policy):
    """Console actions run under the seeded money policy."""


@pytest.fixture
def customer(sandbox):
    suffix = uuid.uuid4().hex[:8]
    return create_customer(sandbox.client, name=f"Ada {suffix}",
                           email=f"ada.{suffix}@example.com", payment_method="pm_card_visa")


@pytest.fixture
def case(customer):
    return make_case(stripe_customer_id=customer.id, stripe_link=StripeLink.VERIFIED)


def around_today():
    """Yesterday to tomorrow: every change a test makes now, even across midnight."""
    today = timezone.now().date()
    return Period(today - timedelta(days=1), today + timedelta(days=1))


def reconcile(actor=None):
    return reconciliation_run(period=around_today(), actor=actor)


def only_item(run):
    [item] = run.items.all()
    return item


def console_refund(sandbox, specialist, case, *, amount=2_500, payment_method="pm_card_visa"):
    _, charge_id = new_charge(sandbox, customer=case.stripe_customer_id,
                              payment_method=payment_method)
    response = post_refund(specialist, refund_body(case, charge_id, amount=amount))
    action = MoneyAction.objects.get(pk=response.json()["id"])
    assert action.state == State.SUCCEEDED
    return action


def adjustment(case, kind, invoice):
    return {"case_id": case.pk, "kind": kind, "invoice_id": invoice.id,
            "reason_code": "billing_error", "note": "Invoiced in error."}


def external_refund(sandbox, case, amount=700):
    _, charge_id = new_charge(sandbox, customer=case.stripe_customer_id)
    return sandbox.client.v1.refunds.create(params={"charge": charge_id, "amount": amount})


def page(client, path, **params):
    response = client.get(path, params)
    assert response.status_code == 200
    return response.content.decode()


# Each class ------------------------------------------------------------------------------


def test_a_refund_made_in_the_console_is_matched(sandbox, case, specialist, eager_tasks):
    action = console_refund(sandbox, specialist, case)

    run = reconcile()

    item = only_item(run)
    assert (item.match, item.object_type, item.stripe_object_id) == (
        Match.MATCHED, "refund", action.stripe_object_id)
    assert (item.console_amount, item.stripe_amount, item.currency) == (2_500, 2_500, "usd")
    assert (item.money_action_id, item.case_id) == (action.pk, case.pk)
    assert (run.matched_count, run.stripe_only_count) == (1, 0)


def test_credit_memos_voids_write_offs_and_out_of_band_payments_from_the_console_match(
        sandbox, customer, case, specialist, eager_tasks):
    invoices = [open_invoice(sandbox.client, customer=customer.id, lines=LINES)
                for _ in range(4)]
    memo = post_memo(specialist, memo_body(case, invoices[0]))
    assert memo.status_code == 201, memo.json()
    kinds = ("invoice_void", "invoice_uncollectible", "invoice_paid_out_of_band")
    for kind, invoice in zip(kinds, invoices[1:], strict=True):
        response = post_memo(specialist, adjustment(case, kind, invoice), ADJUSTMENTS)
        assert MoneyAction.objects.get(pk=response.json()["id"]).state == State.SUCCEEDED

    run = reconcile()

    found = {(item.object_type, item.invoice_status, item.match, item.stripe_amount)
             for item in run.items.all()}
    assert found == {("credit_note", "", Match.MATCHED, 2_500),
                     ("invoice_status", "void", Match.MATCHED, 10_000),
                     ("invoice_status", "uncollectible", Match.MATCHED, 10_000),
                     ("invoice_status", "paid", Match.MATCHED, 10_000)}


def test_a_refund_and_a_void_made_directly_in_stripe_are_in_stripe_only(
        sandbox, customer, case):
    refund = external_refund(sandbox, case)
    invoice = open_invoice(sandbox.client, customer=customer.id, lines=LINES)
    sandbox.client.v1.invoices.void_invoice(invoice.id)

    run = reconcile()

    found = {(item.object_type, item.stripe_object_id, item.invoice_status): item
             for item in run.items.all()}
    assert set(found) == {("refund", refund.id, ""), ("invoice_status", invoice.id, "void")}
    assert all(item.match == Match.STRIPE_ONLY and item.console_amount is None
               and item.money_action_id is None for item in found.values())
    assert found["refund", refund.id, ""].stripe_amount == 700
    assert found["invoice_status", invoice.id, "void"].stripe_amount == 10_000
    assert run.stripe_only_count == 2


def test_a_change_made_outside_the_console_is_shown_on_the_case_the_webhook_put_it_on(
        sandbox, case):
    refund = external_refund(sandbox, case)
    on_charge_refunded(Delivery(refund.charge))

    item = only_item(reconcile())

    assert (item.match, item.case_id) == (Match.STRIPE_ONLY, case.pk)


class Delivery:
    """What the inbox hands a webhook handler: the stored event, naming one object."""

    def __init__(self, object_id):
        self.payload = {"data": {"object": {"id": object_id}}}


def test_a_refund_stripe_failed_after_the_console_recorded_it_is_in_the_console_only(
        sandbox, case, specialist, eager_tasks):
    action = console_refund(sandbox, specialist, case, payment_method="pm_card_refundFail")
    wait_for_refund_status(sandbox, action.stripe_object_id, "failed")

    item = only_item(reconcile())

    assert (item.match, item.stripe_object_id) == (Match.CONSOLE_ONLY,
                                                   action.stripe_object_id)
    assert (item.console_amount, item.stripe_amount) == (2_500, None)


def wait_for_refund_status(sandbox, refund_id, status, seconds=5):
    """The sandbox fails a refund to pm_card_refundFail half a second after it succeeds;
    no webhook tells the console here."""
    deadline = time.monotonic() + seconds
    while sandbox.client.v1.refunds.retrieve(refund_id).status != status:
        assert time.monotonic() < deadline, f"refund never became {status}"
        time.sleep(0.1)


def test_amounts_differ_when_stripe_voided_less_than_the_console_recorded(
        sandbox, customer, case, specialist):
    invoice = open_invoice(sandbox.client, customer=customer.id, lines=LINES)
    response = post_memo(specialist, adjustment(case, "invoice_void", invoice), ADJUSTMENTS)
    action = MoneyAction.objects.get(pk=response.json()["id"])
    # Before the void reaches Stripe, someone credits 15.00 in the Dashboard.
    note = sandbox.client.v1.credit_notes.create(params={"invoice": invoice.id,
                                                         "amount": 1_500})
    submit_money_action(str(action.pk))

    run = reconcile()

    found = {item.object_type: item for item in run.items.all()}
    void = found["invoice_status"]
    assert (void.match, void.console_amount, void.stripe_amount) == (
        Match.AMOUNTS_DIFFER, 10_000, 8_500)
    assert void.money_action_id == action.pk
    assert (found["credit_note"].match, found["credit_note"].stripe_object_id) == (
        Match.STRIPE_ONLY, note.id)
    assert (run.amounts_differ_count, run.stripe_only_count) == (1, 1)


def test_a_refund_settled_after_midnight_matches_on_both_days(sandbox, case, specialist,
                                                              eager_tasks):
    action = console_refund(sandbox, specialist, case)
    today = timezone.now().date()
    tomorrow = today + timedelta(days=1)
    MoneyAction.objects.filter(pk=action.pk).update(
        settled_at=datetime.combine(tomorrow, clock(0, 0, 5), tzinfo=UTC))

    in_stripe_today = only_item(reconciliation_run(period=Period(today, today)))
    settled_tomorrow = only_item(reconciliation_run(period=Period(tomorrow, tomorrow)))

    assert in_stripe_today.match == settled_tomorrow.match == Match.MATCHED
    assert in_stripe_today.money_action_id == settled_tomorrow.money_action_id == action.pk


def test_a_period_without_changes_is_an_empty_run_with_its_audit_events(sandbox, finance):
    run = reconcile(actor=finance)

    assert not run.items.exists()
    assert (run.status, run.days_done, run.days_total) == ("done", 3, 3)
    asked = AuditEvent.objects.get(action="reconciliation.requested", object_id=run.pk)
    assert (asked.actor, asked.source) == (finance, Source.CONSOLE)
    event = AuditEvent.objects.get(action="reconciliation.run", object_id=run.pk)
    assert (event.actor, event.source) == (finance, Source.SYSTEM)
    assert event.after["matched"] == event.after["stripe_only"] == 0


# The pages -------------------------------------------------------------------------------


def test_finance_runs_a_period_from_the_page_and_sees_an_external_refund_in_stripe_only(
        sandbox, case, finance, eager_tasks):
    refund = external_refund(sandbox, case)
    today = timezone.now().date()
    client = signed_in(finance)

    response = client.post(RUN_NOW, {"start": str(today - timedelta(days=1)),
                                     "end": str(today)})

    run = ReconciliationRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/audit/reconciliation/{run.pk}/"
    assert run.started_by == finance
    html = page(client, response["Location"])
    assert f'data-class="stripe_only" data-stripe-id="{refund.id}"' in html
    assert "In Stripe only" in html
    assert f"#{run.pk}" in page(client, RUNS)


def test_the_report_filters_by_class(sandbox, case, specialist, finance, eager_tasks):
    matched = console_refund(sandbox, specialist, case)
    outside = external_refund(sandbox, case)
    run = reconcile()
    client = signed_in(finance)

    stripe_only = page(client, f"/audit/reconciliation/{run.pk}/", **{"class": "stripe_only"})
    everything = page(client, f"/audit/reconciliation/{run.pk}/")
    unknown = client.get(f"/audit/reconciliation/{run.pk}/", {"class": "<script>"})

    assert outside.id in stripe_only and matched.stripe_object_id not in stripe_only
    assert outside.id in everything and matched.stripe_object_id in everything
    assert unknown.status_code == 400
    assert "There is no class “&lt;script&gt;”" in unknown.content.decode()


@pytest.mark.parametrize("start, end, message", [
    ("2026-03-01", "", "Give both the first and the last day"),
    ("", "2026-03-01", "Give both the first and the last day"),
    ("2026-02-30", "2026-03-01", "Enter the day as YYYY-MM-DD."),
    ("yesterday", "today", "Enter the day as YYYY-MM-DD."),
    ("2026-03-10", "2026-03-01", "The last day comes before the first."),
    ("2025-01-01", "2026-01-02", "A period is at most 366 days (a year)"),
    ("2999-01-01", "2999-01-02", "The period cannot end after today."),
    # The bounds of every page that takes a period (billing_console.dates).
    ("0001-01-01", "0001-12-31", f"0001-01-01 is out of range. Choose days between "
                                 f"{EARLIEST_DAY} and {LATEST_DAY}."),
    ("1999-12-30", "2000-01-02", "1999-12-30 is out of range. Choose days between "
                                 "2000-01-01 and 2099-12-31."),
])
def test_a_bad_period_is_a_message_on_the_page(finance, start, end, message):
    response = signed_in(finance).post(RUN_NOW, {"start": start, "end": end})

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ReconciliationRun.objects.exists()


def test_the_page_only_queues_the_run_and_never_waits_on_stripe(sandbox, finance):
    today = timezone.now().date()

    response = signed_in(finance).post(RUN_NOW, {"start": str(today), "end": str(today)})

    run = ReconciliationRun.objects.get()
    assert response.status_code == 302
    assert (run.status, run.days_done, run.days_total) == ("queued", 0, 1)
    assert sandbox.requests_to("/v1/refunds") == []
    html = page(signed_in(finance), response["Location"])
    assert "Queued: waiting for a worker" in html and 'hx-trigger="every 1s"' in html
    assert AuditEvent.objects.get(action="reconciliation.requested").actor == finance


def test_a_blank_form_reconciles_this_month_so_far(sandbox, finance, eager_tasks):
    response = signed_in(finance).post(RUN_NOW, {"start": "", "end": ""})

    run = ReconciliationRun.objects.get()
    today = timezone.now().date()
    assert response.status_code == 302
    assert (run.period_start, run.period_end) == (today.replace(day=1), today)
    assert run.status == "done"


@pytest.mark.parametrize("since, until", [(date(1999, 12, 30), date(1999, 12, 31)),
                                          (date(2026, 1, 1), date(2100, 1, 1))])
def test_a_period_the_console_cannot_hold_is_refused(since, until):
    with pytest.raises(ApplicationError) as refused:
        Period.to_reconcile(since, until, today=date(2100, 6, 1))

    assert refused.value.code == "period"
    assert f"between {EARLIEST_DAY} and {LATEST_DAY}" in refused.value.message


def test_asking_again_for_a_period_going_shows_the_run_going(sandbox, finance):
    today = str(timezone.now().date())
    client = signed_in(finance)
    first = client.post(RUN_NOW, {"start": today, "end": today})
    run = ReconciliationRun.objects.get()

    for status in ("queued", "running"):
        ReconciliationRun.objects.filter(pk=run.pk).update(status=status)
        again = client.post(RUN_NOW, {"start": today, "end": today})

        assert again.status_code == 302
        assert again["Location"] == first["Location"] == f"{RUNS}{run.pk}/"
        assert "A reconciliation of this period is already running" in page(
            client, again["Location"])
    assert ReconciliationRun.objects.count() == 1
    assert AuditEvent.objects.filter(action="reconciliation.requested").count() == 1
    assert sandbox.requests_to("/v1/refunds") == []


@pytest.mark.parametrize("status", ["done", "failed"])
def test_a_finished_run_of_the_period_does_not_stop_a_new_one(sandbox, finance, status):
    today = str(timezone.now().date())
    client = signed_in(finance)
    client.post(RUN_NOW, {"start": today, "end": today})
    ReconciliationRun.objects.update(status=status, finished_at=timezone.now())

    again = client.post(RUN_NOW, {"start": today, "end": today})

    newer = ReconciliationRun.objects.first()
    assert ReconciliationRun.objects.count() == 2
    assert (again["Location"], newer.status) == (f"{RUNS}{newer.pk}/", "queued")


@needs_postgres
@pytest.mark.postgres
def test_two_requests_for_one_period_at_the_same_moment_make_one_run(finance):
    """Both look for a run going before either has written one; the database lets one
    through and the other is shown it."""
    period = Period(timezone.now().date(), timezone.now().date())
    both_checked = threading.Barrier(2)

    def meet_before_writing(execute, sql, params, many, context):
        if sql.startswith('INSERT INTO "audit_reconciliationrun"'):
            with contextlib.suppress(threading.BrokenBarrierError):
                both_checked.wait(timeout=5)
        return execute(sql, params, many, context)

    def ask(_):
        try:
            with connection.execute_wrapper(meet_before_writing):
                return reconciliation_request(period=period, actor=finance, queue=False).pk
        except RunAlreadyGoing as going:
            return ("shown", going.run.pk)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(ask, range(2)))

    run = ReconciliationRun.objects.get()
    assert sorted(answers, key=str) == sorted([run.pk, ("shown", run.pk)], key=str)
    assert AuditEvent.objects.filter(action="reconciliation.requested").count() == 1


def test_the_daily_task_takes_finances_run_of_yesterday_still_going(sandbox, finance):
    yesterday = timezone.now().date() - timedelta(days=1)
    going = reconciliation_request(period=Period(yesterday, yesterday), actor=finance,
                                   queue=False)

    assert reconcile_yesterday()["run"] == going.pk
    assert ReconciliationRun.objects.count() == 1


def test_stripe_not_answering_fails_the_run_with_what_to_do(sandbox, finance, eager_tasks):
    sandbox.inject("/v1/refunds", 500, count=100)
    today = timezone.now().date()

    response = signed_in(finance).post(RUN_NOW, {"start": str(today), "end": str(today)})

    run = ReconciliationRun.objects.get()
    assert response.status_code == 302
    assert run.status == "failed"
    assert "Stripe did not answer after 6 tries" in run.error
    assert "Start the reconciliation again" in run.error
    assert "Stripe did not answer after 6 tries" in page(signed_in(finance),
                                                           response["Location"])
    failed = AuditEvent.objects.get(action="reconciliation.failed")
    assert (failed.outcome, failed.reason) == ("failure", run.error)


def test_the_csv_has_every_class_and_neutralises_formulas(sandbox, customer, case, specialist,
                                                          finance):
    invoice = open_invoice(sandbox.client, customer=customer.id, lines=LINES)
    action_id = post_memo(specialist, adjustment(case, "invoice_void", invoice),
                          ADJUSTMENTS).json()["id"]
    sandbox.client.v1.credit_notes.create(params={"invoice": invoice.id, "amount": 1_500})
    submit_money_action(action_id)
    run = reconcile()
    differing = run.items.get(match=Match.AMOUNTS_DIFFER)
    reconciliation_item_explain(item_id=differing.pk, actor=finance,
                                note="=HYPERLINK(\"http://evil.example\",\"ok\")")

    response = signed_in(finance).get(f"/audit/reconciliation/{run.pk}/report.csv")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert {row["class"] for row in rows} == {"amounts_differ", "stripe_only"}
    assert {row["class_label"] for row in rows} == {"Amounts differ", "In Stripe only"}
    explained = next(row for row in rows if row["class"] == "amounts_differ")
    assert explained["explanation"] == "'=HYPERLINK(\"http://evil.example\",\"ok\")"
    assert (explained["console_amount_minor"], explained["stripe_amount_minor"]) == (
        "10000", "8500")
    assert AuditEvent.objects.filter(action="reconciliation.exported",
                                     object_id=run.pk).exists()


@pytest.mark.parametrize("value, shown", [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "'\tx"), ("\rx", "'\rx"), ("re_123", "re_123"), (-250, "-250"), (None, ""),
])
def test_safe_cell_quotes_what_a_spreadsheet_would_run(value, shown):
    assert safe_cell(value) == shown


# Explaining a difference -----------------------------------------------------------------


def explain_url(item):
    return f"/audit/reconciliation/items/{item.pk}/explain/"


def test_an_explanation_needs_a_note(sandbox, case, finance):
    external_refund(sandbox, case)
    item = only_item(reconcile())

    response = signed_in(finance).post(explain_url(item), {"note": "   "}, follow=True)

    assert "A note is required" in response.content.decode()
    item.refresh_from_db()
    assert item.explained_at is None
    assert not AuditEvent.objects.filter(action="reconciliation.explained").exists()


def test_finance_explains_a_difference_with_a_note_and_it_is_audited(sandbox, case, finance):
    external_refund(sandbox, case)
    item = only_item(reconcile())

    response = signed_in(finance).post(explain_url(item), {
        "note": "Goodwill refund made by the team lead in the Dashboard.",
        "shown": "stripe_only"})

    assert response.status_code == 302
    assert response["Location"] == (f"/audit/reconciliation/{item.run_id}/"
                                    f"?class=stripe_only#item-{item.pk}")
    item.refresh_from_db()
    assert (item.explained_by, item.explanation) == (
        finance, "Goodwill refund made by the team lead in the Dashboard.")
    event = AuditEvent.objects.get(action="reconciliation.explained")
    assert (event.actor, event.object_id, event.stripe_object_id) == (
        finance, str(item.pk), item.stripe_object_id)
    assert event.reason == "Goodwill refund made by the team lead in the Dashboard."
    assert (event.amount, event.currency) == (700, "USD")


def test_a_matched_item_needs_no_explanation(sandbox, case, specialist, finance, eager_tasks):
    console_refund(sandbox, specialist, case)
    item = only_item(reconcile())

    response = signed_in(finance).post(explain_url(item), {"note": "Fine."}, follow=True)

    assert "A matched item needs no explanation." in response.content.decode()


def test_differences_are_flagged_on_the_approvals_page_until_explained(sandbox, case,
                                                                        finance, admin_user):
    external_refund(sandbox, case)
    item = only_item(reconcile())
    client = signed_in(finance)

    assert "1 difference to explain" in page(client, "/approvals/")
    assert "difference" not in page(signed_in(admin_user), "/approvals/")

    client.post(explain_url(item), {"note": "Made by the team lead."})

    assert "nothing waiting for an explanation" in page(client, "/approvals/")


def test_an_explanation_holds_for_the_same_difference_in_a_later_run(sandbox, case, finance):
    external_refund(sandbox, case)
    first = only_item(reconcile())
    reconciliation_item_explain(item_id=first.pk, actor=finance, note="Made by the lead.")

    again = only_item(reconcile())

    assert (again.match, again.explanation, again.explained_by) == (
        Match.STRIPE_ONLY, "Made by the lead.", finance)
    event = AuditEvent.objects.filter(action="reconciliation.run").latest("id")
    assert event.after["explanations_carried"] == 1


def test_a_newer_run_of_the_same_period_replaces_the_older_ones_flags(sandbox, case,
                                                                       specialist, finance):
    _, charge_id = new_charge(sandbox, customer=case.stripe_customer_id)
    action = MoneyAction.objects.get(
        pk=post_refund(specialist, refund_body(case, charge_id)).json()["id"])
    # A worker reaches Stripe and is lost before the console records the outcome.
    action.kind_def.executor.submit(action)
    stale = only_item(reconcile())
    # Its retry gets the same refund back (same idempotency key) and records it.
    submit_money_action(str(action.pk))
    fresh = only_item(reconcile())

    assert (stale.match, fresh.match) == (Match.STRIPE_ONLY, Match.MATCHED)
    assert stale.money_action_id == fresh.money_action_id == action.pk
    assert "nothing waiting for an explanation" in page(signed_in(finance), "/approvals/")
    assert "replaces this one" in page(signed_in(finance),
                                       f"/audit/reconciliation/{stale.run_id}/")


# Who may do what -------------------------------------------------------------------------


def test_tier2_and_specialists_get_403_on_every_reconciliation_page_and_post(
        sandbox, case, tier2, specialist):
    external_refund(sandbox, case)
    item = only_item(reconcile())
    today = str(timezone.now().date())
    for user in (tier2, specialist):
        client = signed_in(user)
        for path in (RUNS, f"/audit/reconciliation/{item.run_id}/",
                     f"/audit/reconciliation/{item.run_id}/report.csv"):
            assert client.get(path).status_code == 403, (user, path)
        assert client.post(RUN_NOW, {"start": today, "end": today}).status_code == 403
        assert client.post(explain_url(item), {"note": "x"}).status_code == 403
    assert ReconciliationRun.objects.count() == 1
    assert ReconciliationItem.objects.get().explained_at is None


def test_admins_read_the_reports_but_neither_run_nor_explain(sandbox, case, admin_user):
    external_refund(sandbox, case)
    item = only_item(reconcile())
    client = signed_in(admin_user)
    today = str(timezone.now().date())

    report = page(client, f"/audit/reconciliation/{item.run_id}/")

    assert "Waiting for finance" in report and "Mark explained" not in report
    assert 'id="reconcile-form"' not in page(client, RUNS)
    assert client.post(RUN_NOW, {"start": today, "end": today}).status_code == 403
    assert client.post(explain_url(item), {"note": "x"}).status_code == 403


# The daily task --------------------------------------------------------------------------


def test_the_daily_task_reconciles_yesterday_as_the_system(sandbox, eager_tasks):
    result = reconcile_yesterday()

    run = ReconciliationRun.objects.get(pk=result["run"])
    yesterday = timezone.now().date() - timedelta(days=1)
    assert (run.period_start, run.period_end, run.started_by) == (yesterday, yesterday, None)
    assert run.status == "done"
    event = AuditEvent.objects.get(action="reconciliation.run")
    assert (event.actor, event.source) == (None, Source.SYSTEM)


def test_the_daily_task_delivered_twice_asks_once(sandbox):
    first, again = reconcile_yesterday(), reconcile_yesterday()

    assert first["run"] == again["run"]
    assert ReconciliationRun.objects.count() == 1


def test_the_daily_task_queues_again_a_run_whose_message_was_lost(sandbox, eager_tasks):
    lost = ReconciliationRun.objects.create(
        period_start=timezone.now().date(), period_end=timezone.now().date(), days_total=1,
        created_at=timezone.now() - timedelta(minutes=30))

    assert reconcile_yesterday()["requeued"] == [lost.pk]

    lost.refresh_from_db()
    assert lost.status == "done"


def test_beat_runs_the_reconciliation_every_day():
    entry = celery_app.conf.beat_schedule["reconcile-with-stripe-daily"]

    assert entry["task"] == "finance.tasks.reconcile_yesterday"
    assert entry["schedule"].hour == {1}

"""Money actions stuck on their way to Stripe (issue 17: a refund sat "Submitting to Stripe"
for 12.6 minutes after its worker was killed, and nothing said so): one definition,
`stuck_on_the_way`, read by the approvals page, the shift handover and the case page; one
warning in the log per action when first seen stuck; and the reconciler sending it again
with the same key, once, through the beat's own task."""

import logging
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.models import AuditEvent
from money_actions import tasks
from money_actions.models import MoneyAction, State
from money_actions.selectors import ON_THE_WAY, stuck_after, stuck_on_the_way
from money_actions.services import money_action_begin_submission
from tests.conftest import api_client, signed_in
from tests.credit_memos.conftest import credit_notes, memo_body, post_memo
from tests.handover.factories import linked_case, refund
from tests.refunds.conftest import post_refund, refund_body, refunds_created, stripe_refunds

PAGES = ("/approvals/", "/handover/", "/cases/{case}/")


def _sent(action, *, ago, touched_ago=None):
    """The action was first sent `ago` (a timedelta) and a worker last touched it
    `touched_ago` (the same, unless given)."""
    now = timezone.now()
    MoneyAction.objects.filter(pk=action.pk).update(
        submitted_at=now - ago, updated_at=now - (touched_ago or ago))


def _just_past():
    return stuck_after() + timedelta(minutes=1)


def _pages(case, specialist, finance):
    """{path: the page's HTML}: the approvals page as finance, the others as a specialist."""
    return {path: signed_in(finance if path == "/approvals/" else specialist)
            .get(path).content.decode() for path in (page.format(case=case.pk)
                                                      for page in PAGES)}


def _stuck_refund(case, specialist, *, ago, amount):
    action = refund(case, specialist, state=State.SUBMITTING, amount=amount)
    _sent(action, ago=ago)
    return action


@pytest.mark.django_db
def test_a_refund_submitting_past_the_threshold_shows_on_all_three_pages_and_a_newer_one_not(
        specialist, finance, admin_user):
    case = linked_case()
    stuck = _stuck_refund(case, specialist, ago=timedelta(minutes=12, seconds=36),
                          amount=11_100)
    not_yet = _stuck_refund(case, specialist, ago=stuck_after() - timedelta(minutes=1),
                            amount=22_200)

    pages = _pages(case, specialist, finance)

    since = MoneyAction.objects.get(pk=stuck.pk).submitted_at
    for path, page in pages.items():
        assert f'id="stuck-{stuck.pk}"' in page and f'id="stuck-{not_yet.pk}"' not in page, path
        assert "111.00 USD" in page and "Stuck on the way to Stripe" in page, path
        assert f'since <time datetime="{since.isoformat()}">' in page, path
        assert "(12\xa0minutes)" in page, path
        assert "sends it again with the same key" in page and "tell an admin" in page, path
    approvals = pages["/approvals/"]
    assert f"Ticket #{case.zendesk_ticket_id}</a> · Submitting to Stripe since" in approvals
    assert f'id="stuck-{stuck.pk}"' in signed_in(admin_user).get("/approvals/").content.decode()
    assert "222.00 USD" not in approvals
    handover = api_client(specialist).get("/api/v1/handover/").json()["money_actions_stuck"]
    assert [(row["id"], row["amount"], row["zendesk_ticket_id"]) for row in handover["rows"]
            ] == [(str(stuck.pk), 11_100, case.zendesk_ticket_id)]


@pytest.mark.django_db
def test_an_approved_action_no_worker_took_is_stuck_too_and_nothing_is_when_none_is(
        specialist, finance):
    case = linked_case()
    approved = refund(case, specialist, state=State.APPROVED, amount=33_300)
    pages = _pages(case, specialist, finance)
    assert "Stuck on the way to Stripe" not in pages["/approvals/"]
    assert "Stuck on the way to Stripe" not in pages[f"/cases/{case.pk}/"]
    assert "No money action is stuck on its way to Stripe." in pages["/handover/"]

    MoneyAction.objects.filter(pk=approved.pk).update(updated_at=timezone.now() - _just_past())

    for path, page in _pages(case, specialist, finance).items():
        assert f'id="stuck-{approved.pk}"' in page, path
        assert "No worker has taken it to Stripe yet" in page, path


@pytest.mark.django_db
def test_the_threshold_is_one_setting(specialist, settings):
    case = linked_case()
    action = _stuck_refund(case, specialist, ago=timedelta(minutes=12), amount=1_000)
    assert list(stuck_on_the_way()) == [action]

    settings.MONEY_ACTION_STUCK_MINUTES = 15

    assert list(stuck_on_the_way()) == []


@pytest.mark.django_db
def test_the_log_warns_once_per_action_when_first_seen_stuck(specialist, caplog):
    case = linked_case()
    action = _stuck_refund(case, specialist, ago=timedelta(minutes=7), amount=2_500)
    refund(case, specialist, state=State.SUBMITTING, amount=900)  # sent just now

    with caplog.at_level(logging.WARNING, logger="money_actions.tasks"):
        for _ in range(3):  # three beats
            tasks.warn_of_stuck_actions()
    warnings = [record.getMessage() for record in caplog.records
                if record.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].startswith(f"Refund of 25.00 USD on Ticket #{case.zendesk_ticket_id} "
                                  "stuck on its way to Stripe for 7 minutes: submitting to "
                                  "Stripe since ")
    assert str(action.pk) in warnings[0]

    # Sent back for a decision and sent again now, it sets off anew: stuck once more, it
    # is warned of once more.
    _sent(action, ago=timedelta(0))
    later = timezone.now() + _just_past()
    assert tasks.warn_of_stuck_actions(now=later) == 1
    assert tasks.warn_of_stuck_actions(now=later) == 0


@pytest.mark.django_db(transaction=True)
def test_the_beat_task_resends_a_refund_stripe_never_got_once_with_the_same_key(
        charged, sandbox, specialist, eager_tasks):
    case, charge_id = charged
    with pytest.MonkeyPatch.context() as patch:  # the approval's message is lost
        patch.setattr("money_actions.services._queue_submission", lambda action: None)
        action_id = post_refund(specialist, refund_body(case, charge_id)).json()["id"]
    money_action_begin_submission(action_id=action_id)  # taken; the worker is killed here
    action = MoneyAction.objects.get(pk=action_id)
    _sent(action, ago=timedelta(minutes=12, seconds=36))

    for _ in range(2):  # two beats
        tasks.reconcile_money_actions.apply()

    action.refresh_from_db()
    [made] = stripe_refunds(sandbox, charge_id)
    assert (action.state, action.stripe_object_id) == (State.SUCCEEDED, made.id)
    assert [entry["headers"].get("Idempotency-Key") for entry in refunds_created(sandbox)
            ] == [action.idempotency_key]
    trail = AuditEvent.objects.filter(object_id=action_id)
    assert trail.filter(action="refund.resent").count() == 1
    assert trail.filter(action="refund.succeeded").count() == 1
    assert "sent again with the same key" in trail.get(action="refund.resent").reason
    assert list(stuck_on_the_way()) == []


@pytest.mark.django_db(transaction=True)
def test_a_stuck_refund_a_worker_is_still_retrying_is_shown_but_not_resent(
        charged, sandbox, specialist, finance):
    case, charge_id = charged
    action_id = post_refund(specialist, refund_body(case, charge_id)).json()["id"]
    money_action_begin_submission(action_id=action_id)
    action = MoneyAction.objects.get(pk=action_id)
    # Sent twelve minutes ago; its task's latest retry was a minute ago.
    _sent(action, ago=timedelta(minutes=12), touched_ago=timedelta(minutes=1))

    assert tasks.reconcile_stuck_submissions() == 0

    assert refunds_created(sandbox) == []
    assert not AuditEvent.objects.filter(object_id=action_id, action="refund.resent").exists()
    assert f'id="stuck-{action_id}"' in signed_in(finance).get("/approvals/").content.decode()


@pytest.mark.django_db(transaction=True)
def test_a_credit_memo_stuck_the_same_way_is_shown_and_resent_once(
        invoices, case, sandbox, specialist, finance, eager_tasks):
    invoice = invoices["paid"]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("money_actions.services._queue_submission", lambda action: None)
        response = post_memo(specialist, memo_body(case, invoice))
    assert response.status_code == 201, response.json()
    action_id = response.json()["id"]
    money_action_begin_submission(action_id=action_id)
    action = MoneyAction.objects.get(pk=action_id)
    _sent(action, ago=_just_past())

    for path, page in _pages(case, specialist, finance).items():
        assert "Credit memo of 25.00 USD" in page and f'id="stuck-{action_id}"' in page, path

    for _ in range(2):
        tasks.reconcile_money_actions.apply()

    action.refresh_from_db()
    [note] = credit_notes(sandbox, invoice)
    assert (action.state, action.stripe_object_id) == (State.SUCCEEDED, note.id)
    trail = AuditEvent.objects.filter(object_id=action_id)
    assert trail.filter(action="credit_memo.resent").count() == 1
    assert trail.filter(action="credit_memo.succeeded").count() == 1
    assert "Stuck on the way" not in _pages(case, specialist, finance)["/approvals/"]


# --- at scale --------------------------------------------------------------------------------

ROWS = 100_000
TABLE = MoneyAction._meta.db_table


def _plans(run):
    """PostgreSQL's plans (EXPLAIN ANALYZE, as JSON) of `run`'s statements on the table."""
    with CaptureQueriesContext(connection) as queries:
        run()
    plans = []
    with connection.cursor() as cursor:
        for captured in queries.captured_queries:
            if f'FROM "{TABLE}"' in captured["sql"]:
                cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {captured['sql']}")
                plans.append(cursor.fetchone()[0][0]["Plan"])
    return plans


def _scans(plan):
    if plan.get("Relation Name") == TABLE:
        yield plan
    for child in plan.get("Plans", []):
        yield from _scans(child)


@pytest.mark.postgres
@pytest.mark.django_db
def test_stuck_actions_are_found_by_index_among_many(specialist):
    """Years of settled actions, a few stuck and a few hundred on their way in good time:
    finding the stuck ones reads an index by state and time ((state, submitted_at) and
    (state, updated_at); at a million rows with a thousand in good time, PostgreSQL
    prefers the first), and at most the actions on their way, never the settled ones."""
    if connection.vendor != "postgresql":
        pytest.skip("these plans are PostgreSQL's; set DATABASE_URL to run this")
    case = linked_case()
    with connection.cursor() as cursor:
        cursor.execute(f"""
            INSERT INTO {TABLE} (
                id, kind, state, case_id, stripe_customer_id, stripe_target_id, target_name,
                amount, currency, params, reason_code, note, customer_reply, policy_verdicts,
                requested_by_id, decision_note, stripe_object_id, stripe_request_id,
                failure_reason, submit_attempts, finance_flag, created_at, updated_at,
                submitted_at)
            SELECT gen_random_uuid(), 'refund',
                   CASE WHEN n %% 20000 = 10 OR n %% 500 = 12 THEN 'submitting'
                        WHEN n %% 20000 = 11 THEN 'approved'
                        WHEN n %% 7 = 0 THEN 'failed' ELSE 'succeeded' END,
                   %s, 'cus_' || (n %% 1000), 'ch_' || n, '', 100 + n %% 9000, 'usd', '{{}}',
                   'duplicate', 'Charged twice.', '', '[]', %s, '', '', '', '', 1, '',
                   now() - n * interval '5 minutes', now() - n * interval '5 minutes',
                   CASE WHEN n %% 500 = 12 THEN now() ELSE now() - n * interval '5 minutes' END
            FROM generate_series(1, {ROWS}) AS n""",  # noqa: S608 (the model's table)
                       [case.pk, specialist.pk])
        cursor.execute(f"ANALYZE {TABLE}")

    plans = _plans(lambda: (list(stuck_on_the_way()[:200]), tasks.warn_of_stuck_actions()))

    found = 2 * ROWS // 20_000
    assert len(list(stuck_on_the_way())) == found
    on_the_way = MoneyAction.objects.filter(state__in=ON_THE_WAY).count()
    assert plans
    for plan in plans:
        scans = list(_scans(plan))
        assert all(scan["Node Type"] != "Seq Scan" for scan in scans), plan
        read = sum(scan["Actual Rows"] * scan["Actual Loops"]
                   + scan.get("Rows Removed by Filter", 0) for scan in scans)
        assert read <= on_the_way, plan

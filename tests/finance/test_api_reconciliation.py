"""Reconciliation through the API: finance asks for a run of a period, follows it to its end,
reads its report and explains its differences, through the functions the pages use; each
write audited with the API as its source. Finance and admins read; only finance runs and
explains."""

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent, Source
from billing_console.integrations.stripe.sandbox.builders import create_customer
from cases.models import StripeLink
from finance.models import Match, ReconciliationItem, ReconciliationRun
from tests.cases.factories import make_case
from tests.conftest import api_client
from tests.finance.test_reconciliation import external_refund

pytestmark = pytest.mark.django_db(transaction=True)

RUNS = "/api/v1/reconciliations/"
RUN_NOW = "/api/v1/reconciliations/run/"
NOTE = "Goodwill refunds the team lead made in the Dashboard."


@pytest.fixture
def case(sandbox):
    customer = create_customer(sandbox.client, name="Ida", email="ida@example.com",
                               payment_method="pm_card_visa")
    return make_case(stripe_customer_id=customer.id, stripe_link=StripeLink.VERIFIED)


def days(back=1):
    today = timezone.now().date()
    return {"start": str(today - timedelta(days=back)), "end": str(today)}


def finished_run(*matches, status=ReconciliationRun.Status.DONE):
    """A finished run of yesterday with one item of each of `matches`, as a run stores
    them."""
    today = timezone.now().date()
    run = ReconciliationRun.objects.create(
        period_start=today - timedelta(days=1), period_end=today, status=status,
        days_total=2, days_done=2, finished_at=timezone.now())
    for number, match in enumerate(matches):
        ReconciliationItem.objects.create(
            run=run, object_type="refund", stripe_object_id=f"re_Api{run.pk}x{number}",
            match=match, stripe_amount=700, currency="usd")
    return run


def explain(user, run, items, note=NOTE):
    return api_client(user).post(f"{RUNS}{run.pk}/explain/",
                                 {"items": [item.pk for item in items], "note": note},
                                 format="json")


def test_finance_runs_a_period_reads_its_report_and_explains_it(sandbox, case, finance,
                                                                 eager_tasks):
    refunds = {external_refund(sandbox, case, amount=amount).id for amount in (700, 900)}
    client = api_client(finance)

    asked = client.post(RUN_NOW, days(), format="json")

    assert asked.status_code == 201, asked.json()
    run_id = asked.json()["id"]
    report = client.get(f"{RUNS}{run_id}/").json()
    assert (report["status"], report["days_done"], report["days_total"], report["percent"]) \
        == ("done", 2, 2, 100)
    assert (report["stripe_only_count"], report["matched_count"]) == (2, 0)
    assert (report["started_by"], report["replaced_by"]) == ("finance", None)
    items = client.get(f"{RUNS}{run_id}/items/", {"match": "stripe_only"}).json()
    assert {item["stripe_object_id"] for item in items["results"]} == refunds
    assert items["next"] is None
    assert client.get(f"{RUNS}{run_id}/items/", {"match": "matched"}).json()["results"] == []
    assert [run["id"] for run in client.get(RUNS).json()["results"]] == [run_id]

    explained = client.post(f"{RUNS}{run_id}/explain/", {
        "items": [item["id"] for item in items["results"]], "note": NOTE}, format="json")

    assert explained.status_code == 200, explained.json()
    assert {(item["explanation"], item["explained_by"])
            for item in explained.json()["explained"]} == {(NOTE, "finance")}
    requested = AuditEvent.objects.get(action="reconciliation.requested")
    assert (requested.source, requested.actor, requested.object_id) == (
        Source.API, finance, str(run_id))
    events = AuditEvent.objects.filter(action="reconciliation.explained")
    assert {(e.source, e.stripe_object_id) for e in events} == {
        (Source.API, refund) for refund in refunds}


def test_a_period_already_going_is_not_run_twice(sandbox, finance):
    client = api_client(finance)
    first = client.post(RUN_NOW, days(0), format="json")

    again = client.post(RUN_NOW, days(0), format="json")

    assert first.status_code == 201
    assert again.status_code == 409
    assert again.json()["code"] == "already_running"
    assert f"run #{first.json()['id']}" in again.json()["message"]
    assert ReconciliationRun.objects.count() == 1
    assert AuditEvent.objects.filter(action="reconciliation.requested").count() == 1
    assert sandbox.requests_to("/v1/refunds") == []


def test_no_days_is_this_month_so_far(finance):
    response = api_client(finance).post(RUN_NOW, {}, format="json")
    today = timezone.now().date()
    assert response.status_code == 201
    assert (response.json()["period_start"], response.json()["period_end"]) == (
        str(today.replace(day=1)), str(today))


def _later(days_ahead):
    return str(timezone.now().date() + timedelta(days=days_ahead))


@pytest.mark.parametrize("period, status, code", [
    ({"start": "2026-13-01", "end": "2026-12-01"}, 400, "invalid"),
    ({"start": 20260101, "end": "2026-01-02"}, 400, "invalid"),
    ({"start": "2026-01-01 ", "end": "2026-01-02"}, 400, "invalid"),
    ({"start": "2026-01-01"}, 409, "period"),
    ({"start": _later(0), "end": _later(1)}, 409, "period"),
    ({"start": _later(0), "end": _later(-1)}, 409, "period"),
    ({"start": _later(-400), "end": _later(0)}, 409, "period"),
    ({"start": "0001-01-01", "end": "0001-01-02"}, 409, "period"),
])
def test_a_period_finance_may_not_reconcile_is_refused_with_its_reason(finance, period, status,
                                                                       code):
    response = api_client(finance).post(RUN_NOW, period, format="json")
    assert response.status_code == status, response.json()
    assert response.json()["code"] == code
    assert not ReconciliationRun.objects.exists()


def test_a_run_going_shows_its_progress(finance):
    run = finished_run(Match.STRIPE_ONLY, status=ReconciliationRun.Status.RUNNING)
    ReconciliationRun.objects.filter(pk=run.pk).update(days_done=1, finished_at=None)

    report = api_client(finance).get(f"{RUNS}{run.pk}/").json()

    assert (report["status"], report["days_done"], report["percent"]) == ("running", 1, 50)


@pytest.mark.parametrize("query", [{"match": "everything"}, {"after": "not-a-cursor"}])
def test_a_bad_filter_or_cursor_of_the_items_is_refused(finance, query):
    run = finished_run(Match.STRIPE_ONLY)
    response = api_client(finance).get(f"{RUNS}{run.pk}/items/", query)
    assert response.status_code in (400, 409)
    assert response.json()["code"] in ("invalid", "cursor")


def test_explaining_is_all_or_none_and_says_why(finance):
    run = finished_run(Match.STRIPE_ONLY, Match.MATCHED, Match.CONSOLE_ONLY)
    waiting, matched, other = run.items.order_by("pk")

    with_matched = explain(finance, run, [waiting, matched])
    assert (with_matched.status_code, with_matched.json()["code"]) == (409, "matched")
    assert explain(finance, run, [other]).status_code == 200
    again = explain(finance, run, [waiting, other])
    assert (again.status_code, again.json()["code"]) == (409, "already_explained")
    elsewhere = explain(finance, run, [finished_run(Match.STRIPE_ONLY).items.get()])
    assert (elsewhere.status_code, elsewhere.json()["code"]) == (404, "not_found")
    assert ReconciliationItem.objects.filter(explained_at__isnull=False).count() == 1
    assert AuditEvent.objects.filter(action="reconciliation.explained").count() == 1


@pytest.mark.parametrize("body, status, code", [
    ({"items": [], "note": NOTE}, 400, "invalid"),
    ({"items": ["1"], "note": NOTE}, 400, "invalid"),
    ({"note": "\x00"}, 400, "invalid"),
    ({"note": "x" * 5_001}, 400, "invalid"),
    ({"note": "   "}, 409, "note_required"),
])
def test_a_bad_explanation_is_refused(finance, body, status, code):
    run = finished_run(Match.STRIPE_ONLY)
    response = api_client(finance).post(f"{RUNS}{run.pk}/explain/",
                                        {"items": [run.items.get().pk], **body}, format="json")
    assert response.status_code == status, response.json()
    assert response.json()["code"] == code
    assert not ReconciliationItem.objects.filter(explained_at__isnull=False).exists()


def test_a_run_still_going_is_explained_once_done(finance):
    run = finished_run(Match.STRIPE_ONLY, status=ReconciliationRun.Status.RUNNING)
    response = explain(finance, run, run.items.all())
    assert (response.status_code, response.json()["code"]) == (409, "run_not_done")


@pytest.mark.parametrize("role, reads, writes", [
    ("finance", 200, True), ("admin", 200, False), ("specialist", 403, False),
    ("tier2", 403, False), ("outsider", 403, False)])
def test_finance_and_admins_read_and_only_finance_runs_and_explains(actors, role, reads,
                                                                    writes):
    run = finished_run(Match.STRIPE_ONLY)
    client = api_client(actors[role])

    for path in (RUNS, f"{RUNS}{run.pk}/", f"{RUNS}{run.pk}/items/"):
        assert client.get(path).status_code == reads, path
    asked = client.post(RUN_NOW, days(0), format="json")
    explained = explain(actors[role], run, run.items.all())

    assert (asked.status_code, explained.status_code) == \
        ((201, 200) if writes else (403, 403))
    assert ReconciliationItem.objects.filter(explained_at__isnull=False).exists() == writes
    assert ReconciliationRun.objects.count() == (2 if writes else 1)


def test_an_unknown_run_is_not_found(finance):
    for path in (f"{RUNS}987654/", f"{RUNS}987654/items/"):
        assert api_client(finance).get(path).status_code == 404
    assert explain(finance, ReconciliationRun(pk=987654), []).status_code == 404

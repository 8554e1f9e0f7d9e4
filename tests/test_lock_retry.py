"""A lock conflict is retried, never a 500: requests run again (then 503 to try again), and
Celery tasks retry."""

import re
import threading
import uuid

import pytest
from django.contrib.auth.models import Group
from django.db import OperationalError, connection, connections, transaction
from django.http import HttpResponse
from django.test import Client
from django.urls import include, path

from audit import services as audit_services
from audit.selectors import verify_audit_chain
from billing_console.celery import app
from billing_console.locks import REQUEST_TRIES, is_lock_conflict
from money_actions.models import MoneyAction
from tests.cases.factories import make_case
from tests.refunds.conftest import new_charge, post_refund, refund_body

pytestmark = pytest.mark.urls("tests.test_lock_retry")
attempts = []


class DriverError(Exception):
    """Stands for the driver's error that Django's OperationalError is raised from."""

    def __init__(self, sqlstate):
        super().__init__(f"SQLSTATE {sqlstate}")
        self.sqlstate = sqlstate


def conflict(sqlstate="40P01"):
    try:
        raise DriverError(sqlstate)
    except DriverError as error:
        raise OperationalError("deadlock detected") from error


def conflicts_then_answers(failures):
    def view(request):
        attempts.append(request.body)
        if len(attempts) <= failures:
            with transaction.atomic():
                conflict()
        return HttpResponse(f"done after {len(attempts)}")
    return view


def held_row(request):
    """Waits for a row another connection holds: the first attempt gives up after 50 ms
    (PostgreSQL's lock_not_available); the next one waits."""
    attempts.append(request.body)
    with transaction.atomic():
        with connection.cursor() as cursor:
            if len(attempts) == 1:
                cursor.execute("SET LOCAL lock_timeout = '50ms'")
            else:
                second_attempt.set()
        Group.objects.select_for_update().get(name="held")
    return HttpResponse("got it")


second_attempt = threading.Event()
urlpatterns = [
    path("api/once/", conflicts_then_answers(1)),
    path("api/always/", conflicts_then_answers(REQUEST_TRIES)),
    path("page/always/", conflicts_then_answers(REQUEST_TRIES)),
    path("api/other-error/", lambda request: conflict("42P01")),
    path("api/held-row/", held_row),
    path("", include("billing_console.urls")),
]


@pytest.fixture(autouse=True)
def _fresh_attempts():
    attempts.clear()
    second_attempt.clear()


def test_it_tells_lock_conflicts_from_other_database_errors():
    for sqlstate in ("40P01", "40001", "55P03"):
        with pytest.raises(OperationalError) as raised:
            conflict(sqlstate)
        assert is_lock_conflict(raised.value)
    with pytest.raises(OperationalError) as raised:
        conflict("42P01")
    assert not is_lock_conflict(raised.value)


@pytest.mark.django_db
def test_a_request_whose_transaction_lost_a_lock_conflict_runs_again_with_its_body():
    response = Client().post("/api/once/", b'{"amount": 100}', content_type="application/json")

    assert response.status_code == 200 and response.content == b"done after 2"
    assert attempts == [b'{"amount": 100}'] * 2


@pytest.mark.django_db
def test_a_request_run_again_is_one_log_line_saying_so(console_log):
    Client().post("/api/once/", b"{}", content_type="application/json")
    attempts.clear()
    Client().post("/api/always/", b"{}", content_type="application/json")

    # Django's own line for the 503 is not a second one.
    assert [re.sub(r"^\S+ \S+ | \d+ ms", "", line) for line in console_log()] == [
        "WARNING billing_console.requests POST /api/once/ 200 - (lock conflict, run again: "
        "try 2)",
        "ERROR billing_console.requests POST /api/always/ 503 - (lock conflict on all "
        f"{REQUEST_TRIES} tries)"]


@pytest.mark.django_db
def test_after_the_last_try_the_api_answers_503_to_try_again():
    response = Client().post("/api/always/", {"a": "1"})

    assert response.status_code == 503 and response["Retry-After"] == "1"
    assert response.json()["code"] == "lock_conflict"
    assert "Try again" in response.json()["message"]
    assert len(attempts) == REQUEST_TRIES


@pytest.mark.django_db
def test_after_the_last_try_a_page_says_to_try_again():
    response = Client().post("/page/always/", {"a": "1"})

    assert response.status_code == 503 and b"Busy, try again" in response.content


@pytest.fixture
def charged(sandbox, refund_policy):
    from cases.models import StripeLink

    customer, charge_id = new_charge(sandbox)
    return make_case(stripe_customer_id=customer, stripe_link=StripeLink.VERIFIED), charge_id


def test_a_refund_whose_transaction_lost_a_lock_conflict_is_made_once(
        charged, sandbox, specialist, monkeypatch):
    """The key's row is committed before the refund's transaction; the second attempt finds
    it and makes the one refund."""
    lock_chain = audit_services._lock_chain
    conflicts = []

    def conflict_once():
        if not conflicts:
            conflicts.append(1)
            conflict()
        lock_chain()

    monkeypatch.setattr(audit_services, "_lock_chain", conflict_once)
    case, charge_id = charged

    response = post_refund(specialist, refund_body(case, charge_id), key="busy")

    assert response.status_code == 201 and conflicts == [1]
    assert MoneyAction.objects.get().pk == uuid.UUID(response.json()["id"])
    assert verify_audit_chain().intact


@pytest.mark.django_db
def test_other_database_errors_are_not_retried():
    with pytest.raises(OperationalError):
        Client().get("/api/other-error/")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_real_lock_timeout_is_retried_once_the_row_is_free():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: a row lock held by another connection")
    Group.objects.create(name="held")
    locked = threading.Event()

    def hold():
        with transaction.atomic():
            Group.objects.select_for_update().get(name="held")
            locked.set()
            second_attempt.wait(10)
        connections.close_all()

    holder = threading.Thread(target=hold)
    holder.start()
    locked.wait(10)
    response = Client().get("/api/held-row/")
    holder.join()

    assert response.status_code == 200 and len(attempts) == 2


def test_a_task_that_lost_a_lock_conflict_is_retried():
    calls = []

    @app.task(bind=True, max_retries=3, name="tests.lock_conflict_once")
    def conflict_once(self):
        calls.append(self.request.retries)
        if len(calls) == 1:
            conflict()
        return "done"

    result = conflict_once.apply(throw=False)

    assert result.successful() and result.result == "done"
    assert calls == [0, 1]


def test_a_task_gives_up_after_its_retries():
    @app.task(bind=True, max_retries=1, name="tests.lock_conflict_always")
    def conflict_always(self):
        conflict()

    result = conflict_always.apply(throw=False)

    assert result.failed() and isinstance(result.result, OperationalError)

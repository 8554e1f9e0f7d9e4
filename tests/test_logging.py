"""The console's log at INFO: one line per request, one short line per task; the HTTP clients
of Stripe and Zendesk say nothing below WARNING; a refused request (403) is one line, no
traceback."""

import logging
import os
import time

import pytest
from celery.app import trace
from celery.contrib.testing.worker import start_worker

from billing_console.celery import app
from billing_console.integrations.models import InboundEvent
from billing_console.integrations.stripe import gateway as stripe_gateway
from billing_console.integrations.tasks import process_inbound_event
from billing_console.integrations.zendesk import gateway as zendesk_gateway
from tests.conftest import signed_in


@pytest.fixture
def log(caplog):
    caplog.set_level(logging.INFO)
    return caplog


def _lines(caplog):
    return [(record.name, record.levelno, record.getMessage(), record.exc_info)
            for record in caplog.records]


def test_a_page_is_one_line_naming_method_path_status_and_who(specialist, log):
    client = signed_in(specialist)
    log.clear()
    assert client.get("/cases/?q=someone@example.com").status_code == 200
    [(name, level, message, exc_info)] = _lines(log)
    assert name == "billing_console.requests" and level == logging.INFO
    assert message.startswith("GET /cases/ 200 ") and message.endswith(" ms specialist")
    assert "someone@example.com" not in message  # the query string stays out of the log


def test_a_refused_page_is_one_warning_line_without_a_traceback(tier2, log):
    client = signed_in(tier2)
    log.clear()
    assert client.get("/approvals/").status_code == 403
    [(name, level, message, exc_info)] = _lines(log)
    assert (name, level, exc_info) == ("billing_console.requests", logging.WARNING, None)
    assert message.startswith("GET /approvals/ 403 ")


def test_a_refused_api_call_is_one_line_too(tier2, log):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(tier2)
    log.clear()
    assert client.post("/api/v1/invoice-adjustments/", {}, format="json").status_code == 403
    [(name, level, message, exc_info)] = _lines(log)
    assert (name, level, exc_info) == ("billing_console.requests", logging.WARNING, None)


def test_stripe_calls_say_nothing_at_info(stripe_sandbox, log):
    customer = stripe_sandbox.v1.customers.create(params={"email": "quiet@example.com"})
    log.clear()
    stripe_gateway.get_customer(customer_id=customer.id)
    assert _lines(log) == []


def test_zendesk_calls_say_nothing_at_info(zendesk_sandbox, log):
    log.clear()
    zendesk_gateway.search_escalated_tickets()
    assert _lines(log) == []


def test_the_clients_loggers_start_at_warning():
    for name in ("stripe", "zenpy", "urllib3"):
        assert logging.getLogger(name).getEffectiveLevel() == logging.WARNING, name


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_task_is_one_line(log):
    if not os.environ.get("REDIS_URL"):
        pytest.skip("needs Redis: set REDIS_URL to run a real worker")
    event = InboundEvent.objects.create(source="stripe", event_id="evt_log_line",
                                        event_type="ping", payload={})
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10,
                      loglevel="INFO"):
        # The worker's start configures logging afresh, dropping the capture's handler.
        logging.getLogger().addHandler(log.handler)
        log.clear()
        result = process_inbound_event.delay(event.pk)
        deadline = time.monotonic() + 30
        while not any(result.id in message for _, _, message, _ in _lines(log)):
            assert time.monotonic() < deadline, "the task never ran"
            time.sleep(0.1)
        time.sleep(0.5)  # room for any line that would follow
        logging.getLogger().removeHandler(log.handler)
    # Other tests' messages may wait in the queue too: the lines about this task count.
    [(name, level, message, exc_info)] = [line for line in _lines(log) if result.id in line[2]]
    assert message.startswith(f"Task process_inbound_event[{result.id}] succeeded in ")
    assert message.endswith(" ms")


def test_a_tasks_line_is_short_without_what_it_returned(log):
    """Celery's success line, as its tracer logs it, loses the module path and the value
    the task returned (a sync's counts, a dict of any length)."""
    trace.info(trace.LOG_SUCCESS, {
        "id": "9ec4daa4-50f2-405d-ad47-cea152c6d7d9", "name": "cases.tasks.sync_zendesk",
        "return_value": "{'pages': 1, 'tickets': 0, 'created': 0, 'updated': 0}",
        "runtime": 0.0073066, "args": "()", "kwargs": "{}"})

    [(name, level, message, exc_info)] = _lines(log)
    assert (name, level) == ("celery.app.trace", logging.INFO)
    assert message == "Task sync_zendesk[9ec4daa4-50f2-405d-ad47-cea152c6d7d9] succeeded in 7 ms"

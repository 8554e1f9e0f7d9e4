"""The console's log at INFO: one line per request, one short line per task; the HTTP clients
of Stripe and Zendesk say nothing below WARNING; a refused request (403, a wrong password, a
locked account, a NUL) is one line, no traceback, saying why."""

import logging
import os
import re
import socket
import struct
import threading
import time

import pytest
from celery.app import trace
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.test import Client

from billing_console.celery import app
from billing_console.integrations.models import InboundEvent
from billing_console.integrations.stripe import gateway as stripe_gateway
from billing_console.integrations.stripe.sandbox import build_server as build_stripe_sandbox
from billing_console.integrations.tasks import process_inbound_event
from billing_console.integrations.zendesk import gateway as zendesk_gateway
from billing_console.integrations.zendesk.sandbox import build_server as build_zendesk_sandbox
from tests.conftest import PASSWORD, signed_in


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


def _sign_in(client, password):
    return client.post("/accounts/login/", {"username": "specialist", "password": password})


def test_a_wrong_password_is_one_warning_line_saying_so(specialist, log):
    client = Client()
    log.clear()
    _sign_in(client, "wrong password")
    [(name, level, message, exc_info)] = _lines(log)
    assert (name, level) == ("billing_console.requests", logging.WARNING)
    assert message.startswith("POST /accounts/login/ 200 ")
    assert message.endswith(" ms - (sign-in refused)")


def test_a_locked_account_is_one_warning_line_saying_so(specialist, log):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _sign_in(client, "wrong password")
    for password in ("wrong password", PASSWORD):  # the lock, then a try while locked
        log.clear()
        assert _sign_in(client, password).status_code == 429
        [(name, level, message, exc_info)] = _lines(log)
        assert (name, level) == ("billing_console.requests", logging.WARNING)
        assert message.endswith(" ms - (account locked: too many failed sign-ins)")


def test_a_refused_nul_is_one_warning_line_naming_the_parameter_briefly(specialist, log):
    client = signed_in(specialist)
    log.clear()
    assert client.get("/cases/", {"q": "a\x00b", "x" * 5000: "\x00"}).status_code == 400
    [(name, level, message, exc_info)] = _lines(log)
    assert (name, level) == ("billing_console.requests", logging.WARNING)
    assert message.endswith(" ms specialist (parameter “q” holds NUL (U+0000) or a lone "
                            "surrogate)")
    log.clear()
    client.get("/cases/", {"x" * 5000: "\x00"})
    [(_, _, message, _)] = _lines(log)
    assert len(message) < 200 and "“xxxxxxxxxx" in message


def test_a_request_django_refuses_is_one_line_saying_why_without_a_traceback(
        specialist, console_log):
    no_csrf = Client(enforce_csrf_checks=True)
    no_csrf.force_login(specialist)
    no_csrf.post("/cases/", {"q": "x"})
    signed_in(specialist).post("/cases/", {f"field{i}": "1" for i in range(
        settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)})
    Client(HTTP_HOST="x" * 1000 + ".example").get("/accounts/login/")

    lines = [re.sub(r"^\S+ \S+ | \d+ ms", "", line) for line in console_log()]
    assert lines[:2] == [
        "WARNING billing_console.requests POST /cases/ 403 specialist (Forbidden (CSRF cookie "
        "not set.): /cases/)",
        "WARNING billing_console.requests POST /cases/ 400 specialist (The number of GET/POST "
        "parameters exceeded settings.DATA_UPLOAD_MAX_NUMBER_FIELDS.)"]
    [host] = lines[2:]
    assert host.startswith("WARNING billing_console.requests GET /accounts/login/ 400 - "
                           "(Invalid HTTP_HOST header: 'xxx")
    assert len(host) < 300


def _went_away(address, sent):
    """A client that sends `sent` and goes away with a reset, as a killed worker does."""
    client = socket.create_connection(address)
    client.sendall(sent)
    time.sleep(0.1)
    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    client.close()


@pytest.mark.parametrize("build", [build_stripe_sandbox, build_zendesk_sandbox])
def test_a_client_that_goes_away_is_no_traceback_in_a_sandbox(build, log, capsys):
    server = build("127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        # Mid-body, and mid-request line: the server's read meets the reset either way.
        _went_away(server.server_address, b"POST /v1/customers HTTP/1.1\r\n"
                                          b"Content-Length: 100\r\n\r\nname=")
        _went_away(server.server_address, b"GET /v1/cust")
        time.sleep(0.5)
    finally:
        server.shutdown()
        server.server_close()
    assert "Traceback" not in capsys.readouterr().err
    assert [line for line in _lines(log) if line[1] >= logging.INFO] == []


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

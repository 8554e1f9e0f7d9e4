"""The OpenAPI document tells the truth: schemathesis sends every operation requests it
generates from the document, valid and invalid, as each role, through Django's WSGI app
(no server), and runs all its checks on every answer: no server error; the status code,
content type and body the document gives; invalid input refused and valid input
accepted; authentication not ignored; unsupported methods answered 405.

Each role calls with a token, as programs do, but an admin, whose token is refused
everywhere (it cannot carry a second factor), calls as a browser does: with the session
cookie of a sign-in that gave the second factor, and the CSRF token its pages carry.

Its engine runs as its command line does (examples, coverage, fuzzing and stateful
phases), in a thread of its own, so the data it reads is committed (`transactional_db`).
Stripe and Zendesk are the project's sandboxes. The run is bounded by `MAX_EXAMPLES`, the
examples of each operation in the fuzzing phase (given a time limit instead, the engine
would go round its phases until the time is up)."""

import re
import secrets
import uuid

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.db import connections
from django.urls import Resolver404, resolve
from rest_framework.authtoken.models import Token
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, events, from_schema
from schemathesis.transport.wsgi import WSGITransport

from billing_console.access import allows, declared_capability, second_factor_needed
from billing_console.integrations.stripe.sandbox.builders import (
    charge,
    create_customer,
    open_invoice,
    recurring_price,
    subscribe,
)
from cases.models import StripeLink
from guidance.services import question_ask
from tests.cases.factories import make_case
from tests.conftest import make_user, signed_in

ROLES = ("specialist", "tier2", "finance", "admin")
MAX_EXAMPLES = 8
# An operation the role may not call answers 403 whatever it is sent: a few requests show
# that its refusal is as documented.
REFUSED_EXAMPLES = 2
SCHEMA_PATH = "/api/schema/?format=json"


def config_for(auth, *, refused=False):
    """The engine's configuration, with `auth` (`credentials_of`'s) on every request."""
    phases = {"examples": {"enabled": not refused}, "coverage": {"enabled": not refused}}
    return SchemathesisConfig.from_dict({
        "generation": {"max-examples": REFUSED_EXAMPLES if refused else MAX_EXAMPLES,
                       "deterministic": True},
        "phases": phases,
        "auth": {"openapi": auth},
        "workers": 1,
        # No cache of earlier runs' findings (it would be written at the checkout's root, and
        # replayed): every run starts from the schema alone, as CI's clean clone does.
        "cache": {"enabled": False},
    })


def credentials_of(user, app):
    """The schema's security scheme with the value `user` calls with: a token; for an
    admin, the session cookie of a browser that gave the second factor, `app` adding the
    CSRF cookie and header its pages would (`ConsoleApp.csrf_token`)."""
    if not second_factor_needed(user):
        return {"tokenAuth": {"api_key": f"Token {Token.objects.create(user=user).key}"}}
    browser = signed_in(user)
    assert browser.get("/api/v1/me").status_code == 200  # the session holds the factor
    app.csrf_token = secrets.token_hex(16)
    return {"cookieAuth": {"api_key": browser.cookies["sessionid"].value}}


def document(app):
    """The OpenAPI document, as the console serves it (to anyone signed in; the same to
    every role)."""
    token = Token.objects.create(user=make_user("schema-reader")).key
    return schemathesis.openapi.from_wsgi(
        SCHEMA_PATH, app, headers={"Authorization": f"Token {token}"}).raw_schema


def schema_of(raw, app, config):
    schema = schemathesis.openapi.from_dict(raw, config=config)
    schema.app = app
    return schema


def view_of(path):
    """The view behind an operation's path (`/api/v1/cases/{id}/`)."""
    for sample in ("1", str(uuid.UUID(int=1))):
        try:
            return resolve(re.sub(r"\{\w+\}", sample, path)).func
        except Resolver404:
            continue
    raise LookupError(path)


def may_call(user):
    """Whether `user` may call an operation, as its view declares."""
    def matcher(ctx):
        return allows(user, declared_capability(view_of(ctx.operation.path)))
    return matcher


def findings(schema):
    """Every failed check of a run of schemathesis' engine on `schema`, as text, and the
    operations it tested."""
    found, tested = [], set()
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished) and event.label:
            tested.add(event.label)
            for checks in event.recorder.checks.values():
                found += [f"{event.label}: {check.name}: {check.failure_info.failure.title}\n"
                          f"{check.failure_info.failure.message}\n{check.failure_info.code_sample}"
                          for check in checks
                          if check.status == Status.FAILURE and check.failure_info]
        if isinstance(event, events.NonFatalError | events.FatalError):
            found.append(f"{getattr(event, 'label', '')}: error: {event.info.format()}")
        if isinstance(event, events.ScenarioFinished) and event.status == Status.ERROR:
            found.append(f"{event.label}: the scenario ended in an error")
    return found, tested


class ConsoleApp:
    """Django's WSGI app, keeping the database connection of each thread the engine calls
    it from: those threads end without closing them, and `close()` does once the run is
    over (else the test database could not be dropped). With a `csrf_token`, each request
    carries it as the console's pages make a browser send it (cookie and header)."""

    def __init__(self):
        self.handler = WSGIHandler()
        self.connections = set()
        self.csrf_token = None

    def __call__(self, environ, start_response):
        self.connections.add(connections["default"])
        if self.csrf_token:
            cookies = [environ.get("HTTP_COOKIE"), f"csrftoken={self.csrf_token}"]
            environ["HTTP_COOKIE"] = "; ".join(filter(None, cookies))
            environ["HTTP_X_CSRFTOKEN"] = self.csrf_token
        return self.handler(environ, start_response)

    def close(self):
        for connection in self.connections:
            connection.inc_thread_sharing()
            connection.close()
            connection.dec_thread_sharing()


@pytest.fixture
def console_app():
    app = ConsoleApp()
    yield app
    app.close()


@pytest.fixture(autouse=True)
def _probes_without_socket_settings(monkeypatch):
    """schemathesis 4.32 sends the probes of its `ignored_auth` check through the WSGI
    transport with a network session's settings (redirects, TLS), which werkzeug refuses;
    an in-process call has no use for them."""
    send = WSGITransport.send

    def send_in_process(self, case, *, session=None, **kwargs):
        for name in ("max_redirects", "verify", "cert", "proxies"):
            kwargs.pop(name, None)
        return send(self, case, session=session, **kwargs)

    monkeypatch.setattr(WSGITransport, "send", send_in_process)


@pytest.fixture
def world(transactional_db, stripe_sandbox, zendesk_sandbox, refund_policy, actors):
    """What a console holds: cases (one tied to a Stripe customer with a charge, an open
    invoice and a subscription), a question."""
    customer = create_customer(stripe_sandbox, name="Ava Okafor", email="ava@example.com",
                               payment_method="pm_card_visa").id
    charge(stripe_sandbox, customer=customer, amount=5_000)
    open_invoice(stripe_sandbox, customer=customer, lines=[("Seats", 12_000)])
    subscribe(stripe_sandbox, customer=customer,
              price=recurring_price(stripe_sandbox, product_name="Console Pro",
                                    unit_amount=4_900).id)
    case = make_case(stripe_customer_id=customer, stripe_link=StripeLink.VERIFIED)
    make_case()
    question_ask(asker=actors["tier2"], case=case, body="May we refund the duplicate?")


@pytest.mark.parametrize("role", ROLES)
def test_every_answer_is_as_the_schema_says(role, world, actors, console_app):
    user = actors[role]
    auth, raw = credentials_of(user, console_app), document(console_app)

    def schema(**options):
        return schema_of(raw, console_app, config_for(auth, **options))

    found, tested = findings(schema().include(may_call(user)))
    refused_found, refused = findings(schema(refused=True).exclude(may_call(user)))

    assert "GET /api/v1/me" in tested and refused, (tested, refused)
    assert not found + refused_found, "\n\n".join(found + refused_found)


def test_a_field_typed_wrongly_in_the_schema_fails_the_run(transactional_db, specialist,
                                                           console_app):
    raw = document(console_app)
    raw["components"]["schemas"]["Me"]["properties"]["username"]["type"] = "integer"
    schema = schema_of(raw, console_app, config_for(credentials_of(specialist, console_app))) \
        .include(path="/api/v1/me")

    found, tested = findings(schema)

    assert tested == {"GET /api/v1/me"}
    assert any("response_schema_conformance" in finding for finding in found), found


"""Shared fixtures: named actors for every role, and a database flush that the
append-only audit table allows."""

import html
import importlib
import re
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Group, User
from django.test import Client
from hypothesis.configuration import set_hypothesis_home_dir
from rest_framework.test import APIClient

from billing_console.access import Role

PASSWORD = "correct horse battery staple"

# Hypothesis keeps its example database in ./.hypothesis unless told otherwise: the
# checkout stays clean when it is under the tests' var/test/, with everything else they write.
set_hypothesis_home_dir(Path(django_settings.VAR_DIR) / "hypothesis")


def _lift_audit_triggers_during_flush():
    """Transactional tests empty every table afterwards (TRUNCATE / DELETE), which the
    audit table's triggers refuse. Drop them for that flush, inside its transaction, and
    put them back, so each test still starts with the triggers in place."""
    from django.db.backends.base.operations import BaseDatabaseOperations

    from audit import triggers

    original = BaseDatabaseOperations.execute_sql_flush

    def execute_sql_flush(self, sql_list):
        vendor = self.connection.vendor
        wrapped = [*triggers.DROP.get(vendor, []), *sql_list, *triggers.CREATE.get(vendor, [])]
        return original(self, wrapped)

    BaseDatabaseOperations.execute_sql_flush = execute_sql_flush


def pytest_configure(config):
    _lift_audit_triggers_during_flush()


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with an empty cache (the default cache is in process memory), and
    reads the reason codes' labels afresh (a flush empties their table unseen)."""
    from django.core.cache import cache

    from money_actions.selectors import forget_reason_labels

    cache.clear()
    forget_reason_labels()


@pytest.fixture
def console_log():
    """What the log's handler, as LOGGING sets it up, writes from now on: a function giving
    its lines (caplog sees records before the handler's filters do)."""
    import io
    import logging

    from billing_console.request_log import OnTheRequestLine

    [handler] = [handler for handler in logging.getLogger().handlers
                 if any(isinstance(f, OnTheRequestLine) for f in handler.filters)]
    written = io.StringIO()
    previous = handler.setStream(written)
    yield lambda: written.getvalue().splitlines()
    handler.setStream(previous)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Real hashing costs half a second a user; tests make hundreds."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def signed_in(user):
    """A page client (session and CSRF as a browser has them) signed in as `user`; an admin
    or superuser has given their second factor too, as they do before any admin page."""
    from billing_console.access import second_factor_needed

    client = Client()
    client.force_login(user)
    if second_factor_needed(User.objects.get(pk=user.pk)):
        with_second_factor(client, user)
    return client


def authenticator(user):
    """`user`'s confirmed authenticator app (a TOTP device), enrolled if need be."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return TOTPDevice.objects.filter(user=user, confirmed=True).first() or \
        TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)


def authenticator_code(device, *, later=0):
    """The code `device`'s app shows `later` steps from now, never one it has accepted
    already (a code works once): it waits for the next step when all it shows are used."""
    import time

    from django_otp.oath import TOTP

    device.refresh_from_db()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    step = max(totp.t() + later, device.last_t + 1)
    if step > totp.t() + device.tolerance:
        time.sleep((step - device.tolerance) * device.step + device.t0 - totp.time + 0.1)
    totp.time = step * device.step + device.t0
    return f"{totp.token():0{device.digits}d}"


def with_second_factor(client, user):
    """`client`'s session as it is once `user` gave a code from their authenticator app
    (enrolled if need be). The pages that take the code are tested in tests/second_factor/."""
    from django_otp import DEVICE_ID_SESSION_KEY

    session = client.session
    session[DEVICE_ID_SESSION_KEY] = authenticator(user).persistent_id
    session.save()
    return client


def form_action(response, path):
    """The address `response`'s form posting to `path` sends to, as a browser reads it
    (query included): a refused form's page must keep what its address carries."""
    found = re.search(rf'<form method="post" action="({re.escape(path)}[^"]*)"',
                      response.content.decode())
    assert found, f"no form posting to {path}"
    return html.unescape(found.group(1))


def api_client(user):
    """An API client authenticated as `user`; an admin or superuser calls from a session
    that gave their second factor, as at a desk (their API token is refused everywhere:
    the tests of that make one)."""
    from billing_console.access import second_factor_needed

    client = APIClient()
    if second_factor_needed(User.objects.get(pk=user.pk)):
        client.force_login(user)
        with_second_factor(client, user)
    else:
        client.force_authenticate(user)
    return client


def make_user(username, *roles, password=PASSWORD):
    user = User.objects.create_user(username=username, password=password,
                                    email=f"{username}@console.example.com")
    for role in roles:
        # get_or_create: a transactional test's flush also empties the migrated groups.
        user.groups.add(Group.objects.get_or_create(name=Role(role).value)[0])
    return user


@pytest.fixture
def specialist(db):
    return make_user("specialist", Role.SPECIALIST)


@pytest.fixture
def second_specialist(db):
    return make_user("specialist2", Role.SPECIALIST)


# The `tier2` actor's Zendesk agent and group; `make_case` makes cases that agent escalated.
TIER2_ZENDESK_USER_ID = 90_001
TIER2_ZENDESK_GROUP_ID = 360_000_000_401


def make_tier2(username, *, zendesk_user_id=None, zendesk_group_id=None):
    """A Tier 2 agent tied to a Zendesk agent and group, as admins tie them."""
    from billing_console.models import ZendeskIdentity

    user = make_user(username, Role.TIER2)
    ZendeskIdentity.objects.create(user=user, zendesk_user_id=zendesk_user_id,
                                   zendesk_group_id=zendesk_group_id)
    return user


@pytest.fixture
def tier2(db):
    return make_tier2("tier2", zendesk_user_id=TIER2_ZENDESK_USER_ID,
                      zendesk_group_id=TIER2_ZENDESK_GROUP_ID)


@pytest.fixture
def finance(db):
    return make_user("finance", Role.FINANCE)


@pytest.fixture
def admin_user(db):
    return make_user("admin", Role.ADMIN)


@pytest.fixture
def outsider(db):
    """Signed in, but with no role at all."""
    return make_user("outsider")


@pytest.fixture
def actors(specialist, second_specialist, tier2, finance, admin_user, outsider):
    return {
        "specialist": specialist,
        "second_specialist": second_specialist,
        "tier2": tier2,
        "finance": finance,
        "admin": admin_user,
        "outsider": outsider,
    }


# --- sandboxes and tasks, for tests that cross the app's boundaries ----------------------------


@pytest.fixture
def stripe_sandbox(settings):
    """A Stripe sandbox of the test's own, with the gateway pointed at it; yields an SDK
    client for arranging data."""
    from tests.cases.case_page_sandboxes import STRIPE_KEY, StripeSandbox

    sandbox = StripeSandbox()
    settings.STRIPE_API_BASE, settings.STRIPE_API_KEY = sandbox.url, STRIPE_KEY
    yield sandbox.client
    sandbox.stop()


@pytest.fixture
def sandbox(settings):
    """A fresh Stripe sandbox for this test, so its request log holds only this test's;
    yields a handle with an SDK client and the sandbox's test controls (faults, requests)."""
    from billing_console.integrations.stripe.sandbox import build_server
    from tests.contract.stripe.conftest import API_KEY, Sandbox, start_in_thread, stop

    server = build_server("127.0.0.1", 0)
    url = start_in_thread(server)
    settings.STRIPE_API_BASE, settings.STRIPE_API_KEY = url, API_KEY
    settings.STRIPE_MAX_NETWORK_RETRIES = 2
    yield Sandbox(url)
    stop(server)


@pytest.fixture(scope="module")
def running_stripe():
    """One Stripe sandbox shared by a module's tests; `point(settings)` aims the gateway."""
    from tests.cases.case_page_sandboxes import StripeSandbox

    sandbox = StripeSandbox()
    yield sandbox
    sandbox.stop()


@pytest.fixture
def zendesk_sandbox_options():
    """Override in a test module to build the Zendesk sandbox differently (replay)."""
    return {}


@pytest.fixture
def zendesk_sandbox(settings, zendesk_sandbox_options):
    """The Zendesk sandbox on a free port, with the gateway pointed at it."""
    from tests.contract.zendesk.conftest import RunningSandbox, point_gateway, start, stop

    server, thread = start(**zendesk_sandbox_options)
    sandbox = RunningSandbox(server)
    point_gateway(settings, sandbox)
    yield sandbox
    stop(server, thread)


class _PolicyModelsNow:
    """The policy's models where they live now, under the names the seeding migration
    asks for (it ran before they moved to money_actions)."""

    def get_model(self, app_label, name):
        from money_actions import models

        return getattr(models, {"RefundPolicy": "MoneyPolicy"}.get(name, name))


@pytest.fixture
def refund_policy(db):
    """The money policy and reason codes the data migration seeds; a transactional test's
    flush empties them."""
    importlib.import_module("refunds.migrations.0002_seed_policy").seed(_PolicyModelsNow(), None)


@pytest.fixture
def eager_tasks():
    """Queued tasks run at once, in the thread that queued them."""
    from billing_console.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False

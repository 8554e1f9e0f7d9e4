"""The demo's first minute: `make run`'s demo command on free ports, timed from its start to
its banner, and from its banner to the moment its data is consistent (goal: at most 60 s
each on this machine). The banner waits for the seed to be in, so the second figure is
about nothing, and the first is what a newcomer waits. Most of that wait is the worker
taking the seed's webhooks in; a seed that spent Zendesk's rate limit would add a wait of
up to a minute for the limit's window (the budget left at the banner is printed too).

Consistent means (`outstanding()`, which the `make run` test checks too):
- every event the Stripe sandbox holds has been processed by the console, and no webhook of
  either sandbox waits in the console's inbox;
- every escalated Zendesk ticket is a case, and every case whose requester is a Stripe
  customer is tied to that customer;
- every change made outside the console to a customer with a case is on a case.

It starts real processes (the sandboxes, the web server, a worker) on the embedded default
(SQLite and the filesystem broker, in a folder of its own); set BENCH_SKIP_DEMO=1 to skip it.
`make bench` runs the expert jobs (`bench/expert_jobs.py`) on the same demo once its figures
are printed, and the jobs start theirs with `demo()` when run alone.
"""

import base64
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from contextlib import closing, contextmanager
from pathlib import Path
from urllib.parse import quote

from django.conf import settings

GOAL_SECONDS = 60
BANNER_TIMEOUT_SECONDS = 240
STRIPE_KEY = "sk_test_demo_ready"
ZENDESK_LOGIN = ("console@example.com/token", "any")
ESCALATION_TAG = "billing_escalation"


def run(*, then=None):
    """Start the demo, print how long it took to be ready, then call `then(banner,
    database)` while it still runs, if given (`database`: the path of its SQLite file)."""
    with tempfile.TemporaryDirectory() as var_dir:
        started = time.monotonic()
        with demo(Path(var_dir)) as (banner, database):
            _print_readiness(banner, database, started, banner_at=time.monotonic())
            if then:
                then(banner, database)


def _print_readiness(banner, database, started, *, banner_at):
    """Times in monotonic seconds."""
    stripe_url, zendesk_url = sandbox_urls(banner)
    budget_left, budget = zendesk_budget(zendesk_url)
    left, ready_at = wait_until_consistent(database, stripe_url, zendesk_url, timeout=300)
    print("demo readiness (make run, embedded default)")
    print(f"  start to banner:            {banner_at - started:6.1f} s (goal <= {GOAL_SECONDS} s)")
    if left:
        print(f"  banner to consistent data:  not within 300 s; still: {left[:5]}")
    else:
        print(f"  banner to consistent data:  {max(0, ready_at - banner_at):6.1f} s "
              f"(goal <= {GOAL_SECONDS} s)")
    print(f"  Zendesk rate limit left at the banner: {budget_left} of {budget} a minute")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def demo(var_dir):
    """The demo command on free ports, its runtime files in `var_dir`: yields its banner
    and the path of its database once the banner is out, and stops it afterwards."""
    env = {key: value for key, value in os.environ.items()
           if key not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}}
    env.update({"VAR_DIR": str(var_dir), "DEBUG": "1"})
    command = [sys.executable, "manage.py", "demo", "--port", str(free_port()),
               "--stripe-port", str(free_port()), "--zendesk-port", str(free_port())]
    process = subprocess.Popen(command, cwd=settings.BASE_DIR, env=env,  # noqa: S603
                               start_new_session=True, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        banner = read_banner(process, time.monotonic() + BANNER_TIMEOUT_SECONDS)
        # Keep reading: a full pipe would block the demo's processes as they log.
        threading.Thread(target=process.stdout.read, daemon=True).start()
        yield banner, var_dir / "billing_console.sqlite3"
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def read_banner(process, deadline):
    lines = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if "Press Ctrl-C" in line:
            return "".join(lines)
    raise RuntimeError("The demo printed no banner:\n" + "".join(lines[-40:]))


def sandbox_urls(banner):
    """(Stripe sandbox URL, Zendesk sandbox URL), as the banner names them."""
    found = dict(line.split(":", 1) for line in banner.splitlines()
                 if line.startswith(("Stripe sandbox:", "Zendesk sandbox:")))
    return found["Stripe sandbox"].strip(), found["Zendesk sandbox"].strip()


def console_url(banner):
    """The console's URL, as the banner names it: "http://127.0.0.1:8000/"."""
    return re.search(r"Billing Console is running at (\S+)", banner).group(1)


def sign_ins(banner):
    """{username: password} of the demo users, as the banner lists them."""
    return dict(re.findall(r"^  (\w+)\s+(\S+)\s+\S", banner, re.MULTILINE))


def wait_until_consistent(database, stripe_url, zendesk_url, *, timeout):
    """([], the monotonic time the check that found nothing began: the data was consistent
    as of then, however long the check took), or (what was still outstanding at the
    timeout, the time of that check)."""
    deadline = time.monotonic() + timeout
    # Read once: the seed is done by the banner, and Zendesk limits the rate of its API.
    escalated = escalated_tickets(zendesk_url)
    while True:
        checked_at = time.monotonic()
        left = outstanding(database, stripe_url, escalated)
        if not left or checked_at > deadline:
            return left, checked_at
        time.sleep(0.5)


def zendesk_budget(zendesk_url):
    """(requests left, requests allowed) in the Zendesk sandbox's rate-limit window now, as
    its `X-Rate-Limit*` headers say (this request counted)."""
    credentials = base64.b64encode(":".join(ZENDESK_LOGIN).encode()).decode()
    request = urllib.request.Request(  # noqa: S310 - the sandbox on loopback
        zendesk_url + "/api/v2/groups.json", headers={"Authorization": f"Basic {credentials}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            headers = response.headers
    except urllib.error.HTTPError as error:  # a 429 carries the headers too
        headers = error.headers
    return int(headers["X-Rate-Limit-Remaining"]), int(headers["X-Rate-Limit"])


def escalated_tickets(zendesk_url):
    """The ids of the Zendesk sandbox's escalated tickets, from its incremental export."""
    found = set()
    path = "/api/v2/incremental/tickets/cursor.json?start_time=0"
    while True:
        page = zendesk_get(zendesk_url, path)
        found.update(ticket["id"] for ticket in page["tickets"]
                     if ESCALATION_TAG in ticket["tags"])
        if page["end_of_stream"]:
            return found
        path = f"/api/v2/incremental/tickets/cursor.json?cursor={quote(page['after_cursor'])}"


def outstanding(database, stripe_url, escalated):
    """What keeps the demo from being consistent yet, one line each; [] once it is.
    `escalated`: the ids of the tickets that must be cases."""
    # Imported here, once Django is set up: `python -m bench.expert_jobs` imports this
    # module before it sets Django up.
    from audit.models import AuditEvent, Source
    from billing_console.integrations.models import InboundEvent
    from cases.models import Case, StripeLink

    events = {event["id"] for event in stripe_list(stripe_url, "/v1/events")}
    customers = {customer["email"]: customer["id"]
                 for customer in stripe_list(stripe_url, "/v1/customers")}
    with closing(sqlite3.connect(database, timeout=10)) as db:
        inbox = db.execute(
            f"SELECT source, event_id, status FROM {InboundEvent._meta.db_table}").fetchall()  # noqa: S608
        cases = db.execute(
            f"SELECT zendesk_ticket_id, requester_email, stripe_customer_id, "  # noqa: S608
            f"stripe_link FROM {Case._meta.db_table}").fetchall()
        caseless = db.execute(
            f"SELECT action, stripe_object_id, customer FROM {AuditEvent._meta.db_table} "  # noqa: S608
            "WHERE source = ? AND case_id IS NULL AND customer != ''",
            [Source.STRIPE]).fetchall()
    processed = {event_id for source, event_id, status in inbox
                 if source == InboundEvent.Source.STRIPE
                 and status == InboundEvent.Status.PROCESSED}
    left = [f"Stripe event {event_id} not processed" for event_id in events - processed]
    left += [f"{source} webhook {event_id} {status}" for source, event_id, status in inbox
             if status != InboundEvent.Status.PROCESSED]
    left += [f"ticket #{ticket} is not a case" for ticket in escalated - {c[0] for c in cases}]
    # A customer named on the ticket is tied once Stripe has confirmed it.
    left += [f"ticket #{ticket} not tied to {customers[email]}"
             for ticket, email, customer, link in cases
             if email in customers and (customer != customers[email]
                                        or link == StripeLink.NAMED)]
    with_cases = {customer for _, _, customer, _ in cases if customer}
    left += [f"{action} on {object_id} is on no case" for action, object_id, customer in caseless
             if customer in with_cases]
    return left


def stripe_list(stripe_url, path):
    """Every object of a Stripe list, page by page; `path` may hold filters of its own
    ("/v1/charges?customer=cus_…")."""
    found, after = [], None
    while True:
        query = ("&" if "?" in path else "?") + "limit=100" + \
            (f"&starting_after={after}" if after else "")
        page = stripe_get(stripe_url, path + query)
        found += page["data"]
        if not page["has_more"]:
            return found
        after = page["data"][-1]["id"]


def stripe_get(stripe_url, path):
    """GET `path` from the Stripe sandbox, parsed."""
    return _get_json(stripe_url + path, (STRIPE_KEY, ""))


def zendesk_get(zendesk_url, path):
    """GET `path` from the Zendesk sandbox as the demo's API user, parsed."""
    return _get_json(zendesk_url + path, ZENDESK_LOGIN)


def _get_json(url, login, *, attempts=10):
    """Waits out a 429 as its Retry-After says: the demo's worker shares Zendesk's limit."""
    credentials = base64.b64encode(":".join(login).encode()).decode()
    request = urllib.request.Request(  # noqa: S310 - the sandboxes on loopback
        url, headers={"Authorization": f"Basic {credentials}"})
    for _ in range(attempts - 1):
        try:
            return _open_json(request)
        except urllib.error.HTTPError as error:
            if error.code != 429:
                raise
            time.sleep(float(error.headers.get("Retry-After") or 1))
    return _open_json(request)


def _open_json(request):
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json.loads(response.read())

"""`make run`: the whole console on one machine, in one foreground process group.

Starts the Stripe and Zendesk sandboxes and the web server, seeds the sandboxes through
their own APIs, takes the escalated tickets in, then starts a Celery worker with beat
embedded, lets it tie the cases to their Stripe customers, and only then lets Stripe's
seeded events go, so that each lands on its customer's case; all pointed at the
sandboxes. Once the seed is in (`_wait_until_settled`) and a refund waits for finance's
approval, it prints where to sign in and the demo accounts, last, so that the banner is
what the terminal shows; on Ctrl-C (or SIGTERM) it stops every process it started.
"""

import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import psutil
from amqp.exceptions import ChannelError
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from billing_console.celery import app as celery_app
from billing_console.demo import ensure_demo_users, tie_tier2_to_zendesk
from billing_console.integrations.models import InboundEvent
from billing_console.integrations.stripe.sandbox.seed import seed_demo as seed_stripe
from billing_console.integrations.zendesk.sandbox.seed import TIER2_AGENTS
from billing_console.integrations.zendesk.sandbox.seed import seed_demo as seed_zendesk

STOP_GRACE_SECONDS = 15
READY_TIMEOUT_SECONDS = 60
# How long the seed may take to be in before the banner is printed anyway, with a warning.
SETTLE_TIMEOUT_SECONDS = 120
# The seed is in once nothing is left to do twice in a row this far apart: a task taken
# from the queue but not yet finished is seen by neither check.
SETTLE_POLL_SECONDS = 0.5
# How long the worker has to answer what it holds.
WORKER_ANSWER_SECONDS = 2
DEMO_STRIPE_KEY = "sk_test_billing_console_demo"
DEMO_ZENDESK_EMAIL = "console@example.com"
DEMO_ZENDESK_TOKEN = "billing-console-demo"  # noqa: S105 - the sandbox accepts any token
# How Celery's warning of a worker run as root begins (celery.platforms.ROOT_DISCOURAGED).
CELERY_ROOT_WARNING = "You're running the worker with superuser privileges"
# The demo may run as root (a container's shell), which Celery warns of in seven lines
# before the worker starts: that warning alone is silenced, by its words (a -W filter cannot
# name Celery's SecurityWarning, which is not importable yet when Python reads it). A worker
# in production runs as a user of its own.
WORKER_WARNING_FILTERS = ["-W", f"ignore:{CELERY_ROOT_WARNING}"]


class Command(BaseCommand):
    help = "Run the console, its worker and beat, and the sandboxes, with demo data."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--stripe-port", type=int, default=12111)
        parser.add_argument("--zendesk-port", type=int, default=12112)
        parser.add_argument("--oidc-port", type=int, default=12113,
                            help="The identity provider's port, with OIDC_DEMO=1")

    def handle(self, *args, host, port, stripe_port, zendesk_port, oidc_port, **options):
        call_command("migrate", interactive=False, verbosity=0)
        credentials = ensure_demo_users()
        url = f"http://{host}:{port}/"
        stripe_url = f"http://127.0.0.1:{stripe_port}"
        zendesk_url = f"http://127.0.0.1:{zendesk_port}"
        env = _console_env(stripe_url, zendesk_url, secrets.token_urlsafe(24))
        # OIDC_DEMO=1: staff sign in through an OpenID Connect provider of the demo's own.
        issuer = f"http://127.0.0.1:{oidc_port}" if os.environ.get("OIDC_DEMO") == "1" else ""
        env.update(_oidc_env(issuer) if issuer else {})
        sso_users_file = settings.VAR_DIR / "oidc-sandbox-users.json"
        # Installed explicitly, before the children start: a shell without job control
        # starts us with SIGINT ignored, and the children would inherit that.
        signal.signal(signal.SIGINT, _interrupt)
        signal.signal(signal.SIGTERM, _interrupt)
        children = {}
        try:
            # The web server takes the seed's webhooks as they come; Stripe's wait until
            # the intake has made the cases they belong on and the worker has tied them to
            # their customers (an event taken in before its customer's case is tied would be
            # on no case).
            children["Stripe and Zendesk sandboxes"] = _spawn(
                ["manage.py", "sandbox", "--stripe-port", str(stripe_port),
                 "--zendesk-port", str(zendesk_port), "--state", str(settings.VAR_DIR / "sandbox"),
                 "--webhook-url", url, "--hold-stripe-webhooks"], env)
            children["web server"] = _spawn(
                ["manage.py", "runserver", "--noreload", f"{host}:{port}"], env)
            if issuer:
                children["identity provider"] = _spawn(
                    ["manage.py", "oidc_sandbox", "--port", str(oidc_port),
                     "--users-file", str(sso_users_file),
                     *(arg for callback in _callbacks(host, port)
                       for arg in ("--redirect-uri", callback))], env)
            for ready in (f"{stripe_url}/_sandbox/requests", f"{zendesk_url}/_sandbox/requests",
                          url + "healthz",
                          *([f"{issuer}/.well-known/openid-configuration"] if issuer else [])):
                _wait_until_answering(ready, children)
            self._seed(stripe_url, zendesk_url)
            self._take_in_tickets(env)
            # Quiet: the worker's own banner would be printed under the console's.
            children["worker"] = _spawn(
                [*WORKER_WARNING_FILTERS, "-m", "celery", "-A", "billing_console", "--quiet",
                 "worker", "--beat", "--loglevel", "INFO", "--concurrency", "2",
                 "--schedule", settings.CELERY_BEAT_SCHEDULE_FILENAME], env)
            self._wait_until_settled(children, _tasks_left,
                                     "The intake's Stripe lookups are still running")
            _post(f"{stripe_url}/_sandbox/webhooks/release")
            self._ask_for_a_refund_to_approve(env)
            self.stdout.write("Processing the seed's webhooks…")
            self.stdout.flush()
            self._wait_until_settled(children, lambda: _work_left(stripe_url),
                                     "The seed is still going in")
            self._print_banner(url, stripe_url, zendesk_url, credentials,
                               sso=(issuer, sso_users_file) if issuer else None)
            _wait_for_any_exit(children)
            raise CommandError(f"{_stopped(children, 'unexpectedly')}; stopping the rest.")
        except KeyboardInterrupt:
            self.stdout.write("\nStopping…")
        finally:
            _stop(children)
        self.stdout.write("Stopped.")

    def _seed(self, stripe_url, zendesk_url):
        self.stdout.write("Seeding the sandboxes through their APIs…")
        customers = seed_stripe(stripe_url, DEMO_STRIPE_KEY)
        agents = seed_zendesk(zendesk_url, DEMO_ZENDESK_EMAIL, DEMO_ZENDESK_TOKEN, customers)
        tie_tier2_to_zendesk(agents[TIER2_AGENTS[0][1]])

    def _take_in_tickets(self, env):
        self.stdout.write("Taking in the escalated tickets…")
        self.stdout.flush()
        if subprocess.run([sys.executable, "manage.py", "zendesk_sync"],  # noqa: S603
                          cwd=settings.BASE_DIR, env=env).returncode:
            raise CommandError("The Zendesk intake failed; see the log above.")

    def _ask_for_a_refund_to_approve(self, env):
        """Finance's approvals page has something on it: `manage.py demo_refund_request`,
        once the worker has tied its case to its Stripe customer."""
        self.stdout.write("Asking for a refund that waits for finance…")
        self.stdout.flush()
        if subprocess.run([sys.executable, "manage.py", "demo_refund_request"],  # noqa: S603
                          cwd=settings.BASE_DIR, env=env).returncode:
            raise CommandError("The demo's refund request failed; see the log above.")

    def _wait_until_settled(self, children, work_left, what):
        """Until `work_left()` has said no twice in a row, or `SETTLE_TIMEOUT_SECONDS`, when
        `what` ("The seed is still going in") is said."""
        deadline = time.monotonic() + SETTLE_TIMEOUT_SECONDS
        calm = 0
        while calm < 2:
            if any(child.poll() is not None for child in children.values()):
                raise CommandError(f"{_stopped(children, 'while the seed went in')}; see "
                                   "the log above.")
            if time.monotonic() > deadline:
                self.stderr.write(f"{what} after {SETTLE_TIMEOUT_SECONDS} s; the console may "
                                  "not show all of it yet.")
                return
            calm = calm + 1 if not work_left() else 0
            time.sleep(SETTLE_POLL_SECONDS)

    def _print_banner(self, url, stripe_url, zendesk_url, credentials, sso=None):
        lines = ["", f"Billing Console is running at {url}", "",
                 f"Stripe sandbox:  {stripe_url}", f"Zendesk sandbox: {zendesk_url}", ""]
        if sso:
            lines += _sso_banner(*sso)
            credentials = [entry for entry in credentials if entry[0] == "admin"]
        lines += ["Break-glass password sign-in:" if sso else "Demo sign-ins:"]
        lines += [f"  {username:<12} {password:<18} {role.label}"
                  for username, role, password in credentials]
        lines += ["", "Press Ctrl-C to stop everything.", ""]
        self.stdout.write("\n".join(lines))
        self.stdout.flush()


def _console_env(stripe_url, zendesk_url, webhook_secret):
    """The environment of every child: the console talks only to the sandboxes."""
    return {
        **os.environ,
        "STRIPE_API_KEY": DEMO_STRIPE_KEY,
        "STRIPE_API_BASE": stripe_url,
        "STRIPE_WEBHOOK_SECRET": webhook_secret,
        "ZENDESK_SUBDOMAIN": "console-demo",
        "ZENDESK_EMAIL": DEMO_ZENDESK_EMAIL,
        "ZENDESK_API_TOKEN": DEMO_ZENDESK_TOKEN,
        "ZENDESK_API_URL": zendesk_url,
        "ZENDESK_WEBHOOK_SECRET": webhook_secret,
        "SANDBOX_VIEWER": "1",
        # runserver's "This is a development server" warning would stand among the demo's
        # lines as if something were wrong; the demo is for a laptop, and says so itself.
        "DJANGO_RUNSERVER_HIDE_WARNING": "true",
    }


def _tasks_left():
    """Whether a task is in the queue, or one the worker holds (running, or waiting to be
    retried after a rate limit)."""
    return _queued_tasks() > 0 or _worker_holds_tasks()


def _work_left(stripe_url):
    """Whether the seed is still going in: a Stripe event not yet processed, a webhook
    event waiting, or a task left (`_tasks_left`)."""
    waiting = InboundEvent.objects.filter(status__in=(
        InboundEvent.Status.PENDING, InboundEvent.Status.PROCESSING,
        InboundEvent.Status.FAILED))
    if waiting.exists():
        return True
    received = set(InboundEvent.objects.filter(source=InboundEvent.Source.STRIPE)
                    .values_list("event_id", flat=True))
    return bool(_stripe_event_ids(stripe_url) - received) or _tasks_left()


def _stripe_event_ids(stripe_url):
    """The ids of every event the Stripe sandbox holds, page by page."""
    found, after = set(), None
    while True:
        query = "limit=100" + (f"&starting_after={after}" if after else "")
        request = urllib.request.Request(  # noqa: S310 - the sandbox, on loopback
            f"{stripe_url}/v1/events?{query}",
            headers={"Authorization": f"Bearer {DEMO_STRIPE_KEY}"})
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            page = json.loads(response.read())
        found.update(event["id"] for event in page["data"])
        if not page["has_more"] or not page["data"]:
            return found
        after = page["data"][-1]["id"]


def _queued_tasks():
    """The messages waiting in the worker's queue, on either broker."""
    with celery_app.connection_for_write() as connection:
        try:
            return connection.default_channel.queue_declare(
                celery_app.conf.task_default_queue, passive=True).message_count
        except ChannelError:  # Redis has no queue until a message is sent to it
            return 0


def _oidc_env(issuer):
    """Single sign-on through the demo's identity provider (`manage.py oidc_sandbox`, whose
    people are in the groups named here); the local admin is the break-glass admin."""
    return {
        "OIDC_ISSUER": issuer,
        "OIDC_CLIENT_ID": "billing-console-demo",
        "OIDC_CLIENT_SECRET": secrets.token_urlsafe(24),
        "OIDC_SCOPES": "openid email profile groups",
        "OIDC_ROLE_GROUPS": "billing-specialists=billing_specialist,tier2-agents=tier2_agent,"
                            "finance-team=finance,console-admins=admin",
        "OIDC_BREAK_GLASS_ADMINS": "admin",
        "OIDC_PROVIDER_NAME": "the demo company",
    }


def _callbacks(host, port):
    """Where the provider may send people back: the console by each name it answers to."""
    hosts = {host, "localhost"} if host == "127.0.0.1" else {host}
    return [f"http://{name}:{port}/sso/callback/" for name in sorted(hosts)]


def _sso_banner(issuer, users_file):
    """The provider's people, from the file `manage.py oidc_sandbox` wrote on starting."""
    lines = [f"Company sign-in ({issuer}), from the sign-in page's button:"]
    for user in json.loads(users_file.read_text()):
        gives = ", ".join(user["roles"]) or "no role: no access"
        lines.append(f"  {user['username']:<12} {user['password']:<18} "
                     f"{', '.join(user['groups'])} ({gives})")
    return [*lines, ""]


def _worker_holds_tasks():
    """Whether the worker is running a task, has taken one it has not started, or keeps
    one for later (a retry's countdown): asked through Celery's remote control. A worker
    that does not answer is taken as busy."""
    inspect = celery_app.control.inspect(timeout=WORKER_ANSWER_SECONDS, limit=1)
    for ask in (inspect.active, inspect.reserved, inspect.scheduled):
        answers = ask()
        if not answers or any(answers.values()):
            return True
    return False


def _spawn(arguments, env):
    return subprocess.Popen([sys.executable, *arguments], cwd=settings.BASE_DIR, env=env)  # noqa: S603


def _post(url):
    request = urllib.request.Request(url, method="POST")  # noqa: S310 - loopback only
    with urllib.request.urlopen(request, timeout=10):  # noqa: S310
        pass


def _wait_until_answering(url, children):
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if any(child.poll() is not None for child in children.values()):
            raise CommandError(f"{_stopped(children, 'as it started')}; see the log above.")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - loopback only
                return
        except urllib.error.HTTPError:
            return  # it answered, even if not with 200
        except OSError:
            time.sleep(0.3)
    raise CommandError(f"Nothing answered at {url} within {READY_TIMEOUT_SECONDS} s.")


def _stopped(children, when):
    """Which of `children` ({name: Popen}) stopped, `when`, and how, as the start of a
    sentence: "The worker stopped unexpectedly (exit code 1)", "The web server stopped as
    it started (killed by SIGKILL)"."""
    words = ", and ".join(f"the {name} stopped {when} ({_how(child.returncode)})"
                          for name, child in children.items() if child.poll() is not None)
    words = words or f"a console process stopped {when}"
    return words[0].upper() + words[1:]


def _how(returncode):
    """"exit code 1", or "killed by SIGTERM" for a process a signal ended."""
    if returncode >= 0:
        return f"exit code {returncode}"
    try:
        return f"killed by {signal.Signals(-returncode).name}"
    except ValueError:
        return f"killed by signal {-returncode}"


def _wait_for_any_exit(children):
    while all(child.poll() is None for child in children.values()):
        time.sleep(0.5)


def _stop(children):
    """SIGTERM every child, give them time for a warm shutdown, then SIGKILL whatever is
    left of their process trees (a worker's pool and its embedded beat included)."""
    processes = []
    for child in children.values():
        try:
            parent = psutil.Process(child.pid)
            processes += [parent, *parent.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    _, alive = psutil.wait_procs(processes, timeout=STOP_GRACE_SECONDS)
    for process in alive:
        process.kill()
    psutil.wait_procs(alive, timeout=5)
    for child in children.values():
        child.wait()


def _interrupt(signum, frame):
    """Ctrl-C and SIGTERM both stop the demo and everything it started."""
    raise KeyboardInterrupt

"""`make run` on the embedded default: it serves, the sandboxes are seeded, its banner comes
once its data is consistent (without waiting on Zendesk's rate limit) and is the last thing
it prints (the worker's lines after it are one short line a task), a refund waits for
finance's approval, each demo user lands on their role's home page, and Ctrl-C leaves no
process behind."""

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from django.conf import settings

from bench import demo_ready

# The demo admin has no authenticator app yet: nothing opens until they set one up.
HOMES = {"admin": "/accounts/second-factor/enrol/?next=%2F", "specialist": "/cases/",
         "specialist2": "/cases/", "tier2": "/guidance/", "finance": "/approvals/"}


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _processes_in_session(session_id):
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[3]) == session_id and fields[0] != "Z":  # fields[3] is the session id
            found.append(int(stat.parent.name))
    return found


def _sign_in(base_url, username, password):
    return _sign_in_session(requests.Session(), base_url, username, password)


def _sign_in_session(session, base_url, username, password):
    page = session.get(base_url + "accounts/login/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    return session.post(base_url + "accounts/login/", timeout=10,
                        data={"username": username, "password": password,
                              "csrfmiddlewaretoken": token},
                        headers={"Referer": base_url + "accounts/login/"})


@pytest.fixture
def running_console(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}}
    env.update({"VAR_DIR": str(tmp_path), "PORT": str(port), "DEBUG": "1",
                "STRIPE_PORT": str(_free_port()), "ZENDESK_PORT": str(_free_port())})
    process = subprocess.Popen(
        ["make", "run"], cwd=settings.BASE_DIR, env=env, start_new_session=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        banner = demo_ready.read_banner(process, time.monotonic() + 180)
        # Keep reading: a full pipe would block the console's processes as they log.
        log = []
        threading.Thread(target=lambda: log.extend(process.stdout), daemon=True).start()
        yield process, banner, f"http://127.0.0.1:{port}/", log
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)


# The one line of a task that succeeded (`billing_console.request_log.ShortTaskLine`).
TASK_LINE = re.compile(r"^\S+ \S+ INFO celery\.app\.trace Task [a-z_]+\[[0-9a-f-]{36}\] "
                       r"succeeded in \d+ ms$")


def _consistent_at_the_banner(banner, var_dir):
    """The banner is printed once the seed is in: nothing is outstanding when it shows."""
    stripe_url, zendesk_url = demo_ready.sandbox_urls(banner)
    left, _ = demo_ready.wait_until_consistent(
        var_dir / "billing_console.sqlite3", stripe_url, zendesk_url, timeout=2)
    assert left == [], f"{len(left)} things outstanding at the banner: {left[:10]}"


def _seed_within_zendesks_rate_limit(banner):
    """The demo reads each seeded ticket about once (webhooks for one ticket coalesce), so
    its seed never meets Zendesk's rate limit: no task waited for the limit's window (a
    retry's line, `retry: Retry in 41s`), which would hold the banner back that long."""
    retries = [line for line in banner.splitlines() if " retry: Retry in " in line]
    assert retries == [], retries[:5]
    left, allowed = demo_ready.zendesk_budget(demo_ready.sandbox_urls(banner)[1])
    assert left > 0, f"the seed spent all {allowed} requests of Zendesk's rate limit"


def _nothing_after_the_banner_but_short_task_lines(log):
    """What the demo prints after its banner, before anyone uses it, is at most one short
    line per task the worker runs (beat's): the banner stays on the screen."""
    after = [line.rstrip("\n") for line in list(log) if line.strip()]
    assert all(TASK_LINE.match(line) for line in after), after[:10]


def _finance_has_a_refund_to_approve(base_url, password):
    """The demo's refund above the approval limit waits on finance's approvals page."""
    session = requests.Session()
    approvals = _sign_in_session(session, base_url, "finance", password)
    assert "Refund of 1,188.00 USD" in approvals.text, approvals.text[-3000:]


def _quiet_at_info(output):
    """No HTTP client's chatter, no traceback and no warning, of the worker's (the demo may
    run as root) or runserver's ("WARNING: This is a development server"): the seed's
    calls to Stripe, the signed-in pages and the worker's tasks each say at most their one
    line."""
    lines = output.splitlines()
    chatter = ["\n".join(lines[at:at + 25]) for at, line in enumerate(lines)
               if re.search(r" INFO (stripe|zenpy|urllib3)\b", line) or "Traceback" in line
               or "warning:" in line.lower()]
    assert chatter == [], "\n\n".join(chatter[:3])


SECRET_VARIABLES = ("STRIPE_WEBHOOK_SECRET", "ZENDESK_WEBHOOK_SECRET", "STRIPE_API_KEY",
                    "ZENDESK_API_TOKEN")


def _no_secret_on_a_command_line(session_id):
    """Any user of the machine can read a command line (ps): the demo hands its children
    their secrets and keys through the environment only."""
    processes = [Path(f"/proc/{pid}") for pid in _processes_in_session(session_id)]
    secrets, command_lines = set(), []
    for process in processes:
        try:
            environ = (process / "environ").read_bytes().split(b"\0")
            command_lines.append((process / "cmdline").read_bytes().replace(b"\0", b" "))
        except OSError:
            continue  # it ended meanwhile
        secrets.update(line.split(b"=", 1)[1] for line in environ
                       if line.split(b"=", 1)[0].decode() in SECRET_VARIABLES)
    secrets.discard(b"")
    assert len(command_lines) >= 4 and secrets  # the sandboxes, web, worker, demo, make
    for command_line in command_lines:
        assert not any(secret in command_line for secret in secrets), command_line


def _tier2_sees_only_its_own_escalations(base_url, zendesk_url, tickets, password):
    """The demo Tier 2 user is the first demo agent: their escalations open by ticket
    number (once intake has made them cases), the other agent's are not found."""
    found = demo_ready.zendesk_get(
        zendesk_url, "/api/v2/users/search.json?query=email:noor.haddad@tier2.example.com",
    )["users"]
    escalated = [ticket for ticket in tickets if "billing_escalation" in ticket["tags"]]
    own = next(t["id"] for t in escalated if t["assignee_id"] == found[0]["id"])
    other = next(t["id"] for t in escalated if t["assignee_id"] != found[0]["id"])
    session = requests.Session()
    _sign_in_session(session, base_url, "tier2", password)
    deadline = time.monotonic() + 90
    while session.get(f"{base_url}cases/find/?ticket={own}", timeout=10).status_code != 200:
        assert time.monotonic() < deadline, "the demo Tier 2 agent never saw their escalation"
        time.sleep(1)
    assert session.get(f"{base_url}cases/find/?ticket={other}", timeout=10).status_code == 404
    # Their "Charged twice" escalations include one with two equal charges behind it.
    charged_twice = [t["id"] for t in escalated if "duplicate_charge" in t["tags"]
                     and t["assignee_id"] == found[0]["id"]]
    pages = [session.get(f"{base_url}cases/find/?ticket={ticket}", timeout=10).text
             for ticket in charged_twice]
    assert any("likely duplicate" in page for page in pages)


def test_make_run_serves_signs_each_role_in_and_stops_cleanly(running_console, tmp_path):
    process, banner, base_url, log = running_console
    _quiet_at_info(banner)
    assert demo_ready.console_url(banner) == base_url
    stripe_url, zendesk_url = demo_ready.sandbox_urls(banner)
    customers = requests.get(f"{stripe_url}/v1/customers?limit=100", timeout=10,
                             auth=("sk_test_make_run", "")).json()["data"]
    assert len(customers) >= 30  # seeded through the sandbox's own API
    ids = ",".join(map(str, range(1, 101)))
    tickets = demo_ready.zendesk_get(
        zendesk_url, f"/api/v2/tickets/show_many.json?ids={ids}")["tickets"]
    assert len(tickets) >= 60

    _consistent_at_the_banner(banner, tmp_path)
    _seed_within_zendesks_rate_limit(banner)
    _nothing_after_the_banner_but_short_task_lines(log)

    assert "Sign in" in requests.get(base_url + "accounts/login/", timeout=10).text
    credentials = demo_ready.sign_ins(banner)
    assert set(credentials) == set(HOMES)
    for username, home in HOMES.items():
        landed = _sign_in(base_url, username, credentials[username])
        assert landed.url == base_url.rstrip("/") + home, username
        assert landed.status_code == 200, (username, landed.status_code)
    _tier2_sees_only_its_own_escalations(base_url, zendesk_url, tickets,
                                         credentials["tier2"])
    _finance_has_a_refund_to_approve(base_url, credentials["finance"])
    _no_secret_on_a_command_line(process.pid)
    _quiet_at_info("".join(log))

    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
    process.wait(timeout=60)
    deadline = time.monotonic() + 20
    while _processes_in_session(process.pid) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _processes_in_session(process.pid) == []


# --- The supervisor's words, without running the demo ------------------------------------


def test_a_process_that_stops_is_named_with_its_exit_code_or_signal():
    from billing_console.management.commands.demo import _stopped

    failed = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    killed = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    running = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        failed.wait(timeout=30)
        killed.kill()
        killed.wait(timeout=30)
        assert _stopped({"web server": running, "worker": failed}, "unexpectedly") == (
            "The worker stopped unexpectedly (exit code 3)")
        assert _stopped({"worker": failed, "Stripe and Zendesk sandboxes": killed},
                        "as it started") == (
            "The worker stopped as it started (exit code 3), and the Stripe and Zendesk "
            "sandboxes stopped as it started (killed by SIGKILL)")
    finally:
        running.kill()
        running.wait(timeout=30)


def test_the_workers_root_warning_alone_is_silenced():
    from celery.platforms import ROOT_DISCOURAGED

    from billing_console.management.commands.demo import (
        CELERY_ROOT_WARNING,
        WORKER_WARNING_FILTERS,
    )

    assert ROOT_DISCOURAGED.startswith(CELERY_ROOT_WARNING)
    warns = ("import warnings\n"
             "from celery.exceptions import SecurityWarning\n"
             "from celery.platforms import ROOT_DISCOURAGED\n"
             "warnings.warn(SecurityWarning(ROOT_DISCOURAGED.format(uid=0, euid=0, gid=0, "
             "egid=0)))\n"
             "warnings.warn(SecurityWarning('another security warning'))\n"
             "warnings.warn(UserWarning('any other warning'))\n")
    stderr = subprocess.run([sys.executable, *WORKER_WARNING_FILTERS, "-c", warns],
                            capture_output=True, text=True, check=True).stderr
    assert "superuser" not in stderr and "Invalid -W option" not in stderr
    assert "another security warning" in stderr and "any other warning" in stderr


def test_the_first_install_keeps_setuptools_notices_out():
    """`make run`'s first install of the project is twice quiet: setuptools' "Editable
    installation" warning, meant for package authors, is not among a newcomer's first
    lines (pip still prints its errors)."""
    recipe = subprocess.run(["make", "-n", "-B", "install"], cwd=settings.BASE_DIR, check=True,
                            capture_output=True, text=True).stdout.splitlines()
    editable = [line for line in recipe if "pip install" in line and " -e " in line]
    assert editable and all("--quiet --quiet" in line for line in editable), editable

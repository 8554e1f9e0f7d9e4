"""`make run`: the whole console on one machine, in one foreground process group.

Starts the web server and a Celery worker with beat embedded, prints where to sign in and
the demo accounts, and on Ctrl-C (or SIGTERM) stops every process it started.
"""

import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from billing_console.demo import ensure_demo_users

STOP_GRACE_SECONDS = 15
READY_TIMEOUT_SECONDS = 60


class Command(BaseCommand):
    help = "Run the console, its worker and beat in the foreground, with demo accounts."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args, host, port, **options):
        call_command("migrate", interactive=False, verbosity=0)
        credentials = ensure_demo_users()
        url = f"http://{host}:{port}/"
        # Installed explicitly, before the children start: a shell without job control
        # starts us with SIGINT ignored, and the children would inherit that.
        signal.signal(signal.SIGINT, _interrupt)
        signal.signal(signal.SIGTERM, _interrupt)
        children = self._start(host, port)
        try:
            self._wait_until_ready(url, children)
            self._print_banner(url, credentials)
            self._wait_for_any_exit(children)
            raise CommandError("A console process stopped unexpectedly; stopping the rest.")
        except KeyboardInterrupt:
            self.stdout.write("\nStopping…")
        finally:
            _stop(children)
        self.stdout.write("Stopped.")

    def _start(self, host, port):
        python = sys.executable
        celery = str(Path(python).with_name("celery"))
        commands = {
            "web": [python, "manage.py", "runserver", "--noreload", f"{host}:{port}"],
            "worker": [celery, "-A", "billing_console", "worker", "--beat", "--loglevel", "INFO",
                       "--concurrency", "2",
                       "--schedule", settings.CELERY_BEAT_SCHEDULE_FILENAME],
        }
        return {
            name: subprocess.Popen(command, cwd=settings.BASE_DIR)  # noqa: S603
            for name, command in commands.items()
        }

    def _wait_until_ready(self, url, children):
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if any(child.poll() is not None for child in children.values()):
                raise CommandError("A console process failed to start; see the log above.")
            try:
                with urllib.request.urlopen(url + "healthz", timeout=2):  # noqa: S310
                    return
            except OSError:
                time.sleep(0.3)
        raise CommandError(f"The web server did not answer at {url} within "
                           f"{READY_TIMEOUT_SECONDS} s.")

    def _print_banner(self, url, credentials):
        lines = ["", f"Billing Console is running at {url}", "", "Demo sign-ins:"]
        lines += [f"  {username:<12} {password:<18} {role.label}"
                  for username, role, password in credentials]
        lines += ["", "Press Ctrl-C to stop everything.", ""]
        self.stdout.write("\n".join(lines))
        self.stdout.flush()

    def _wait_for_any_exit(self, children):
        while all(child.poll() is None for child in children.values()):
            time.sleep(0.5)


def _stop(children):
    """SIGTERM every child, give them time for a warm shutdown, then SIGKILL the rest."""
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for child in children.values():
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def _interrupt(signum, frame):
    """Ctrl-C and SIGTERM both stop the demo and everything it started."""
    raise KeyboardInterrupt

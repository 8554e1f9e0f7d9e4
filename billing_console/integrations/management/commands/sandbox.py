"""Serve the Stripe and Zendesk sandboxes on loopback, for the demo and for manual testing."""

import signal
import threading
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from billing_console.integrations.stripe.sandbox import build_server as build_stripe
from billing_console.integrations.zendesk.sandbox import build_server as build_zendesk

HOST = "127.0.0.1"
# Each sandbox signs with the secret the console checks its webhooks with, read from the
# environment (STRIPE_WEBHOOK_SECRET, ZENDESK_WEBHOOK_SECRET): never from the command
# line, where any user of the machine could read it.
WEBHOOK_SECRET_SETTINGS = {"Stripe": "STRIPE_WEBHOOK_SECRET", "Zendesk": "ZENDESK_WEBHOOK_SECRET"}


class Command(BaseCommand):
    help = (
        "Serve the Stripe sandbox (--stripe-port) and/or the Zendesk sandbox "
        "(--zendesk-port) on 127.0.0.1 until Ctrl-C."
    )

    def add_arguments(self, parser):
        parser.add_argument("--stripe-port", type=int)
        parser.add_argument("--zendesk-port", type=int)
        parser.add_argument(
            "--state", type=Path,
            help="a folder where each sandbox keeps its state (stripe.json, zendesk.json) "
                 "across restarts; without it, state lives in memory",
        )
        parser.add_argument(
            "--webhook-url",
            help="the console's base URL: events go to <URL>/webhooks/stripe/ and "
                 "<URL>/webhooks/zendesk/",
        )
        parser.add_argument(
            "--hold-stripe-webhooks", action="store_true",
            help="keep Stripe's events back until POST /_sandbox/webhooks/release",
        )
        parser.add_argument("--zendesk-replay", type=Path,
                            help="serve this recorded incremental export verbatim")

    def handle(self, *args, **options):
        if not options["stripe_port"] and not options["zendesk_port"]:
            raise CommandError("Give --stripe-port, --zendesk-port, or both.")
        if options["state"]:
            options["state"].mkdir(parents=True, exist_ok=True)
        servers = self._build(options)
        threads = [threading.Thread(target=server.serve_forever, daemon=True)
                   for server in servers.values()]
        for thread in threads:
            thread.start()
        for name, server in servers.items():
            host, port = server.server_address[:2]
            self.stdout.write(f"{name} sandbox listening on http://{host}:{port}")
        self.stdout.flush()
        _wait_for_stop()
        for server in servers.values():
            server.shutdown()
            server.server_close()

    def _build(self, options):
        servers = {}
        for name, build, port_option in (("Stripe", build_stripe, "stripe_port"),
                                         ("Zendesk", build_zendesk, "zendesk_port")):
            if not options[port_option]:
                continue
            extra = ({"replay_path": _text(options["zendesk_replay"])} if name == "Zendesk"
                     else {"hold_webhooks": options["hold_stripe_webhooks"]})
            servers[name] = build(
                HOST, options[port_option],
                state_path=_text(options["state"] and options["state"] / f"{name.lower()}.json"),
                webhook_url=_webhook_url(options["webhook_url"], name.lower()),
                webhook_secret=getattr(settings, WEBHOOK_SECRET_SETTINGS[name]),
                **extra,
            )
        return servers


def _text(path):
    return str(path) if path else None


def _webhook_url(base, source):
    return f"{base.rstrip('/')}/webhooks/{source}/" if base else None


def _wait_for_stop():
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    stop.wait()

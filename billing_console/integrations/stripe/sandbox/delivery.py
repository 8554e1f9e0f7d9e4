"""Deliver events to the configured webhook endpoint, signed as Stripe signs them, and run
the work Stripe does later (a refund that fails after it succeeded).

`Stripe-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<payload>" keyed by the secret>`.
A delivery that fails (connection error or non-2xx) is retried with exponential backoff,
capped, a bounded number of times, in one background thread, so requests never wait on it.
"""

import hashlib
import hmac
import itertools
import json
import logging
import queue
import threading
import time
import urllib.error
import urllib.request

logger = logging.getLogger(__name__)

FIRST_RETRY_SECONDS = 0.5
LONGEST_RETRY_SECONDS = 30.0
MAX_ATTEMPTS = 8
TIMEOUT_SECONDS = 10


def signature_header(payload, secret, timestamp=None):
    timestamp = int(time.time()) if timestamp is None else timestamp
    signed = f"{timestamp}.{payload}".encode()
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def retry_delay(attempt):
    return min(FIRST_RETRY_SECONDS * 2 ** (attempt - 1), LONGEST_RETRY_SECONDS)


class WebhookSender:
    """One daemon thread sending queued events in order of their due time.

    A sender made `held` queues events without sending any until `release()`: the demo
    seeds Stripe before the console has the cases those events belong on."""

    def __init__(self, url, secret, *, held=False):
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"Webhook URL must be http(s): {url}")
        self.url = url
        self.secret = secret or ""
        self._queue = queue.PriorityQueue()
        # Orders deliveries due at the same moment; next() on a count is atomic.
        self._sequence = itertools.count(1)
        self._stopped = threading.Event()
        self._released = threading.Event()
        if not held:
            self._released.set()
        self._thread = threading.Thread(target=self._run, name="stripe-sandbox-webhooks",
                                        daemon=True)
        self._thread.start()

    def send(self, event, attempt=1, delay=0.0):
        self._queue.put((time.time() + delay, next(self._sequence), attempt, event))

    def release(self):
        self._released.set()

    def stop(self):
        self._stopped.set()
        self._released.set()
        self._queue.put((0, 0, 0, None))

    def _run(self):
        self._released.wait()
        while not self._stopped.is_set():
            due, sequence, attempt, event = self._queue.get()
            if event is None:
                return
            wait = due - time.time()
            if wait > 0:
                # Not due yet: put it back and look again shortly (a new event may be due first).
                self._queue.put((due, sequence, attempt, event))
                self._stopped.wait(min(wait, 0.2))
                continue
            self._deliver(event, attempt)

    def _deliver(self, event, attempt):
        payload = json.dumps(event)
        # The URL's scheme was checked to be http(s) in __init__.
        request = urllib.request.Request(  # noqa: S310
            self.url, data=payload.encode(), method="POST", headers={
                "Content-Type": "application/json; charset=utf-8",
                "Stripe-Signature": signature_header(payload, self.secret),
                "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            })
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS):  # noqa: S310
                return
        except (urllib.error.URLError, OSError) as error:
            failure = error
        if attempt >= MAX_ATTEMPTS:
            logger.warning("Gave up delivering %s after %s attempts: %s", event["id"], attempt,
                           failure)
            return
        self.send(event, attempt + 1, retry_delay(attempt))


class Scheduler:
    """Runs the state's scheduled jobs when they fall due, under the state's lock."""

    def __init__(self, state, actions):
        self.state = state
        self.actions = actions
        self._timers = []

    def start(self, job):
        delay = max(0.0, job["due"] - time.time())
        timer = threading.Timer(delay, self._run, args=(job,))
        timer.daemon = True
        self._timers.append(timer)
        timer.start()

    def resume(self):
        for job in list(self.state.scheduled):
            self.start(job)

    def stop(self):
        for timer in self._timers:
            timer.cancel()

    def _run(self, job):
        with self.state.lock:
            if job not in self.state.scheduled:
                return
            self.state.scheduled.remove(job)
            self.actions[job["action"]](self.state, **job["arguments"])
            self.state.save()

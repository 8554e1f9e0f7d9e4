"""The sandbox's state: every object by kind and id, idempotent results, and the events that
record each change. One re-entrant lock serialises every request, as a single Stripe account
would see them in order. With a state path, everything is saved to a JSON file shortly after
each change (and on shutdown) and loaded again on start, so a demo survives restarts.

Objects are stored in their wire shape. Keys starting with `_` are the sandbox's own
bookkeeping (the test payment method behind a charge, say) and never leave the server.
"""

import copy
import json
import operator
import os
import secrets
import string
import threading
import time
from collections import deque

from .errors import invalid_request, resource_missing
from .forms import optional_int, required_int

_ID_ALPHABET = string.ascii_letters + string.digits
MAX_PAGE_SIZE = 100
SAVE_INTERVAL_SECONDS = 0.25
# Stripe forgets an idempotency key after 24 hours; the key can then be used afresh.
IDEMPOTENCY_KEY_LIFETIME_SECONDS = 24 * 3600


def new_id(prefix):
    return f"{prefix}_{''.join(secrets.choice(_ID_ALPHABET) for _ in range(24))}"


def public(obj):
    """The wire shape of a stored object: its bookkeeping keys removed."""
    return {key: value for key, value in obj.items() if not key.startswith("_")}


class State:
    def __init__(self, path=None):
        self.path = path
        self.lock = threading.RLock()
        self.objects = {}
        self.idempotent_results = {}
        self.scheduled = []
        # Request log and faults are test aids and are never persisted.
        self.requests = deque(maxlen=500)
        self.faults = {}
        self.on_event = None
        # The request being handled, named on the events it causes.
        self.current_request = None
        self.on_schedule = None
        self._save_wanted = threading.Event()
        self._write_lock = threading.Lock()
        self._closed = False
        if path and os.path.exists(path):
            self._load()
        if path:
            threading.Thread(target=self._keep_saving, name="stripe-sandbox-saver",
                             daemon=True).start()

    # Persistence -----------------------------------------------------------------------

    def _load(self):
        with open(self.path, encoding="utf-8") as handle:
            saved = json.load(handle)
        self.objects = saved["objects"]
        self.idempotent_results = saved["idempotent_results"]
        self.scheduled = saved.get("scheduled", [])

    def save(self):
        """Ask for the state to be written. A background thread writes at most every
        SAVE_INTERVAL_SECONDS, so a burst of requests (a seeding) costs a few writes rather
        than one per request; `flush()` writes at once."""
        if self.path:
            self._save_wanted.set()

    def flush(self):
        if not self.path:
            return
        with self.lock:
            self._save_wanted.clear()
            text = json.dumps({"objects": self.objects, "scheduled": self.scheduled,
                               "idempotent_results": self.idempotent_results})
        with self._write_lock:
            temporary = f"{self.path}.tmp"
            with open(temporary, "w", encoding="utf-8") as handle:
                handle.write(text)
            # Replace in one step, so a crash never leaves half a file behind.
            os.replace(temporary, self.path)

    def close(self):
        self._closed = True
        self._save_wanted.set()
        self.flush()

    def _keep_saving(self):
        while True:
            self._save_wanted.wait()
            if self._closed:
                return
            time.sleep(SAVE_INTERVAL_SECONDS)
            self.flush()

    # Objects ---------------------------------------------------------------------------

    def now(self):
        return int(time.time())

    def add(self, obj):
        self.objects.setdefault(obj["object"], {})[obj["id"]] = obj
        return obj

    def get(self, kind, object_id, *, param="id"):
        obj = self.objects.get(kind, {}).get(object_id) if isinstance(object_id, str) else None
        if obj is None:
            raise resource_missing(kind, object_id, param=param)
        return obj

    def find(self, kind, object_id):
        return self.objects.get(kind, {}).get(object_id)

    def all(self, kind, **equal):
        """Objects of a kind, newest first, whose fields equal the given values."""
        found = [obj for obj in self.objects.get(kind, {}).values()
                 if all(obj.get(field) == value for field, value in equal.items())]
        # Insertion order breaks ties between objects created in the same second.
        return list(reversed(found))

    def delete(self, kind, object_id):
        self.objects.get(kind, {}).pop(object_id, None)

    # Idempotency -----------------------------------------------------------------------

    def recall(self, key):
        """The result first given for this idempotency key, if Stripe would still have it."""
        stored = self.idempotent_results.get(key)
        if stored and stored["created"] >= time.time() - IDEMPOTENCY_KEY_LIFETIME_SECONDS:
            return stored
        return None

    def remember(self, key, result):
        cutoff = time.time() - IDEMPOTENCY_KEY_LIFETIME_SECONDS
        # Forget what Stripe would have forgotten, so the state does not grow without end.
        self.idempotent_results = {known: stored for known, stored
                                   in self.idempotent_results.items()
                                   if stored["created"] >= cutoff}
        # A deep copy, so the replay is the first response even after the object changed.
        self.idempotent_results[key] = {**copy.deepcopy(result), "created": time.time()}

    # Events ----------------------------------------------------------------------------

    def emit(self, event_type, obj, previous_attributes=None):
        # A deep copy: the event keeps the object as it was, whatever happens to it later.
        data = {"object": copy.deepcopy(public(obj))}
        if previous_attributes:
            data["previous_attributes"] = previous_attributes
        event = self.add({
            "id": new_id("evt"), "object": "event", "api_version": "2026-10-28.endive",
            "created": self.now(), "data": data, "livemode": False, "pending_webhooks": 0,
            "request": dict(self.current_request or {"id": None, "idempotency_key": None}),
            "type": event_type,
        })
        if self.on_event:
            self.on_event(event)
        return event

    # Work that Stripe does later (a refund that fails some time after it succeeded) -----

    def schedule(self, action, delay_seconds, **arguments):
        job = {"action": action, "due": time.time() + delay_seconds, "arguments": arguments}
        self.scheduled.append(job)
        if self.on_schedule:
            self.on_schedule(job)


def page(objects, params, url):
    """A Stripe list object over `objects` (newest first), with limit/starting_after/
    ending_before cursors."""
    limit = _page_limit(params)
    ids = [obj["id"] for obj in objects]
    start, end = 0, len(objects)
    if params.get("starting_after"):
        start = _cursor_position(ids, params["starting_after"], "starting_after") + 1
    elif params.get("ending_before"):
        end = _cursor_position(ids, params["ending_before"], "ending_before")
        start = max(0, end - limit)
    chosen = objects[start:end][:limit]
    return {"object": "list", "url": url, "has_more": start + len(chosen) < end,
            "data": [public(obj) for obj in chosen]}


# Stripe's range filter on a list's `created`: `created[gte]=...&created[lt]=...`.
CREATED_BOUNDS = {"gt": operator.gt, "gte": operator.ge, "lt": operator.lt, "lte": operator.le}


def created_within(objects, params):
    """The objects whose `created` passes the request's `created` filter, as Stripe's lists
    take it: one Unix time (created exactly then) or any of the bounds gt, gte, lt, lte."""
    created = params.get("created")
    if created in (None, ""):
        return objects
    if not isinstance(created, dict):
        moment = optional_int(params, "created")
        return [obj for obj in objects if obj["created"] == moment]
    for bound, value in created.items():
        param = f"created[{bound}]"
        if bound not in CREATED_BOUNDS:
            raise invalid_request(f"Received unknown parameter: {param}", param=param)
        limit = required_int({param: value}, param)
        objects = [obj for obj in objects if CREATED_BOUNDS[bound](obj["created"], limit)]
    return objects


def _page_limit(params):
    raw = params.get("limit", "10")
    if not str(raw).isdigit() or not 1 <= int(raw) <= MAX_PAGE_SIZE:
        raise invalid_request(
            "Invalid limit: must be an integer between 1 and 100.", param="limit"
        )
    return int(raw)


def _cursor_position(ids, cursor, param):
    if cursor not in ids:
        raise invalid_request(f"No such object: '{cursor}'", code="resource_missing",
                              param=param)
    return ids.index(cursor)


EMBEDDED_LIST_SIZE = 10


def embedded_list(items, url, *, limit=EMBEDDED_LIST_SIZE):
    """A list nested in another object, such as an invoice's lines. Like Stripe, it holds
    the first `limit` items and says `has_more`; the rest are read from `url`. Lists that
    live only inside their object (a subscription's items) pass limit=None."""
    shown = items if limit is None else items[:limit]
    return {"object": "list", "url": url, "has_more": len(shown) < len(items),
            "data": [public(item) for item in shown]}

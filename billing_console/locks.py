"""Lock conflicts are retried, never a 500.

Row locks come first and the audit chain's lock last (`billing_console.db.hooks`), so
the console's own transactions do not deadlock one another. PostgreSQL can still give up
on a lock (a deadlock with something else, a serialization failure, a lock timeout); the
transaction has then been rolled back whole, and running it again is the fix:

- `RetryLockConflictsMiddleware` runs the whole request again, a few times with a short
  jittered pause, then answers 503 `{"message", "code"}` (a page for people) to try again;
- `RetryLockConflictsTask`, the Celery app's task class, retries the task, like any other
  transient error.
"""

import logging
import random
import time

from celery import Task
from django.conf import settings
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.http.request import RawPostDataException
from django.template import loader

from billing_console import request_log

# deadlock_detected, serialization_failure, lock_not_available
LOCK_CONFLICT_SQLSTATES = frozenset({"40P01", "40001", "55P03"})
REQUEST_TRIES = 3
TRY_AGAIN = "The console was busy with the same records; nothing was changed. Try again."


def is_lock_conflict(error):
    """Whether `error`, or an error it was raised from, is a lock conflict. Django's
    OperationalError keeps the driver's error as its cause, with the SQLSTATE."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if (getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)) in (
                LOCK_CONFLICT_SQLSTATES):
            return True
        error = error.__cause__ or error.__context__
    return False


def pause_before_retry(attempt):
    """A short pause, random so that the callers who collided do not collide again."""
    time.sleep(random.uniform(0.02, 0.1) * 2 ** attempt)  # noqa: S311 - not a secret


class RetryLockConflictsMiddleware:
    """Runs a request again when its transaction was rolled back by a lock conflict.

    The transaction that lost is rolled back whole, and what a view committed before it
    is safe to meet again: views write through one service transaction, and money
    requests keep their idempotency key's row (committed first) to find it again on the
    next attempt. Only a request whose body could be kept is run again. Place it last,
    around the view: process_exception is where the conflict is seen before it is a 500.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        replayable = _keep_body(request)
        for attempt in range(1, REQUEST_TRIES + 1):
            response = self.get_response(request)
            if not getattr(request, "_lock_conflict", False):
                return response
            request._lock_conflict = False
            if not replayable or attempt == REQUEST_TRIES:
                break
            # Said on the request's one line, as is the giving up below.
            request_log.note(request, f"lock conflict, run again: try {attempt + 1}",
                             logging.WARNING)
            pause_before_retry(attempt)
        request_log.note(request, "lock conflict on " + (
            "its one try" if attempt == 1 else f"all {attempt} tries"))
        return _try_again(request)

    def process_exception(self, request, exception):
        if not is_lock_conflict(exception) or _in_transaction():
            return None
        request._lock_conflict = True
        return HttpResponse(status=503)  # replaced by __call__'s answer


def _keep_body(request):
    """Read the body now, so each attempt can parse it again; False when it cannot be
    kept (already read, or too large to hold in memory)."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    try:
        if limit is not None and int(request.META.get("CONTENT_LENGTH") or 0) > limit:
            return False
    except ValueError:
        return False
    try:
        request.body  # noqa: B018 - read and kept by the request
    except RawPostDataException:
        return False
    return True


def _in_transaction():
    """Still inside the application's transaction: it is not over, so not ours to rerun."""
    in_transaction = getattr(connection, "in_transaction", None)
    return in_transaction() if in_transaction else connection.in_atomic_block


def _try_again(request):
    if request.path.startswith("/api/"):
        return JsonResponse({"message": TRY_AGAIN, "code": "lock_conflict"}, status=503,
                            headers={"Retry-After": "1"})
    # Rendered without the request, as the 500 page is: no context processor runs.
    return HttpResponse(loader.get_template("503.html").render({"message": TRY_AGAIN}),
                        status=503, headers={"Retry-After": "1"})


class RetryLockConflictsTask(Task):
    """Celery's Task, with a lock conflict treated as transient: the task is retried after
    a short pause, within its own `max_retries` (the task's transaction was rolled back;
    tasks take ids and load rows, so running again is what a retry is for)."""

    def __call__(self, *args, **kwargs):
        try:
            return super().__call__(*args, **kwargs)
        except Exception as error:
            if not is_lock_conflict(error):
                raise
            countdown = random.uniform(0.5, 2) * 2 ** self.request.retries  # noqa: S311
            raise self.retry(exc=error, countdown=min(
                countdown, settings.CELERY_MAX_RETRY_DELAY_SECONDS)) from error

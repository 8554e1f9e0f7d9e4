"""One log line per request, written by the console itself so that it reads the same under
runserver (the demo), gunicorn (production) and the tests: method, path (never the query
string, which may carry a customer's email), status, milliseconds taken, and who asked.

What else is said of a request goes on that line too, not on lines of its own (`note`):
the console's words (a sign-in refused, an account locked, a parameter the database cannot
store, a lock conflict run again) and Django's (a CSRF refusal, too many fields, a host it
does not serve: `OnTheRequestLine`). Django's lines that would repeat it (runserver's
request line, `django.request`'s line for a 4xx or 5xx answer) are dropped; the traceback
of an unexpected error is kept. See LOGGING.

A task is one short line too: Celery's line for a task that succeeded, without the value
the task returned (`ShortTaskLine`, a filter LOGGING puts on Celery's logger).
"""

import logging
import time

from celery.app import trace
from django.http import HttpRequest

logger = logging.getLogger("billing_console.requests")


def level_for(status):
    """INFO for an answer, WARNING for a refusal (4xx), ERROR for a failure (5xx)."""
    if status >= 500:
        return logging.ERROR
    return logging.WARNING if status >= 400 else logging.INFO


# A note quotes what was sent at times (a parameter's name, a Host header): never a page of it.
NOTE_MAX_CHARS = 200


def note(request, words, level=logging.INFO):
    """Say `words` (why the request was refused, or what became of it) on the request's one
    line, which is logged at `level` when that is above the status's level. A later note
    replaces an earlier one: an account locked says more than the failed sign-in before."""
    if len(words) > NOTE_MAX_CHARS:
        words = words[:NOTE_MAX_CHARS] + "…"
    request.log_note = (words, level)


class LogEachRequest:
    """Outermost middleware: it sees every request, static files included, and its answer."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        milliseconds = (time.perf_counter() - started) * 1000
        words, level = getattr(request, "log_note", ("", logging.NOTSET))
        logger.log(max(level_for(response.status_code), level), "%s %s %s %.0f ms %s%s",
                   request.method, request.path, response.status_code, milliseconds,
                   _who(request), f" ({words})" if words else "")
        request.log_line_written = True
        return response


class OnTheRequestLine(logging.Filter):
    """On the log's handler: a record of Django's that carries the request it is about
    (`django.request`, `django.security.*`, which name each refusal of tampered input after
    its exception: csrf, TooManyFieldsSent, DisallowedHost…) becomes that request's note,
    or is dropped when the request's line is written already (a 503's). A record with the
    traceback of an unexpected error (a 500) stays."""

    def filter(self, record):
        request = getattr(record, "request", None)
        if not isinstance(request, HttpRequest) or (
                record.exc_info and getattr(record, "status_code", 0) >= 500):
            return True
        if not getattr(request, "log_line_written", False):
            # Its status says the level: a refusal of tampered input is no server error.
            note(request, record.getMessage())
        return False


LOCKED_OUT = "account locked: too many failed sign-ins"


def sign_in_refused(sender, request=None, **kwargs):
    """Receives `user_login_failed` (connected by the app's `ready`): a wrong password, or
    any password while the account is locked (Axes marks the request). Without the
    username: the audit trail keeps it, and people type passwords there too."""
    if request is not None:
        note(request, LOCKED_OUT if getattr(request, "axes_locked_out", False)
             else "sign-in refused", logging.WARNING)


def locked_out(sender, request=None, **kwargs):
    """Receives Axes' `user_locked_out`: this failure locked the account."""
    if request is not None:
        note(request, LOCKED_OUT, logging.WARNING)


def _who(request):
    # Static files are answered before the session is read: there is no user to name.
    user = getattr(request, "user", None)
    return user.get_username() if user is not None and user.is_authenticated else "-"


class ShortTaskLine(logging.Filter):
    """"Task process_inbound_event[<id>] succeeded in 6 ms": Celery's success line with the
    task's own name (not its module's), its id, and the time in milliseconds. The value the
    task returned (a sync's counts, a run's summary) stays out of the log; failures and
    retries keep Celery's own lines."""

    def filter(self, record):
        data = getattr(record, "data", None)
        if record.msg == trace.LOG_SUCCESS and isinstance(data, dict):
            record.msg = "Task %s[%s] succeeded in %.0f ms"
            record.args = (str(data["name"]).rpartition(".")[2], data["id"],
                           data["runtime"] * 1000)
        return True

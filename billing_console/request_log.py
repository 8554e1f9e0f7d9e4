"""One log line per request, written by the console itself so that it reads the same under
runserver (the demo), gunicorn (production) and the tests: method, path (never the query
string, which may carry a customer's email), status, milliseconds taken, and who asked.

Django's own lines that would repeat it (runserver's request line, `django.request`'s
warning for a 4xx with its traceback) are kept for server errors only: see LOGGING.

A task is one short line too: Celery's line for a task that succeeded, without the value
the task returned (`ShortTaskLine`, a filter LOGGING puts on Celery's logger).
"""

import logging
import time

from celery.app import trace

logger = logging.getLogger("billing_console.requests")


def level_for(status):
    """INFO for an answer, WARNING for a refusal (4xx), ERROR for a failure (5xx)."""
    if status >= 500:
        return logging.ERROR
    return logging.WARNING if status >= 400 else logging.INFO


class LogEachRequest:
    """Outermost middleware: it sees every request, static files included, and its answer."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        milliseconds = (time.perf_counter() - started) * 1000
        logger.log(level_for(response.status_code), "%s %s %s %.0f ms %s", request.method,
                   request.path, response.status_code, milliseconds, _who(request))
        return response


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

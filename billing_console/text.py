"""Untrusted text made storable where it enters: the one place that says which characters
the database refuses, and what becomes of them.

PostgreSQL refuses NUL (U+0000) in `text` and `jsonb`, and a lone UTF-16 surrogate
(U+D800 to U+DFFF, which a JSON `\\ud800` escape decodes to) cannot be encoded as UTF-8 at
all; SQLite takes both, so only PostgreSQL fails, and late. Every entry point calls this
module:

- Zendesk tickets, users and comments, before the sync stores them (`cases.sync`);
- webhook payloads from Stripe and Zendesk, before the inbox stores them (`inbox.accept`);
- query strings and form bodies, by `RefuseUnstorableInput`: a value that holds such a
  character can match nothing, so it is answered 400 before any view runs, naming the
  field by its label.

Stored text is cleaned (`storable`: each refused character becomes U+FFFD, so the reader
sees that something was there) and never silently: `report` logs where, and sends
`billing_console.signals.text_cleaned`, which the audit trail records.
"""

import logging
import re
from dataclasses import fields, is_dataclass, replace
from datetime import datetime
from functools import cache

from django.http import HttpResponseBadRequest, JsonResponse
from django.template import loader

from billing_console import request_log
from billing_console.signals import text_cleaned

logger = logging.getLogger(__name__)

REFUSED = re.compile("[\x00\ud800-\udfff]")
REPLACEMENT = "\ufffd"
REFUSED_IN_WORDS = "NUL (U+0000) or a lone surrogate"
UNSTORABLE_CODE = "unstorable_character"
MAX_PLACES_NAMED = 20


# A refusal quotes at most this much of what was sent: enough to recognise a typo, never a
# page of tampered input (a 10 kB value posted for a choice, a 10,000-digit number).
QUOTE_MAX_CHARS = 40


def quoted(value):
    """`value` (what was sent, as text) in quotes for a refusal: “4821”, or its first
    `QUOTE_MAX_CHARS` characters and an ellipsis when longer, “xxxx…”."""
    text = str(value)
    return f"“{text[:QUOTE_MAX_CHARS]}…”" if len(text) > QUOTE_MAX_CHARS else f"“{text}”"


def refuses(text):
    """Whether the database would refuse `text` (a str)."""
    return REFUSED.search(text) is not None


def storable(value, *, where=""):
    """(value, places): `value` with every refused character in its strings replaced by
    U+FFFD, walking dicts (keys too), lists, tuples and dataclasses; and the places where
    something was replaced, as dotted paths (`subject`, `data.object.name`, `tags.0`).
    With nothing to replace, `value` itself comes back, and no places."""
    if isinstance(value, str):
        return (REFUSED.sub(REPLACEMENT, value), [where or "(text)"]) if refuses(value) \
            else (value, [])
    if isinstance(value, dict):
        return _storable_dict(value, where)
    if isinstance(value, list | tuple):
        return _storable_items(value, where)
    if is_dataclass(value) and not isinstance(value, type):
        return _storable_dataclass(value, where)
    return value, []


def _storable_dict(value, where):
    cleaned, places = {}, []
    for key, item in value.items():
        clean_key, key_places = storable(key, where=_join(where, "(key)"))
        cleaned[clean_key], item_places = storable(item, where=_join(where, str(clean_key)))
        places += key_places + item_places
    return (cleaned, places) if places else (value, [])


def _storable_items(value, where):
    results = [storable(item, where=_join(where, str(i))) for i, item in enumerate(value)]
    places = [place for _, item_places in results for place in item_places]
    if not places:
        return value, []
    return type(value)(item for item, _ in results), places


def _storable_dataclass(value, where):
    changes, places = {}, []
    for name in _field_names(type(value)):
        item = getattr(value, name)
        if item is None or isinstance(item, int | float | datetime):
            continue  # most fields of a ticket: nothing to walk
        item, item_places = storable(item, where=_join(where, name))
        if item_places:
            changes[name], places = item, places + item_places
    return (replace(value, **changes), places) if changes else (value, [])


@cache
def _field_names(dataclass):
    return tuple(field.name for field in fields(dataclass))


def _join(where, name):
    return f"{where}.{name}" if where else name


def report(places, *, what, **subject):
    """Say that `what` (a ticket, a webhook event) was stored with `places` cleaned: a log
    line, and the `text_cleaned` signal (the audit trail records it, in the caller's
    transaction). `subject` names it for the trail: `object_type`, `object_id`, and
    `zendesk_ticket_id` or `case_id` where known."""
    if not places:
        return
    named = ", ".join(places[:MAX_PLACES_NAMED])
    if len(places) > MAX_PLACES_NAMED:
        named += f" and {len(places) - MAX_PLACES_NAMED} more"
    reason = (f"{what}: {REFUSED_IN_WORDS}, which the database cannot store, replaced by "
              f"U+FFFD in {named}")
    logger.warning("%s", reason)
    text_cleaned.send(sender=report, reason=reason, **subject)


# --- query strings and form bodies --------------------------------------------------------


def unstorable_parameter(request):
    """The name of the first query or form parameter (name or value) holding a refused
    character, or None. A JSON body is left to its serializer (DRF refuses NUL)."""
    sources = [request.GET]
    if request.method == "POST":
        sources.append(request.POST)  # empty unless the body is a form
    names = [name for params in sources for name in _unstorable_names(params)]
    return REFUSED.sub(REPLACEMENT, names[0]) if names else None


def _unstorable_names(params):
    return [name for name, values in params.lists()
            if refuses(name) or any(refuses(value) for value in values)]


class RefuseUnstorableInput:
    """Answers 400 to a request whose query string or form holds a character no record
    can contain: the filter could match nothing, and PostgreSQL would refuse the query
    (a 500, or an export cut short after its header). Both name the field by the label
    its page shows (`billing_console.forms.parameter_label`): the API answers `{message,
    code, errors}`, `errors` keyed by the parameter's name; a page says which field to
    change, with a link to the page without it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        name = unstorable_parameter(request)
        if name is None:
            return self.get_response(request)
        request_log.note(request, f"parameter {quoted(name)} holds {REFUSED_IN_WORDS}")
        # People know a field by its label; a program by its name, which `errors` keys.
        # (Imported here: the forms' module reads money's, which quotes with this one.)
        from billing_console.forms import parameter_label

        label = parameter_label(name, path=request.path_info)
        message = (f"{quoted(label)} holds a character no record can contain "
                   f"({REFUSED_IN_WORDS}); remove it and try again.")
        if request.path.startswith("/api/"):
            return JsonResponse({"message": message, "code": UNSTORABLE_CODE, "errors": {
                name[:QUOTE_MAX_CHARS]: [f"Holds a character no record can contain "
                                         f"({REFUSED_IN_WORDS})."]}}, status=400)
        return _bad_request_page(request, message)


def _bad_request_page(request, message):
    context = {"message": message, "retry_url": _without_unstorable(request)}
    return HttpResponseBadRequest(loader.render_to_string("400.html", context, request))


def _is_local(path):
    """A path a link may point at: one of this site's, never `//host` or `/\\host`, which
    browsers read as another site."""
    return path.startswith("/") and not path.startswith(("//", "/\\"))


def _without_unstorable(request):
    """The page asked for, without the parameters it could not take (GET only: a form's
    page is the one the user came from)."""
    if request.method != "GET" or not _is_local(request.path):
        return None
    kept = request.GET.copy()
    for name in _unstorable_names(kept):
        del kept[name]
    return f"{request.path}?{kept.urlencode()}" if kept else request.path

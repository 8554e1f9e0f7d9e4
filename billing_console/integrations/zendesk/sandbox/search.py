"""`GET /api/v2/search.json`: the part of Zendesk's query language the console uses.

Terms are separated by spaces; values may be double-quoted. Understood:
`type:ticket`, `tags:x` (or `tag:x`), `status:x` / `status<x` / `status>x` / `<=` / `>=`
(statuses ordered new < open < pending < hold < solved < closed), `group:<id or name>`,
`requester:<email>`, `-tags:x` to exclude, and bare words matched against subject and
description. `type:user` searches users instead, by `email:x` (the whole address, any
case), `name:x`, `role:x`, and bare words matched against name and email. Offset
pagination (`page`, `per_page` up to 100), and Zendesk's limit of 1,000 results: asking
for a page past it is a 422.
"""

import re
from urllib.parse import urlencode

from .resources import GROUPS, TICKET_STATUSES, render_ticket, render_user
from .store import SandboxError

RESULT_LIMIT = 1000
MAX_PER_PAGE = 100

_TERM = re.compile(r'(-?)([a-z_]+)(:|<=|>=|<|>)("[^"]*"|\S+)|("[^"]*"|\S+)')
_STATUS_RANK = {status: rank for rank, status in enumerate(TICKET_STATUSES)}
_COMPARE = {
    ":": lambda a, b: a == b,
    "<": lambda a, b: a < b,
    ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b,
    ">=": lambda a, b: a >= b,
}


def search(store, params, base_url):
    page, per_page = _paging(params)
    query = params.get("query", "")
    start = (page - 1) * per_page
    if _searches_users(query):
        matches = _matching_users(store, query)
        results = [{**render_user(user, base_url), "result_type": "user"}
                   for user in matches[start:start + per_page]]
    else:
        matches = _matching_tickets(store, query)
        results = [{**render_ticket(ticket, base_url), "result_type": "ticket"}
                   for ticket in matches[start:start + per_page]]
    has_next = start + per_page < min(len(matches), RESULT_LIMIT)
    return {
        "results": results,
        "facets": None,
        "next_page": _page_url(base_url, params, page + 1) if has_next else None,
        "previous_page": _page_url(base_url, params, page - 1) if page > 1 else None,
        "count": len(matches),
    }


def _paging(params):
    try:
        page = int(params.get("page", 1))
        per_page = int(params.get("per_page", MAX_PER_PAGE))
    except ValueError:
        raise SandboxError(400, "invalid", "page and per_page must be numbers") from None
    if page < 1 or not 1 <= per_page <= MAX_PER_PAGE:
        raise SandboxError(400, "invalid", f"per_page must be between 1 and {MAX_PER_PAGE}")
    if page * per_page > RESULT_LIMIT:
        raise SandboxError(
            422, "invalid",
            "Invalid search: Requested response size was greater than Search Response Limits",
        )
    return page, per_page


def _matching_tickets(store, query):
    predicates = [_predicate(match, store) for match in _TERM.finditer(query)]
    return [t for t in store.all_tickets() if all(p(t) for p in predicates)]


def _searches_users(query):
    return any(match.group(2) == "type" and match.group(4).strip('"').lower() == "user"
               for match in _TERM.finditer(query))


def _matching_users(store, query):
    predicates = [_user_predicate(match) for match in _TERM.finditer(query)]
    users = sorted(store.all_users(), key=lambda user: user["id"])
    return [u for u in users if all(p(u) for p in predicates)]


def _user_predicate(match):
    negate, key, operator, value, word = match.groups()
    if word is not None:
        text = word.strip('"').lower()
        return lambda u: text in u["name"].lower() or text in (u["email"] or "")
    value = value.strip('"').lower()
    if key == "type":
        test = lambda u: value == "user"  # noqa: E731
    elif key == "email" and operator == ":":
        test = lambda u: (u["email"] or "") == value  # noqa: E731
    elif key == "name" and operator == ":":
        test = lambda u: value in u["name"].lower()  # noqa: E731
    elif key == "role" and operator == ":":
        test = lambda u: u["role"] == value  # noqa: E731
    else:
        raise SandboxError(400, "invalid", f"The sandbox does not search users on {key!r}")
    return (lambda u: not test(u)) if negate else test


def _predicate(match, store):
    negate, key, operator, value, word = match.groups()
    if word is not None:
        text = word.strip('"').lower()
        return lambda t: text in t["subject"].lower() or text in t["description"].lower()
    value = value.strip('"')
    test = _field_test(key, operator, value.lower(), store)
    return (lambda t: not test(t)) if negate else test


def _field_test(key, operator, value, store):
    if key == "type":
        return lambda t: value == "ticket"
    if key in ("tags", "tag"):
        return lambda t: value in t["tags"]
    if key == "status":
        if value not in _STATUS_RANK:
            raise SandboxError(400, "invalid", f"Unknown status {value!r}")
        compare = _COMPARE[operator]
        return lambda t: compare(_STATUS_RANK[t["status"]], _STATUS_RANK[value])
    if key == "group":
        ids = {g["id"] for g in GROUPS if value in (str(g["id"]), g["name"].lower())}
        return lambda t: t["group_id"] in ids
    if key == "requester":
        ids = {u["id"] for u in store.search_users(value) if u["email"] == value}
        return lambda t: t["requester_id"] in ids
    raise SandboxError(400, "invalid", f"The sandbox does not search on {key!r}")


def _page_url(base_url, params, page):
    query = {**params, "page": str(page)}
    return f"{base_url}/api/v2/search.json?{urlencode(query)}"

"""Every call the console makes to Zendesk Support, and the only module outside the sandbox
that imports zenpy.

Functions take plain values and return the frozen dataclasses of `types`; failures come out
as the errors of `errors` (transient: retry later, honouring `retry_after`; permanent; not
found). Settings are read on every call, so tests can point the gateway at a sandbox:
`ZENDESK_SUBDOMAIN`, `ZENDESK_EMAIL`, `ZENDESK_API_TOKEN`, and `ZENDESK_API_URL` to send
the requests somewhere other than `https://{subdomain}.zendesk.com`.

How the zenpy pitfalls are avoided:

- zenpy only builds `https://{subdomain}.zendesk.com/...` URLs, unless the process-wide
  `ZENPY_FORCE_SCHEME` / `ZENPY_FORCE_NETLOC` environment variables are set, which would
  redirect every zenpy client in the process. Instead each client gets its own requests
  session with a transport adapter (`_RoutingAdapter`) that sends that origin's requests
  to `ZENDESK_API_URL`; nothing outside this client changes.
- On a 429 zenpy sleeps in the calling thread for the whole `Retry-After`. The session
  raises `ZendeskTransientError(retry_after=...)` before zenpy sees the response, so
  nothing sleeps; Celery retries later.
- zenpy caches tickets for 30 s and users for ever; every client is built with
  `disable_cache=True`, and a new client per call keeps nothing between calls anyway.
- zenpy neither URL-encodes the export cursor nor keeps `per_page` when resuming, and its
  generator would follow `after_url` past the page asked for. The export builds its own
  URL and reads exactly one page (see `export_tickets_page`).
"""

from contextlib import contextmanager
from datetime import datetime
from urllib.parse import quote, urlencode

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from zenpy import Zenpy
from zenpy.lib.api_objects import Comment as ZenpyComment
from zenpy.lib.api_objects import Ticket as ZenpyTicket
from zenpy.lib.exception import APIException, RecordNotFoundException, ZenpyException

from .errors import (
    ZendeskClosedTicket,
    ZendeskNotFound,
    ZendeskPermanentError,
    ZendeskTransientError,
)
from .types import (
    ESCALATION_TAG,
    MERGE_TAG,
    Attachment,
    Comment,
    CustomField,
    ExportPage,
    JobStatus,
    Ticket,
    TicketDetail,
    User,
)

TIMEOUT_SECONDS = 20
COMMENTS_PER_PAGE = 100
# A ticket with more comments than this is read up to here (10,000 comments).
COMMENT_MAX_PAGES = 100
# A ticket's updates (audits) read when looking for one, at 100 a page (10,000 updates).
AUDIT_MAX_PAGES = 100
EXPORT_PATH = "/api/v2/incremental/tickets/cursor.json"
EXPORT_MAX_PER_PAGE = 1000
# zenpy insists on a subdomain even when ZENDESK_API_URL makes it irrelevant.
PLACEHOLDER_SUBDOMAIN = "sandbox"
_UNSET = object()


# --- reading -------------------------------------------------------------------------------


def export_tickets_page(*, cursor=None, start_time=None, per_page=EXPORT_MAX_PER_PAGE):
    """One page of the cursor-based incremental ticket export, with the users side-loaded.

    Start with `start_time` (a Unix time at least a minute old), then pass the previous
    page's `after_cursor`. Deleted tickets come with `status == "deleted"`.
    """
    if (cursor is None) == (start_time is None):
        raise ValueError("pass either cursor or start_time")
    position = {"cursor": cursor} if cursor is not None else {"start_time": int(start_time)}
    query = urlencode({**position, "include": "users", "per_page": per_page}, quote_via=quote)
    client = _client()
    with _translated_errors("incremental ticket export"):
        # zenpy's own `incremental()` mangles resumed requests (see the module docstring),
        # so the URL is built here and sent through zenpy's request path, which still
        # authenticates, checks the response and raises zenpy's errors.
        response = client.tickets._get(f"{_zendesk_origin()}{EXPORT_PATH}?{query}",
                                       raw_response=True)
        body = response.json()
        return ExportPage(
            tickets=tuple(_ticket(t) for t in body.get("tickets") or ()),
            users=tuple(_user(u) for u in body.get("users") or ()),
            after_cursor=str(body["after_cursor"]),
            end_of_stream=bool(body.get("end_of_stream")),
        )


def get_ticket(ticket_id):
    """The ticket with its requester and all its comments, internal notes included, and
    the comments' authors (side-loaded with `include=users`)."""
    ticket_id = _valid_id(ticket_id)
    client = _client()
    with _translated_errors(f"ticket {ticket_id}"):
        ticket = _ticket(client.tickets(id=ticket_id).to_dict())
        comments, authors = _comments_with_authors(client, ticket_id)
    requester = _find_user(client, ticket.requester_id) if ticket.requester_id else None
    return TicketDetail(ticket=ticket, requester=requester, comments=comments,
                        users=tuple(authors.values()))


def _comments_with_authors(client, ticket_id):
    """Every comment of the ticket, page by page (cursor pagination, as zenpy's generator
    does), with the users Zendesk side-loads for each page. The next page's URL is built
    here from the cursor, so it goes where the client goes (`ZENDESK_API_URL`)."""
    base = f"{_zendesk_origin()}/api/v2/tickets/{ticket_id}/comments.json"
    comments, users, after = [], {}, None
    for _ in range(COMMENT_MAX_PAGES):
        query = {"include": "users", "page[size]": COMMENTS_PER_PAGE}
        if after:
            query["page[after]"] = after
        body = client.tickets._get(f"{base}?{urlencode(query, quote_via=quote)}",
                                   raw_response=True).json()
        comments += [_comment(c) for c in body.get("comments") or ()]
        users.update((int(u["id"]), _user(u)) for u in body.get("users") or ())
        meta = body.get("meta") or {}
        after = meta.get("after_cursor")
        if not (meta.get("has_more") and after):
            break
    return tuple(comments), users


def search_escalated_tickets(*, tag=ESCALATION_TAG):
    """Unsolved tickets carrying the escalation tag, at most Zendesk's 1,000 search results."""
    client = _client()
    with _translated_errors("ticket search"):
        results = client.search(type="ticket", tags=tag, status_less_than="solved")
        return tuple(_ticket(result.to_dict()) for result in results)


def get_user(user_id):
    user_id = _valid_id(user_id)
    client = _client()
    with _translated_errors(f"user {user_id}"):
        return _user(client.users(id=user_id).to_dict())


def find_user_by_email(email):
    """The user with exactly this email, or None."""
    client = _client()
    with _translated_errors("user search"):
        users = [_user(u.to_dict()) for u in client.users.search(query=f"email:{email}")]
    return next((u for u in users if (u.email or "").lower() == email.lower()), None)


def find_ticket_field_id(title):
    """The id of the custom ticket field with this title (e.g. "Stripe customer id"), or
    None; field ids differ between Zendesk accounts."""
    client = _client()
    with _translated_errors("ticket fields"):
        return next((int(f.id) for f in client.ticket_fields() if f.title == title), None)


# --- writing -------------------------------------------------------------------------------


def add_internal_note(ticket_id, body, *, author_id=None):
    """A comment only agents see (`public: false`). Returns the updated ticket."""
    return _add_comment(ticket_id, body, public=False, author_id=author_id)


def add_public_reply(ticket_id, body, *, author_id=None):
    """A comment the requester sees and is notified of. Returns the updated ticket."""
    return _add_comment(ticket_id, body, public=True, author_id=author_id)


def update_ticket(
    ticket_id,
    *,
    status=None,
    add_tags=(),
    remove_tags=(),
    custom_fields=None,
    assignee_id=_UNSET,
    group_id=_UNSET,
    note=None,
    note_public=False,
    note_html=None,
    metadata=None,
):
    """Change what is given and nothing else, in one request. Tags are added and removed
    rather than replaced, so a tag someone else set meanwhile survives. `custom_fields`
    maps field id to value; `assignee_id=None` unassigns; `note` adds a comment (internal
    unless `note_public`) in the same update, so it cannot land without the rest. With
    `note_html` (HTML the caller has sanitised) the comment is sent as Zendesk's
    `html_body`, which Zendesk shows formatted and takes over `body`. `metadata` ({key:
    text}, under Zendesk's 1 KB) is kept as the custom metadata of the update's audit,
    where `ticket_has_update` finds it; Zendesk keeps it only on an update that changes
    the ticket (a note always does)."""
    changes = ZenpyTicket(id=ticket_id)
    if note_html:
        changes.comment = ZenpyComment(html_body=note_html, public=note_public)
    elif note:
        changes.comment = ZenpyComment(body=note, public=note_public)
    if status is not None:
        changes.status = status
    if add_tags:
        changes.additional_tags = list(add_tags)
    if remove_tags:
        changes.remove_tags = list(remove_tags)
    if custom_fields:
        changes.custom_fields = [{"id": k, "value": v} for k, v in custom_fields.items()]
    if assignee_id is not _UNSET:
        changes.assignee_id = assignee_id
    if group_id is not _UNSET:
        changes.group_id = group_id
    if metadata:
        changes.metadata = dict(metadata)
    return _save(ticket_id, changes)


def ticket_has_update(ticket_id, metadata):
    """Whether one of the ticket's updates (its audits, oldest first, cursor-paged up to
    `AUDIT_MAX_PAGES`) carries `metadata` ({key: text}) in its custom metadata: an update
    sent with it (`update_ticket`, `create_follow_up_ticket`) that Zendesk took, though
    its answer never came back."""
    ticket_id = _valid_id(ticket_id)
    wanted = {key: str(value) for key, value in metadata.items()}
    base = f"{_zendesk_origin()}/api/v2/tickets/{ticket_id}/audits.json"
    client, after = _client(), None
    with _translated_errors(f"updates of ticket {ticket_id}"):
        for _ in range(AUDIT_MAX_PAGES):
            query = {"page[size]": COMMENTS_PER_PAGE, **({"page[after]": after} if after else {})}
            body = client.tickets._get(f"{base}?{urlencode(query, quote_via=quote)}",
                                       raw_response=True).json()
            if any(_carries(audit, wanted) for audit in body.get("audits") or ()):
                return True
            meta = body.get("meta") or {}
            after = meta.get("after_cursor")
            if not (meta.get("has_more") and after):
                return False
    return False


def _carries(audit, wanted):
    custom = ((audit.get("metadata") or {}).get("custom") or {}) if isinstance(audit, dict) \
        else {}
    return all(str(custom.get(key)) == value for key, value in wanted.items())


def create_follow_up_ticket(source_ticket_id, *, body, html_body=None, public=False,
                            requester_id=None, subject=None, add_tags=(), remove_tags=(),
                            metadata=None):
    """A new ticket following up the closed ticket `source_ticket_id` (Zendesk's
    `via_followup_source_id`), its first comment `body` (or `html_body`, HTML the caller
    has sanitised). It inherits the closed ticket's tags but the merge's and
    `remove_tags`, plus `add_tags`. `metadata` is kept on its first audit, as by
    `update_ticket` (`follow_up_made` finds it). Returns the new ticket."""
    _valid_id(source_ticket_id)
    comment = ZenpyComment(html_body=html_body, public=public) if html_body else \
        ZenpyComment(body=body, public=public)
    ticket = ZenpyTicket(via_followup_source_id=source_ticket_id, comment=comment)
    if requester_id is not None:
        ticket.requester_id = requester_id
    if subject:
        ticket.subject = subject
    if metadata:
        ticket.metadata = dict(metadata)
    client = _client()
    with _translated_errors(f"follow-up of ticket {source_ticket_id}"):
        if add_tags or remove_tags:
            source = client.tickets(id=source_ticket_id)
            dropped = {MERGE_TAG, *remove_tags}
            inherited = [tag for tag in source.tags or () if tag not in dropped]
            ticket.tags = list(dict.fromkeys([*inherited, *add_tags]))
        return _ticket(client.tickets.create(ticket).ticket.to_dict())


def follow_up_made(source_ticket_id, metadata):
    """The follow-up of the closed ticket `source_ticket_id` made with `metadata`
    (`create_follow_up_ticket`), or None: Zendesk took the request though its answer never
    came back."""
    source_ticket_id = _valid_id(source_ticket_id)
    client = _client()
    with _translated_errors(f"follow-ups of ticket {source_ticket_id}"):
        follow_up_ids = client.tickets(id=source_ticket_id).to_dict().get("followup_ids")
    return next((int(ticket_id) for ticket_id in follow_up_ids or ()
                 if ticket_has_update(int(ticket_id), metadata)), None)


def merge_tickets(target_id, source_ids, *, target_comment=None, source_comment=None,
                  target_comment_is_public=False, source_comment_is_public=False):
    """Merge `source_ids` into `target_id`. Zendesk does it in a background job: this
    returns the job's status (`queued`); poll `get_job_status`. The sources end closed,
    tagged `closed_by_merge`, with `source_comment` (a private note unless said otherwise)."""
    _valid_id(target_id)
    ids = [_valid_id(source_id) for source_id in source_ids]
    payload = {"ids": ids, "target_comment_is_public": target_comment_is_public,
               "source_comment_is_public": source_comment_is_public}
    if target_comment:
        payload["target_comment"] = target_comment
    if source_comment:
        payload["source_comment"] = source_comment
    client = _client()
    with _translated_errors(f"merge into ticket {target_id}"):
        # zenpy's `tickets.merge` sends neither comment's privacy; the same request path.
        job = client.tickets._post(f"{_zendesk_origin()}/api/v2/tickets/{target_id}/merge",
                                   payload=payload)
        return _job_status(job.to_dict())


def get_job_status(job_id):
    if not isinstance(job_id, str) or not job_id.isalnum():
        raise ValueError(f"not a Zendesk job id: {job_id!r}")
    client = _client()
    with _translated_errors(f"job {job_id}"):
        return _job_status(client.job_status(id=job_id).to_dict())


def _add_comment(ticket_id, body, *, public, author_id):
    comment = ZenpyComment(body=body, public=public)
    if author_id is not None:
        comment.author_id = author_id
    return _save(ticket_id, ZenpyTicket(id=ticket_id, comment=comment))


def _save(ticket_id, changes):
    _valid_id(ticket_id)
    client = _client()
    with _translated_errors(f"ticket {ticket_id}"):
        audit = client.tickets.update(changes)
        return _ticket(audit.ticket.to_dict())


def _valid_id(value):
    """zenpy treats a falsy id as "no id" and lists the whole collection instead."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"not a Zendesk id: {value!r}")
    return value


def _find_user(client, user_id):
    try:
        with _translated_errors(f"user {user_id}"):
            return _user(client.users(id=user_id).to_dict())
    except ZendeskNotFound:
        return None  # a requester deleted since the ticket was filed


# --- the client ----------------------------------------------------------------------------


class _ZendeskSession(requests.Session):
    """A session for one zenpy client: routes it to `api_url` when one is set, and turns a
    429 into `ZendeskTransientError` before zenpy can sleep on it."""

    def __init__(self, *, zendesk_origin, api_url):
        super().__init__()
        if api_url:
            self.mount(zendesk_origin, _RoutingAdapter(zendesk_origin, api_url))

    def request(self, method, url, *args, **kwargs):
        response = super().request(method, url, *args, **kwargs)
        if response.status_code == 429:
            retry_after = _retry_after(response)
            raise ZendeskTransientError(f"Zendesk rate limit; retry after {retry_after}s",
                                        retry_after=retry_after)
        return response


class _RoutingAdapter(HTTPAdapter):
    """Sends requests for `https://{subdomain}.zendesk.com` to `api_url` instead.

    The response still names the URL zenpy asked for: zenpy picks its response handler by
    checking that URL against its own idea of the host.
    """

    def __init__(self, zendesk_origin, api_url):
        super().__init__()
        self._zendesk_origin = zendesk_origin
        self._api_url = api_url

    def send(self, request, **kwargs):
        routed = request.copy()
        routed.url = self._api_url + request.url[len(self._zendesk_origin):]
        response = super().send(routed, **kwargs)
        response.request, response.url = request, request.url
        return response


def _client():
    if not (settings.ZENDESK_EMAIL and settings.ZENDESK_API_TOKEN):
        raise ZendeskPermanentError("Zendesk is not configured (ZENDESK_EMAIL, ZENDESK_API_TOKEN)")
    session = _ZendeskSession(zendesk_origin=_zendesk_origin(),
                              api_url=(settings.ZENDESK_API_URL or "").rstrip("/"))
    return Zenpy(
        subdomain=_subdomain(),
        email=settings.ZENDESK_EMAIL,
        token=settings.ZENDESK_API_TOKEN,
        session=session,
        timeout=TIMEOUT_SECONDS,
        disable_cache=True,
    )


def _subdomain():
    if settings.ZENDESK_SUBDOMAIN:
        return settings.ZENDESK_SUBDOMAIN
    if settings.ZENDESK_API_URL:
        return PLACEHOLDER_SUBDOMAIN
    raise ZendeskPermanentError("Zendesk is not configured (ZENDESK_SUBDOMAIN or ZENDESK_API_URL)")


def _zendesk_origin():
    return f"https://{_subdomain()}.zendesk.com"


def _retry_after(response):
    try:
        return max(0, int(response.headers.get("Retry-After", "")))
    except ValueError:
        return None


@contextmanager
def _translated_errors(what):
    """Turn zenpy's and requests' exceptions into the gateway's three kinds."""
    try:
        yield
    except RecordNotFoundException as error:
        raise ZendeskNotFound(f"Zendesk {what}: not found", status=404) from error
    except (APIException, requests.HTTPError) as error:
        raise _http_error(what, error.response) from error
    except (requests.ConnectionError, requests.Timeout) as error:
        raise ZendeskTransientError(f"Zendesk {what}: {type(error).__name__}") from error
    except (ZenpyException, ValueError, KeyError, TypeError) as error:
        # A response zenpy could not handle, or one not shaped as Zendesk's.
        raise ZendeskPermanentError(f"Zendesk {what}: unexpected response ({error})") from error


def _http_error(what, response):
    status = response.status_code if response is not None else None
    if status == 404:
        return ZendeskNotFound(f"Zendesk {what}: not found", status=404)
    if status == 422 and _refused_as_closed(response):
        return ZendeskClosedTicket(f"Zendesk {what}: the ticket is closed", status=422)
    if status is None or status >= 500:
        return ZendeskTransientError(f"Zendesk {what}: HTTP {status}")
    return ZendeskPermanentError(f"Zendesk {what}: {_description(response)}", status=status)


def _refused_as_closed(response):
    """Zendesk's RecordInvalid for a closed ticket names it in `details.status`."""
    try:
        details = response.json().get("details") or {}
        reasons = [item.get("description") or "" for item in details.get("status") or ()]
    except (ValueError, AttributeError, TypeError):
        return False
    return any("closed prevents ticket update" in reason.lower() for reason in reasons)


def _description(response):
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if not isinstance(body, dict):
        return f"HTTP {response.status_code}"
    return str(body.get("description") or body.get("error") or f"HTTP {response.status_code}")


# --- translation from Zendesk's JSON -------------------------------------------------------


def _ticket(data):
    return Ticket(
        id=int(data["id"]),
        subject=data.get("subject") or "",
        description=data.get("description") or "",
        status=data.get("status") or "",
        priority=data.get("priority"),
        requester_id=data.get("requester_id"),
        submitter_id=data.get("submitter_id"),
        assignee_id=data.get("assignee_id"),
        group_id=data.get("group_id"),
        tags=tuple(data.get("tags") or ()),
        custom_fields=tuple(
            CustomField(id=int(f["id"]), value=f.get("value"))
            for f in data.get("custom_fields") or ()
        ),
        external_id=data.get("external_id"),
        created_at=_timestamp(data.get("created_at")),
        updated_at=_timestamp(data.get("updated_at")),
        follow_up_of=_follow_up_source(data.get("via")),
    )


def _follow_up_source(via):
    """`via.source.from.ticket_id` when `via.source.rel` is `follow_up`."""
    source = (via or {}).get("source") if isinstance(via, dict) else None
    if not isinstance(source, dict) or source.get("rel") != "follow_up":
        return None
    # zenpy renames `from` (a Python keyword) to `from_` on the objects it builds.
    origin = source.get("from") or source.get("from_") or {}
    ticket_id = origin.get("ticket_id") if isinstance(origin, dict) else None
    return int(ticket_id) if ticket_id else None


def _job_status(data):
    return JobStatus(id=str(data["id"]), status=data.get("status") or "",
                     total=data.get("total"), progress=data.get("progress"),
                     message=data.get("message"))


def _user(data):
    return User(
        id=int(data["id"]),
        name=data.get("name") or "",
        email=data.get("email"),
        role=data.get("role") or "",
        external_id=data.get("external_id"),
    )


def _comment(data):
    return Comment(
        id=int(data["id"]),
        author_id=data.get("author_id"),
        body=data.get("body") or "",
        public=bool(data.get("public")),
        created_at=_timestamp(data.get("created_at")),
        attachments=tuple(_attachment(a) for a in data.get("attachments") or ()),
    )


def _attachment(data):
    return Attachment(
        id=int(data["id"]),
        file_name=data.get("file_name") or "",
        content_type=data.get("content_type") or "",
        size=int(data.get("size") or 0),
        content_url=data.get("content_url") or "",
    )


def _timestamp(value):
    return datetime.fromisoformat(value) if value else None

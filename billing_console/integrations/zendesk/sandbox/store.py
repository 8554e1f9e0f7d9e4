"""The sandbox's state: users, tickets, comments, audits and uploads, behind one lock.

Every mutation bumps a global change sequence and stamps the ticket with it; the incremental
export orders by that sequence, which is what Zendesk's `updated_at` ordering means without
ties inside one second. With a `state_path`, the whole state is written to a JSON file
after each change (atomically), and read back on start.
"""

import copy
import json
import os
import secrets
import tempfile
import threading
import time
from contextlib import contextmanager

from . import resources
from .resources import TICKET_PRIORITIES, TICKET_STATUSES, TICKET_TYPES, USER_ROLES

STATE_VERSION = 1
MERGE_TAG = "closed_by_merge"
# Zendesk reopens a pending or solved ticket when its requester replies (a public comment).
REOPENED_BY_REQUESTER = ("pending", "solved")


class SandboxError(Exception):
    """A request Zendesk would refuse, with the status and error body it would send."""

    def __init__(self, status, error, description, details=None):
        super().__init__(description)
        self.status = status
        self.body = {"error": error, "description": description}
        if details:
            self.body["details"] = details


def not_found():
    return SandboxError(404, "RecordNotFound", "Not found")


def closed_ticket():
    """Zendesk's answer to any update of a closed ticket, a comment included."""
    return SandboxError(
        422, "RecordInvalid", "Record validation errors",
        {"status": [{"description": "Status: closed prevents ticket update"}]},
    )


def invalid(field, message):
    return SandboxError(
        422, "RecordInvalid", "Record validation errors",
        {field: [{"description": message, "error": "InvalidValue"}]},
    )


class Store:
    def __init__(self, state_path=None):
        self.lock = threading.RLock()
        self._state_path = state_path
        self._state = self._load() if state_path and os.path.exists(state_path) else _empty()

    # --- persistence -------------------------------------------------------------------

    def _load(self):
        with open(self._state_path, encoding="utf-8") as handle:
            state = json.load(handle)
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"{self._state_path} is not a Zendesk sandbox state file")
        # JSON object keys are strings; ids are ints everywhere else.
        for table in ("users", "tickets", "comments", "audits", "change_seq"):
            state[table] = {int(key): value for key, value in state[table].items()}
        state.setdefault("jobs", {})  # a state file written before jobs existed
        return state

    def _save(self):
        if not self._state_path:
            return
        folder = os.path.dirname(os.path.abspath(self._state_path))
        with tempfile.NamedTemporaryFile("w", dir=folder, delete=False, encoding="utf-8") as tmp:
            # One write: json.dump's many small writes made seeding five times slower.
            tmp.write(json.dumps(self._state))
        os.replace(tmp.name, self._state_path)

    @contextmanager
    def _change(self):
        """All or nothing: a refused request leaves the state as it was; a change is saved.

        Rows (tickets, comment lists, ...) are replaced, never changed in place, so copying
        each table shallowly is enough to roll back.
        """
        with self.lock:
            before = {name: copy.copy(table) for name, table in self._state.items()}
            try:
                yield
            except Exception:
                self._state = before
                raise
            self._save()

    def _next_id(self, kind):
        self._state["next_ids"][kind] += 1
        return self._state["next_ids"][kind]

    def _touch(self, ticket):
        """Record a change: the ticket moves to the end of the export's order."""
        self._state["seq"] += 1
        self._state["change_seq"][ticket["id"]] = self._state["seq"]
        ticket["updated_at"] = resources.now_iso()
        ticket["generated_timestamp"] = int(time.time())

    # --- users -------------------------------------------------------------------------

    def agent_for(self, email):
        """The agent behind an API token: created on first use, as the account's admin."""
        with self.lock:
            user = self._user_by_email(email)
            if user is None:
                with self._change():
                    user = self._add_user(name=email.split("@")[0], email=email, role="admin")
            return user

    def create_user(self, data):
        name = _text(data.get("name"), "name", required=True)
        email = _email(data.get("email"))
        role = data.get("role") or "end-user"
        if role not in USER_ROLES:
            raise invalid("role", f"{role!r} is not a role")
        with self._change():
            if email and self._user_by_email(email):
                raise invalid("email", f"{email} is already being used by another user")
            user = self._add_user(name=name, email=email, role=role)
            user["external_id"] = data.get("external_id")
        return user

    def user(self, user_id):
        with self.lock:
            if user_id not in self._state["users"]:
                raise not_found()
            return self._state["users"][user_id]

    def users(self, user_ids):
        with self.lock:
            return [self._state["users"][i] for i in user_ids if i in self._state["users"]]

    def all_users(self):
        with self.lock:
            return list(self._state["users"].values())

    def search_users(self, query):
        """`users/search.json?query=`: an exact email, `email:` prefixed or not, or a name."""
        term = query.removeprefix("email:").strip().lower()
        with self.lock:
            return [
                user for user in self._state["users"].values()
                if (user["email"] or "") == term or term in user["name"].lower()
            ]

    def _known_user(self, value, field):
        user_id = _int(value, field)
        if user_id not in self._state["users"]:
            raise invalid(field, f"no user {user_id}")
        return user_id

    def _user_by_email(self, email):
        return next(
            (u for u in self._state["users"].values() if u["email"] == email.lower()), None
        )

    def _add_user(self, *, name, email, role):
        user = resources.new_user(
            self._next_id("user"), name=name, email=email, role=role, now=resources.now_iso()
        )
        self._state["users"][user["id"]] = user
        return user

    def _requester_id(self, data, author_id):
        if data.get("requester_id") is not None:
            return self._known_user(data["requester_id"], "requester_id")
        requester = data.get("requester")
        if not isinstance(requester, dict):
            return author_id
        email = _email(requester.get("email"))
        existing = self._user_by_email(email) if email else None
        if existing:
            return existing["id"]
        name = _text(requester.get("name") or email, "requester", required=True)
        return self._add_user(name=name, email=email, role="end-user")["id"]

    # --- tickets -----------------------------------------------------------------------

    def ticket(self, ticket_id):
        with self.lock:
            ticket = self._state["tickets"].get(ticket_id)
            if ticket is None or ticket["status"] == "deleted":
                raise not_found()
            return ticket

    def tickets(self, ticket_ids):
        with self.lock:
            found = (self._state["tickets"].get(i) for i in ticket_ids)
            return [t for t in found if t and t["status"] != "deleted"]

    def all_tickets(self):
        with self.lock:
            return [t for t in self._state["tickets"].values() if t["status"] != "deleted"]

    def create_ticket(self, data, author_id):
        comment = data.get("comment") or {}
        # A first comment given as `html_body` (Zendesk's alternative to `body`) is kept as
        # HTML, its text derived from it.
        html = comment.get("html_body") if not comment.get("body") else None
        body = _text(comment.get("body") or (resources.text_of_html(html) if html else None)
                     or data.get("description"), "description", required=True)
        with self._change():
            followed_up = self._follow_up_source(data)
            if followed_up is not None and "tags" not in data:
                # A follow-up inherits the closed ticket's tags unless the request names some.
                data = {**data, "tags": list(followed_up["tags"])}
            requester_id = self._requester_id(data, author_id)
            ticket = resources.new_ticket(
                self._next_id("ticket"), requester_id=requester_id,
                submitter_id=data.get("submitter_id") or author_id, description=body,
                now=resources.now_iso(), timestamp=int(time.time()),
            )
            ticket["subject"] = ticket["raw_subject"] = _text(
                data.get("subject") or body[:80], "subject"
            )
            events = [{"type": "Create", "field_name": "subject", "value": ticket["subject"]}]
            events += _apply_fields(ticket, data, self._state["users"], kind="Create")
            comment_event = self._add_comment(ticket, comment if html else
                                              {"body": body, **comment}, author_id)
            ticket["is_public"] = comment_event["public"]
            if followed_up is not None:
                ticket["via"] = resources.follow_up_via(followed_up)
                self._state["tickets"][followed_up["id"]] = {
                    **followed_up, "followup_ids": [*followed_up["followup_ids"], ticket["id"]]}
            audit = self._record_audit(ticket, author_id, [comment_event, *events],
                                       custom=_custom_metadata(data))
            self._state["tickets"][ticket["id"]] = ticket
            self._touch(ticket)
        return ticket, audit

    def _follow_up_source(self, data):
        """The closed ticket `via_followup_source_id` names; a ticket that is not closed
        makes it have no effect, as in Zendesk."""
        if data.get("via_followup_source_id") is None:
            return None
        source_id = _int(data["via_followup_source_id"], "via_followup_source_id")
        source = self._state["tickets"].get(source_id)
        if source is None or source["status"] == "deleted":
            raise invalid("via_followup_source_id", f"no ticket {source_id}")
        return source if source["status"] == "closed" else None

    def update_ticket(self, ticket_id, data, author_id):
        with self._change():
            ticket = dict(self.ticket(ticket_id))
            if ticket["status"] == "closed":
                raise closed_ticket()
            status_before = ticket["status"]
            events = _apply_fields(ticket, data, self._state["users"])
            if isinstance(data.get("comment"), dict):
                comment_event = self._add_comment(ticket, data["comment"], author_id)
                events.insert(0, comment_event)
                if "status" not in data:
                    events += _reopened_by_requester(ticket, status_before, comment_event)
            audit = self._record_audit(ticket, author_id, events,
                                       custom=_custom_metadata(data))
            self._state["tickets"][ticket_id] = ticket
            self._touch(ticket)
        return ticket, audit

    def delete_ticket(self, ticket_id):
        """Zendesk keeps a deleted ticket in the export as `status: deleted`."""
        with self._change():
            ticket = {**self.ticket(ticket_id), "status": "deleted"}
            self._state["tickets"][ticket_id] = ticket
            self._touch(ticket)
        return ticket

    def comments(self, ticket_id):
        with self.lock:
            self.ticket(ticket_id)
            return list(self._state["comments"].get(ticket_id, []))

    def audits(self, ticket_id):
        with self.lock:
            self.ticket(ticket_id)
            return list(self._state["audits"].get(ticket_id, []))

    def _add_comment(self, ticket, comment, author_id):
        html_body = comment.get("html_body") if not comment.get("body") else None
        body = _text(comment.get("body") or html_body, "comment", required=True)
        if html_body is not None:
            # Zendesk keeps the HTML it was given and derives the text from it.
            html_body, body = body, resources.text_of_html(body)
        attachments = [self._take_upload(token) for token in _tokens(comment.get("uploads"))]
        public = comment.get("public", True)
        if not isinstance(public, bool):
            raise invalid("public", "must be true or false")
        if comment.get("author_id") is not None:
            author_id = self._known_user(comment["author_id"], "author_id")
        # Zendesk takes the audit id when the audit is written; reserve it now.
        audit_id = self._next_id("audit")
        entry = resources.new_comment(
            self._next_id("comment"), audit_id=audit_id,
            author_id=author_id, body=body, public=public,
            attachments=attachments, now=resources.now_iso(), html_body=html_body,
        )
        comments = self._state["comments"]
        comments[ticket["id"]] = [*comments.get(ticket["id"], []), entry]
        return {k: entry[k] for k in ("id", "type", "author_id", "body", "html_body",
                                      "plain_body", "public", "attachments", "audit_id")}

    def _record_audit(self, ticket, author_id, events, custom=None):
        """The audit of one create or update; `custom`, the request's `metadata`, is kept
        as its custom metadata (Zendesk keeps none on an update that changes nothing, and
        the sandbox keeps it regardless)."""
        audit_id = next(
            (e["audit_id"] for e in events if e.get("type") == "Comment"),
            None,
        ) or self._next_id("audit")
        numbered = [{"id": self._next_id("event"), **event} for event in events]
        audit = resources.new_audit(
            audit_id, ticket_id=ticket["id"], author_id=author_id, events=numbered,
            now=resources.now_iso(), custom=custom,
        )
        audits = self._state["audits"]
        audits[ticket["id"]] = [*audits.get(ticket["id"], []), audit]
        return audit

    # --- merging, as a job -------------------------------------------------------------

    def queue_merge(self, target_id, data, base_url):
        """`POST tickets/{id}/merge`: checks the request, then queues the job that merges
        (see `run_merge`). Returns the job status, `queued`."""
        ids = data.get("ids")
        if not isinstance(ids, list) or not ids:
            raise SandboxError(400, "InvalidValue", "ids must be a list of ticket ids")
        source_ids = [_int(value, "ids") for value in ids]
        for name in ("target_comment_is_public", "source_comment_is_public"):
            if data.get(name) is not None and not isinstance(data[name], bool):
                raise SandboxError(400, "InvalidValue", f"{name} must be true or false")
        with self._change():
            self.ticket(target_id)
            job_id = secrets.token_hex(16)
            job = {"id": job_id, "job_type": "TicketMergeJob",
                   "url": f"{base_url}/api/v2/job_statuses/{job_id}.json",
                   "total": len(source_ids), "progress": 0, "status": "queued",
                   "message": None, "results": None}
            self._state["jobs"] = {**self._state["jobs"], job_id: job}
        return job, source_ids

    def job(self, job_id):
        with self.lock:
            if job_id not in self._state["jobs"]:
                raise not_found()
            return self._state["jobs"][job_id]

    def run_merge(self, job_id, target_id, source_ids, data, author_id):
        """The merge job: every source closed with a private note naming the target and
        tagged `closed_by_merge`, and the target's comment, all or nothing. Returns the
        tickets it changed; a refusal fails the job with Zendesk's reason."""
        self._set_job(job_id, status="working")
        try:
            with self._change():
                changed = self._merge(target_id, source_ids, data, author_id)
        except SandboxError as error:
            details = error.body.get("details") or {}
            reasons = [d["description"] for field in details.values() for d in field]
            self._set_job(job_id, status="failed",
                          message="; ".join(reasons) or error.body["description"])
            return []
        self._set_job(job_id, status="completed", progress=len(source_ids),
                      message=f"Completed at {resources.now_iso()}",
                      results=[{"id": ticket_id, "action": "merge", "success": True,
                                "status": "Merged"} for ticket_id in source_ids])
        return changed

    def _merge(self, target_id, source_ids, data, author_id):
        target = dict(self.ticket(target_id))
        if target["status"] == "closed":
            raise closed_ticket()
        sources = []
        for source_id in dict.fromkeys(source_ids):
            if source_id == target_id:
                raise invalid("ids", "A ticket cannot be merged into itself")
            source = dict(self.ticket(source_id))
            if source["status"] == "closed":
                raise closed_ticket()
            sources.append(source)
        for source in sources:
            note = data.get("source_comment") or (
                f'This request was closed and merged into request #{target_id} '
                f'"{target["subject"]}".')
            comment_event = self._add_comment(source, {
                "body": note, "public": bool(data.get("source_comment_is_public"))}, author_id)
            events = _apply_fields(source, {"status": "closed",
                                            "additional_tags": [MERGE_TAG]},
                                   self._state["users"])
            self._record_audit(source, author_id, [comment_event, *events])
            self._state["tickets"][source["id"]] = source
            self._touch(source)
        note = data.get("target_comment") or "\n".join(
            f'Request #{s["id"]} "{s["subject"]}" was closed and merged into this request.'
            for s in sources)
        comment_event = self._add_comment(target, {
            "body": note, "public": bool(data.get("target_comment_is_public"))}, author_id)
        self._record_audit(target, author_id, [comment_event])
        self._state["tickets"][target_id] = target
        self._touch(target)
        return [*sources, target]

    def _set_job(self, job_id, **fields):
        with self._change():
            self._state["jobs"] = {**self._state["jobs"],
                                   job_id: {**self._state["jobs"][job_id], **fields}}

    # --- uploads -----------------------------------------------------------------------

    def create_upload(self, *, file_name, content_type, size, base_url):
        with self._change():
            token = secrets.token_urlsafe(18)
            attachment = resources.new_attachment(
                self._next_id("attachment"), file_name=file_name, content_type=content_type,
                size=size, token=token, base_url=base_url,
            )
            self._state["uploads"][token] = attachment
        return token, attachment

    def _take_upload(self, token):
        attachment = self._state["uploads"].pop(token, None)
        if attachment is None:
            raise invalid("uploads", f"unknown upload token {token!r}")
        return attachment

    # --- export ------------------------------------------------------------------------

    def changes_after(self, seq, limit):
        """Tickets changed after `seq`, oldest change first, with the sequence of each."""
        with self.lock:
            ordered = sorted(
                (s, tid) for tid, s in self._state["change_seq"].items() if s > seq
            )
            return [(s, self._state["tickets"][tid]) for s, tid in ordered[:limit]]

    def last_seq_before(self, timestamp):
        """The change sequence just before the first change at or after `timestamp`."""
        with self.lock:
            later = [
                self._state["change_seq"][t["id"]]
                for t in self._state["tickets"].values()
                if t["generated_timestamp"] >= timestamp
            ]
            return min(later) - 1 if later else self._state["seq"]


def _empty():
    first_ids = {"user": 1000, "ticket": 0, "comment": 5000, "audit": 9000, "event": 20000,
                 "attachment": 7000}
    return {"version": STATE_VERSION, "seq": 0, "next_ids": first_ids, "users": {},
            "tickets": {}, "comments": {}, "audits": {}, "change_seq": {}, "uploads": {},
            "jobs": {}}


def _reopened_by_requester(ticket, status_before, comment_event):
    """The requester's public reply to a pending or solved ticket opens it again."""
    if not (comment_event["public"] and comment_event["author_id"] == ticket["requester_id"]
            and ticket["status"] == status_before and status_before in REOPENED_BY_REQUESTER):
        return []
    ticket["status"] = "open"
    return [{"type": "Change", "field_name": "status", "value": "open",
             "previous_value": status_before}]


def _apply_fields(ticket, data, users, kind="Change"):
    """Apply the writable fields present in `data`, returning Zendesk's audit events
    (`Create` events on a new ticket, `Change` events with `previous_value` after)."""
    events = []

    def change(field, value):
        if ticket.get(field) == value:
            return
        event = {"type": kind, "field_name": field, "value": value}
        if kind == "Change":
            event["previous_value"] = ticket.get(field)
        events.append(event)
        ticket[field] = value

    _set_enum(change, data, "status", TICKET_STATUSES)
    _set_enum(change, data, "priority", TICKET_PRIORITIES, nullable=True)
    _set_enum(change, data, "type", TICKET_TYPES, nullable=True)
    if "subject" in data:
        subject = _text(data["subject"], "subject", required=True)
        change("subject", subject)
        ticket["raw_subject"] = subject
    for field in ("assignee_id", "group_id"):
        if field in data:
            change(field, _reference(data[field], field, users))
    if "external_id" in data:
        change("external_id", data["external_id"])
    tags = _new_tags(ticket["tags"], data)
    if tags != ticket["tags"]:
        change("tags", tags)
    if "custom_fields" in data:
        change("custom_fields", _merge_custom_fields(ticket["custom_fields"],
                                                     data["custom_fields"]))
    return events


def _set_enum(change, data, field, allowed, nullable=False):
    if field not in data:
        return
    value = data[field]
    if value is None and nullable:
        change(field, None)
    elif value in allowed:
        change(field, value)
    else:
        raise invalid(field, f"{value!r} is not one of {', '.join(allowed)}")


def _reference(value, field, users):
    if value is None:
        return None
    ident = _int(value, field)
    known = {g["id"] for g in resources.GROUPS} if field == "group_id" else users
    if ident not in known:
        raise invalid(field, f"{ident} does not exist")
    return ident


def _new_tags(current, data):
    """`tags` replaces the set; `additional_tags` / `remove_tags` edit it (Zendesk's names)."""
    tags = _tag_list(data["tags"]) if "tags" in data else list(current)
    tags += [t for t in _tag_list(data.get("additional_tags", [])) if t not in tags]
    removed = set(_tag_list(data.get("remove_tags", [])))
    return [t for t in dict.fromkeys(tags) if t not in removed]


# Zendesk keeps up to 1 kilobyte of custom metadata on each audit.
CUSTOM_METADATA_BYTES = 1024


def _custom_metadata(data):
    """A ticket request's `metadata` (an object of at most 1 KB), for its audit."""
    metadata = data.get("metadata")
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise invalid("metadata", "must be an object")
    if len(json.dumps(metadata).encode()) > CUSTOM_METADATA_BYTES:
        raise invalid("metadata", f"must be at most {CUSTOM_METADATA_BYTES} bytes")
    return metadata


def _tag_list(value):
    if isinstance(value, str):
        value = value.split()
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise invalid("tags", "must be a list of strings")
    return [t.strip().lower() for t in value if t.strip()]


def _merge_custom_fields(current, updates):
    if not isinstance(updates, list):
        raise invalid("custom_fields", "must be a list of {id, value}")
    values = {field["id"]: field["value"] for field in current}
    for update in updates:
        if not isinstance(update, dict):
            raise invalid("custom_fields", "must be a list of {id, value}")
        field_id = _int(update.get("id"), "custom_fields")
        if field_id not in resources.TICKET_FIELD_IDS:
            raise invalid("custom_fields", f"no ticket field {field_id}")
        values[field_id] = update.get("value")
    return [{"id": field_id, "value": value} for field_id, value in values.items()]


def _tokens(value):
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _int(value, field):
    try:
        return int(value)
    except (TypeError, ValueError):
        raise invalid(field, f"{value!r} is not an id") from None


def _text(value, field, required=False):
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise invalid(field, "cannot be blank")
    return value


def _email(value):
    if value is None:
        return None
    if not isinstance(value, str) or "@" not in value:
        raise invalid("email", f"{value!r} is not an email address")
    return value.strip().lower()

"""Zendesk-shaped resources: the full field set of tickets, users, comments and audits.

Field names and defaults follow the real responses recorded under
`../shared/reference/zendesk/recorded/` (tickets, comments, audits) and the user example of
Zendesk's incremental export OpenAPI document (users), so that a client reading the sandbox
sees every field it would see from Zendesk.
"""

from datetime import UTC, datetime
from html import escape
from html.parser import HTMLParser

TICKET_STATUSES = ("new", "open", "pending", "hold", "solved", "closed")
TICKET_PRIORITIES = ("urgent", "high", "normal", "low")
TICKET_TYPES = ("problem", "incident", "question", "task")
USER_ROLES = ("end-user", "agent", "admin")

# Account-wide ids a real Zendesk account assigns once; the sandbox has one of each.
BRAND_ID = 360000000101
TICKET_FORM_ID = 360000000201
CUSTOM_STATUS_ID = 360000000301

GROUPS = (
    {"id": 360000000401, "name": "Support"},
    {"id": 360000000402, "name": "Billing Escalations"},
)
TICKET_FIELDS = ({"id": 360000000501, "type": "text", "title": "Stripe customer id"},)
TICKET_FIELD_IDS = tuple(field["id"] for field in TICKET_FIELDS)

API_VIA = {"channel": "api", "source": {"from": {}, "to": {}, "rel": None}}


def follow_up_via(source):
    """The `via` of a follow-up made through the API (`via_followup_source_id`): Zendesk's
    via object names the closed ticket in `source.from` with `rel: follow_up`."""
    return {"channel": "api", "source": {
        "from": {"ticket_id": source["id"], "subject": source["subject"],
                 "channel": source["via"]["channel"]},
        "to": {}, "rel": "follow_up"}}


def now_iso():
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_ticket(ticket_id, *, requester_id, submitter_id, description, now, timestamp):
    """A ticket with every field Zendesk returns, before the caller's values are applied."""
    return {
        "id": ticket_id,
        "external_id": None,
        "via": API_VIA,
        "created_at": now,
        "updated_at": now,
        "generated_timestamp": timestamp,
        "type": None,
        "subject": "",
        "raw_subject": "",
        "description": description,
        "priority": None,
        "status": "new",
        "recipient": None,
        "requester_id": requester_id,
        "submitter_id": submitter_id,
        "assignee_id": None,
        "organization_id": None,
        "group_id": None,
        "collaborator_ids": [],
        "follower_ids": [],
        "email_cc_ids": [],
        "forum_topic_id": None,
        "problem_id": None,
        "has_incidents": False,
        "is_public": True,
        "due_at": None,
        "tags": [],
        "custom_fields": [{"id": field_id, "value": None} for field_id in TICKET_FIELD_IDS],
        "satisfaction_rating": None,
        "sharing_agreement_ids": [],
        "custom_status_id": CUSTOM_STATUS_ID,
        "followup_ids": [],
        "ticket_form_id": TICKET_FORM_ID,
        "brand_id": BRAND_ID,
        "allow_channelback": False,
        "allow_attachments": True,
        "from_messaging_channel": False,
    }


def render_ticket(ticket, base_url):
    """The ticket as Zendesk returns it: `fields` mirrors `custom_fields`, `url` is absolute."""
    return {
        "url": f"{base_url}/api/v2/tickets/{ticket['id']}.json",
        **ticket,
        "fields": [dict(field) for field in ticket["custom_fields"]],
    }


def new_user(user_id, *, name, email, role, now):
    return {
        "id": user_id,
        "name": name,
        "email": email,
        "role": role,
        "role_type": None,
        "custom_role_id": None,
        "active": True,
        "alias": "",
        "created_at": now,
        "updated_at": now,
        "last_login_at": None,
        "details": "",
        "notes": "",
        "external_id": None,
        "locale": "en-US",
        "locale_id": 1,
        "moderator": role != "end-user",
        "only_private_comments": False,
        "organization_id": None,
        "phone": None,
        "photo": None,
        "restricted_agent": role == "agent",
        "shared": False,
        "shared_agent": False,
        "signature": "",
        "suspended": False,
        "tags": [],
        "ticket_restriction": "requested" if role == "end-user" else None,
        "time_zone": "UTC",
        "user_fields": {},
        "verified": True,
    }


def render_user(user, base_url):
    return {"url": f"{base_url}/api/v2/users/{user['id']}.json", **user}


def new_comment(comment_id, *, audit_id, author_id, body, public, attachments, now,
                html_body=None):
    """A comment; given `html_body` (the API's alternative to `body`), Zendesk keeps that
    HTML, and `body` is its text."""
    return {
        "id": comment_id,
        "type": "Comment",
        "author_id": author_id,
        "body": body,
        "html_body": (f'<div class="zd-comment" dir="auto">{html_body}</div>'
                      if html_body is not None else _html_body(body)),
        "plain_body": body,
        "public": public,
        "attachments": attachments,
        "audit_id": audit_id,
        "via": API_VIA,
        "created_at": now,
        "metadata": {"system": {"client": "billing-console-sandbox"}, "custom": {}},
    }


class _Text(HTMLParser):
    def __init__(self):
        super().__init__()
        self.parts = []

    def handle_data(self, data):
        self.parts.append(data)

    def handle_starttag(self, tag, attrs):
        if tag in ("p", "br", "li", "div", "h2", "h3", "h4", "tr", "pre", "blockquote"):
            self.parts.append("\n")


def text_of_html(html):
    """The text of an `html_body`, paragraphs on lines of their own."""
    parser = _Text()
    parser.feed(html)
    return "\n".join(line.strip() for line in "".join(parser.parts).strip().splitlines()
                     if line.strip())


def _html_body(body):
    paragraphs = "".join(f'<p dir="auto">{escape(line)}</p>' for line in body.splitlines())
    return f'<div class="zd-comment" dir="auto">{paragraphs}</div>'


def new_attachment(attachment_id, *, file_name, content_type, size, token, base_url):
    content_url = f"{base_url}/attachments/token/{token}/?name={file_name}"
    return {
        "url": f"{base_url}/api/v2/attachments/{attachment_id}.json",
        "id": attachment_id,
        "file_name": file_name,
        "content_url": content_url,
        "mapped_content_url": content_url,
        "content_type": content_type,
        "size": size,
        "width": None,
        "height": None,
        "inline": False,
        "deleted": False,
        "malware_access_override": False,
        "malware_scan_result": "not_scanned",
        "thumbnails": [],
    }


def new_audit(audit_id, *, ticket_id, author_id, events, now, custom=None):
    return {
        "id": audit_id,
        "ticket_id": ticket_id,
        "created_at": now,
        "author_id": author_id,
        "metadata": {"system": {"client": "billing-console-sandbox"}, "custom": custom or {}},
        "events": events,
        "via": API_VIA,
    }

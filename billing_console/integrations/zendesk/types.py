"""What the Zendesk gateway returns: small frozen dataclasses, never zenpy objects.

Text fields (subjects, comment bodies, names) are Zendesk content: untrusted, to be escaped
wherever they are shown.
"""

from dataclasses import dataclass
from datetime import datetime

ESCALATION_TAG = "billing_escalation"
ESCALATION_GROUP = "Billing Escalations"
# Zendesk tags each ticket merged into another with this, as it closes it.
MERGE_TAG = "closed_by_merge"


@dataclass(frozen=True)
class User:
    id: int
    name: str
    email: str | None
    role: str
    external_id: str | None = None


@dataclass(frozen=True)
class CustomField:
    id: int
    value: object


@dataclass(frozen=True)
class Ticket:
    id: int
    subject: str
    description: str
    status: str  # new, open, pending, hold, solved, closed; "deleted" in the export only
    priority: str | None
    requester_id: int | None
    submitter_id: int | None
    assignee_id: int | None
    group_id: int | None
    tags: tuple[str, ...]
    custom_fields: tuple[CustomField, ...]
    external_id: str | None
    created_at: datetime | None
    updated_at: datetime | None
    # The closed ticket this one follows up (`via.source.rel == "follow_up"`), if any.
    follow_up_of: int | None = None

    def custom_field(self, field_id):
        """The value of a custom field, or None when the ticket does not carry it."""
        return next((f.value for f in self.custom_fields if f.id == field_id), None)

    @property
    def is_deleted(self):
        return self.status == "deleted"

    @property
    def is_merged(self):
        """Closed by merging it into another ticket (the merge note names which)."""
        return self.status == "closed" and MERGE_TAG in self.tags


@dataclass(frozen=True)
class Attachment:
    id: int
    file_name: str
    content_type: str
    size: int
    content_url: str


@dataclass(frozen=True)
class Comment:
    id: int
    author_id: int | None
    body: str
    public: bool  # False for an internal note
    created_at: datetime | None
    attachments: tuple[Attachment, ...]


@dataclass(frozen=True)
class TicketDetail:
    ticket: Ticket
    requester: User | None
    comments: tuple[Comment, ...]
    # The comments' authors, side-loaded by Zendesk (`include=users`).
    users: tuple[User, ...] = ()


@dataclass(frozen=True)
class ExportPage:
    """One page of the incremental ticket export.

    Store the tickets first, then save `after_cursor`: resuming from it never skips a
    ticket. `end_of_stream` means there was nothing more when the page was read; poll
    again later from the same cursor.
    """

    tickets: tuple[Ticket, ...]
    users: tuple[User, ...]
    after_cursor: str
    end_of_stream: bool


@dataclass(frozen=True)
class JobStatus:
    """A Zendesk background job (a merge, say): `queued`, `working`, `completed` or
    `failed`, with the job's message (the reason, when it failed)."""

    id: str
    status: str
    total: int | None
    progress: int | None
    message: str | None

    @property
    def is_finished(self):
        return self.status in ("completed", "failed")

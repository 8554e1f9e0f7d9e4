"""The three ways a Zendesk call fails, as the rest of the console sees them.

The gateway translates every zenpy and HTTP error into one of these at its boundary, so
callers never catch SDK exceptions.
"""


class ZendeskError(Exception):
    """Base class: something went wrong talking to Zendesk."""


class ZendeskTransientError(ZendeskError):
    """Worth retrying later: a 429, a 5xx, a timeout or a dropped connection.

    `retry_after` is the number of seconds Zendesk asked us to wait (its `Retry-After`
    header), or None when it did not say.
    """

    def __init__(self, message, *, retry_after=None):
        super().__init__(message)
        self.retry_after = retry_after


class ZendeskPermanentError(ZendeskError):
    """Zendesk refused the request and will refuse it again (validation, permissions).

    `status` is the HTTP status; the message is Zendesk's own description, safe to show.
    """

    def __init__(self, message, *, status=None):
        super().__init__(message)
        self.status = status


class ZendeskNotFound(ZendeskPermanentError):
    """The ticket or user does not exist (or was deleted)."""


class ZendeskClosedTicket(ZendeskPermanentError):
    """The ticket is closed: Zendesk refuses every update to it, a comment included
    ("Status: closed prevents ticket update"). Retrying never helps; a follow-up ticket
    (`gateway.create_follow_up_ticket`) is how to reach its requester again."""

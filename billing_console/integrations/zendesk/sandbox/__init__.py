"""A stateful stand-in for the part of the Zendesk Support API the console uses.

The same gateway code that talks to a real Zendesk account talks to this server; tests and
the `make run` demo point `ZENDESK_API_URL` at it. Field names, enums and response shapes
are Zendesk's (checked against `../shared/reference/zendesk/`).

Authentication is Zendesk's API-token basic auth, `{email}/token:{token}`; any token is
accepted, and the email becomes an admin agent (the author of what it writes).

Endpoints (all under `/api/v2/`):

- users: `POST users.json`, `GET users/{id}.json`, `GET users/show_many.json?ids=`,
  `GET users/search.json?query=` (an email, or part of a name)
- tickets: `POST tickets.json`, `GET tickets/{id}.json`, `GET tickets/show_many.json?ids=`,
  `PUT tickets/{id}.json` (comment with `public: false` for an internal note, status,
  priority, type, subject, `tags` / `additional_tags` / `remove_tags`, `custom_fields`,
  assignee_id, group_id; every update records an audit, with the request's `metadata` as
  its custom metadata, as on create), `DELETE tickets/{id}.json`
  (the ticket then shows as `status: deleted` in the export only)
- a closed ticket refuses every update, a comment included, with Zendesk's 422
  `RecordInvalid` ("Status: closed prevents ticket update"); `POST tickets.json` with
  `via_followup_source_id` of a closed ticket makes a follow-up (`via.source.rel` is
  `follow_up`, `via.source.from.ticket_id` the closed ticket; its tags are inherited)
- the requester's public comment on a `pending` or `solved` ticket reopens it (`open`)
- `POST tickets/{id}/merge` `{"ids", "target_comment", "source_comment",
  "target_comment_is_public", "source_comment_is_public"}` answers a `job_status` at once
  and merges in the background: each source closed, tagged `closed_by_merge`, with a
  private note naming the target (unless told otherwise); `GET job_statuses/{id}.json`
- `GET tickets/{id}/comments.json` with cursor pagination (`page[size]`, `page[after]`),
  `GET tickets/{id}/audits.json`, `POST uploads.json?filename=` (attachments for comments)
- `GET incremental/tickets/cursor.json` (see `export`), `GET search.json` (see `search`;
  tickets, or users with `type:user email:…`)
- `GET groups.json` ("Support", "Billing Escalations"), `GET ticket_fields.json`
  ("Stripe customer id")

Every `/api/` response carries `X-Rate-Limit` and `X-Rate-Limit-Remaining`; past the budget
(700 requests a minute by default) the answer is a 429 with `Retry-After`.

Test controls (no authentication):

- `POST /_sandbox/faults` `{"path": "/api/v2/incremental/tickets/cursor.json",
  "status": 429, "retry_after": 1, "times": 1}`: the next `times` requests under `path`
  fail with `status` and `Retry-After` (all keys optional; these are the defaults).
- `POST /_sandbox/rate_limit` `{"limit": 700, "window_seconds": 60}`: set the budget.
- `GET /_sandbox/requests`: the last requests received, as `METHOD /path?raw-query`.

On ticket create and update the sandbox POSTs a signed webhook to `webhook_url` (see
`notifier`). With `replay_path`, the export serves a recorded real export (see `export`).
"""

from .server import SandboxServer, build


def build_server(
    host: str,
    port: int,
    *,
    state_path: str | None = None,
    webhook_url: str | None = None,
    webhook_secret: str | None = None,
    replay_path: str | None = None,
) -> SandboxServer:
    """A server ready for `.serve_forever()`; port 0 picks a free port (see
    `.server_address`). With `state_path`, state survives restarts in that JSON file."""
    return build(host, port, state_path=state_path, webhook_url=webhook_url,
                 webhook_secret=webhook_secret, replay_path=replay_path)


__all__ = ["build_server"]

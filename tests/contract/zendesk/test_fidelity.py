"""Every ticket, user, comment and audit the sandbox returns carries every field the same
object carries in real Zendesk responses, with a value of the same JSON type."""

import time

import pytest

from .reference import recorded, reference_dir


def recorded_tickets():
    tickets = [t for e in recorded("incremental-tickets-cursor.json") for t in e["body"]["tickets"]]
    for name in ("ticket-create-and-update.json", "ticket-comments.json"):
        tickets += [e["body"]["ticket"] for e in recorded(name) if "ticket" in e["body"]]
    return tickets


def recorded_comments():
    return [c for e in recorded("ticket-comments.json") for c in e["body"].get("comments", [])]


def recorded_audits():
    return [e["body"]["audit"] for e in recorded("ticket-create-and-update.json")]


def documented_users():
    """The recordings hold no user, so users are checked against the example user of
    Zendesk's incremental export OpenAPI document."""
    yaml = pytest.importorskip("yaml")
    document = yaml.safe_load((reference_dir() / "incremental.openapi.yml").read_text())
    schema = document["components"]["schemas"]["CursorBasedExportIncrementalUsersResponse"]
    return schema["example"]["users"]


def expected_fields(samples):
    """Each field of the real objects, with the JSON types its non-null values have."""
    fields = {}
    for sample in samples:
        for name, value in sample.items():
            types = fields.setdefault(name, set())
            if value is not None:
                types.add(_json_type(value))
    return fields


def _json_type(value):
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return {str: "string", list: "array", dict: "object"}[type(value)]


def assert_like_zendesk(objects, samples):
    expected = expected_fields(samples)
    assert objects
    for obj in objects:
        missing = sorted(set(expected) - set(obj))
        assert not missing, f"missing {missing} in {obj}"
        for name, types in expected.items():
            if obj[name] is not None and types:
                assert _json_type(obj[name]) in types, f"{name}={obj[name]!r}, want {types}"


@pytest.fixture
def busy_ticket(sandbox):
    """A ticket with an attachment, an internal note, tags, a custom field and a group."""
    _, upload = sandbox.call("POST", "/api/v2/uploads.json?filename=invoice.pdf", {"a": 1})
    ticket = sandbox.create_ticket(
        comment={"body": "See attached.", "uploads": [upload["upload"]["token"]]},
        tags=["billing_escalation"], custom_fields=[{"id": 360000000501, "value": "cus_1"}],
        group_id=360000000402, priority="high", type="question",
    )
    sandbox.call("PUT", f"/api/v2/tickets/{ticket['id']}.json", {"ticket": {
        "status": "open", "comment": {"body": "Internal.", "public": False},
    }})
    return ticket


def test_tickets_carry_every_field_of_real_tickets(sandbox, busy_ticket):
    ticket_id = busy_ticket["id"]
    an_hour_ago = int(time.time()) - 3600
    responses = [
        busy_ticket,
        sandbox.call("GET", f"/api/v2/tickets/{ticket_id}.json")[1]["ticket"],
        *sandbox.call("GET", f"/api/v2/tickets/show_many.json?ids={ticket_id}")[1]["tickets"],
        *sandbox.call("GET", f"/api/v2/incremental/tickets/cursor.json?start_time="
                             f"{an_hour_ago}")[1]["tickets"],
        *sandbox.call("GET", "/api/v2/search.json?query=type:ticket")[1]["results"],
    ]

    assert_like_zendesk(responses, recorded_tickets())


def test_comments_carry_every_field_of_real_comments(sandbox, busy_ticket):
    _, body = sandbox.call("GET", f"/api/v2/tickets/{busy_ticket['id']}/comments.json")

    assert_like_zendesk(body["comments"], recorded_comments())
    real_attachments = [a for c in recorded_comments() for a in c["attachments"]]
    assert_like_zendesk(body["comments"][0]["attachments"], real_attachments)
    assert set(body["meta"]) >= {"has_more", "after_cursor", "before_cursor"}
    assert set(body["links"]) >= {"prev", "next"}


def test_audits_carry_every_field_of_real_audits(sandbox, busy_ticket):
    _, body = sandbox.call("GET", f"/api/v2/tickets/{busy_ticket['id']}/audits.json")

    assert_like_zendesk(body["audits"], recorded_audits())


def test_users_carry_every_field_zendesk_documents(sandbox, busy_ticket):
    requester_id = busy_ticket["requester_id"]
    an_hour_ago = int(time.time()) - 3600
    responses = [
        sandbox.call("GET", f"/api/v2/users/{requester_id}.json")[1]["user"],
        *sandbox.call("GET", f"/api/v2/users/show_many.json?ids={requester_id}")[1]["users"],
        *sandbox.call("GET", "/api/v2/users/search.json?query=ava@example.com")[1]["users"],
        *sandbox.call("GET", f"/api/v2/incremental/tickets/cursor.json?include=users&"
                             f"start_time={an_hour_ago}")[1]["users"],
    ]

    assert_like_zendesk(responses, documented_users())


def test_export_pages_carry_every_field_of_real_export_pages(sandbox, busy_ticket):
    an_hour_ago = int(time.time()) - 3600
    _, page = sandbox.call("GET", f"/api/v2/incremental/tickets/cursor.json?start_time="
                                  f"{an_hour_ago}")

    assert_like_zendesk([page], [e["body"] for e in recorded("incremental-tickets-cursor.json")])

"""Zendesk keeps whatever text it is sent, a NUL included (JSON carries it as `\\u0000`),
and so does the sandbox: through its API, its export and a restart from its state file.
The gateway hands it over as it came; the sync cleans it (tests/cases/test_sync_unstorable)."""

from billing_console.integrations.zendesk import gateway
from billing_console.integrations.zendesk.sandbox.store import Store

SUBJECT = "Null byte \u0000 in subject"
BODY = "A lone \ud800 surrogate and a \u0000"


def test_a_nul_subject_and_comment_come_back_through_the_api_and_the_export(sandbox):
    ticket = sandbox.create_ticket(subject=SUBJECT, comment={"body": BODY})

    detail = gateway.get_ticket(ticket["id"])
    page = gateway.export_tickets_page(start_time=0)

    assert (detail.ticket.subject, detail.comments[0].body) == (SUBJECT, BODY)
    assert [t.subject for t in page.tickets] == [SUBJECT]


def test_the_state_file_keeps_a_nul_across_a_restart(tmp_path):
    path = str(tmp_path / "zendesk.json")
    store = Store(state_path=path)
    author = store.agent_for("agent@example.com")["id"]
    ticket, _ = store.create_ticket({"subject": SUBJECT, "comment": {"body": BODY}}, author)

    again = Store(state_path=path)

    assert again.ticket(ticket["id"])["subject"] == SUBJECT
    assert again.comments(ticket["id"])[0]["body"] == BODY

"""Who may open the handover: those who work cases. Finance, admins and Tier 2 are
refused, on the page and the note form alike, and see no Handover in their navigation."""

import pytest

from handover.models import HandoverNote
from tests.conftest import signed_in


def test_specialists_open_it_and_find_it_in_their_navigation(specialist):
    response = signed_in(specialist).get("/handover/")
    assert response.status_code == 200
    assert '<a href="/handover/" aria-current="page">Handover</a>' in response.content.decode()


@pytest.mark.parametrize("role", ["tier2", "finance", "admin", "outsider"])
def test_other_roles_are_refused_and_not_shown_it(actors, role):
    client = signed_in(actors[role])
    assert client.get("/handover/").status_code == 403
    assert client.post("/handover/notes/", {"body": "Hello."}).status_code == 403
    assert not HandoverNote.objects.exists()
    assert 'href="/handover/"' not in client.get("/guidance/").content.decode()


def test_anonymous_visitors_are_sent_to_sign_in(client, db):
    response = client.get("/handover/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")

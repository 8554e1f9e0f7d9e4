"""A refused page says so in words: it never names the permission (a name in the code)
that the person's role lacks."""

import pytest

from billing_console.access import Capability, Role
from tests.conftest import make_user, signed_in

REFUSALS = [(Role.TIER2, "/cases/"), (Role.TIER2, "/approvals/"), (Role.TIER2, "/audit/"),
            (Role.SPECIALIST, "/approvals/"), (Role.SPECIALIST, "/manage/"),
            (Role.FINANCE, "/guidance/questions/"), (Role.ADMIN, "/cases/")]


@pytest.mark.parametrize("role, path", REFUSALS, ids=[f"{r.value} {p}" for r, p in REFUSALS])
def test_a_refusal_names_no_permission(db, role, path):
    response = signed_in(make_user(f"refused-{role.value}", role)).get(path)

    assert response.status_code == 403
    page = response.content.decode()
    assert not [name for name in Capability if name.value in page]
    assert "permission" not in page.lower()
    assert "Your role does not include this part of the console." in page

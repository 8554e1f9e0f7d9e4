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


def _api_post(user, path, body):
    from tests.conftest import api_client

    return api_client(user).post(path, body, format="json")


@pytest.mark.parametrize("body, message, field", [
    ({"resolution_code": 5, "summary": "Done."}, "Resolution code: Must be a string.",
     "resolution_code"),
    ({"resolution_code": "refunded", "summary": "Done.", "public_reply": "Hi\x00"},
     "Public reply: Holds a character no record can contain", "public_reply"),
])
def test_the_api_names_a_field_in_words_and_keys_its_errors_by_name(
        db, body, message, field):
    """Before: "resolution_code: Must be a string."; a program still finds the field by
    its name in `errors`."""
    from tests.cases.factories import make_case

    case = make_case()
    response = _api_post(make_user("api-specialist", Role.SPECIALIST),
                         f"/api/v1/cases/{case.pk}/resolve/", body)

    assert response.status_code == 400
    assert response.json()["message"].startswith(message)
    assert list(response.json()["errors"]) == [field]

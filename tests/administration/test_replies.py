"""Admins keep the reply templates specialists start from: each change audited, a
placeholder the console does not fill in refused before a customer could read it."""

import pytest

from audit.models import AuditEvent
from cases.models import ReplyTemplate
from tests.cases.factories import make_case
from tests.conftest import signed_in

ADD = {"new-reply-name": "Refund on its way", "new-reply-resolution_code": "refunded",
       "new-reply-body": "Hi {first_name}, your refund of {amount} is on its way."}


@pytest.fixture
def admin_client(admin_user):
    return signed_in(admin_user)


def change_form(template, **changes):
    fields = {"name": template.name, "body": template.body,
              "resolution_code": template.resolution_code, "position": template.position,
              "active": "on" if template.active else "", **changes}
    return {f"reply-{template.pk}-{name}": value for name, value in fields.items() if value != ""}


def test_an_admin_adds_a_template_and_it_is_audited(admin_client, admin_user):
    response = admin_client.post("/manage/replies/add/", ADD)

    assert response.status_code == 302
    template = ReplyTemplate.objects.get(name="Refund on its way")
    assert (template.resolution_code, template.active) == ("refunded", True)
    event = AuditEvent.objects.get(action="replies.template_added")
    assert (event.actor_username, event.object_id) == (admin_user.username, template.name)
    assert event.after["body"] == ADD["new-reply-body"]
    page = admin_client.get("/manage/replies/").content.decode()
    assert "Refund on its way" in page and "{first_name}" in page


@pytest.mark.parametrize(("body", "named"), [
    ("Hi {firstname}, all is well.", "{firstname}"),
    ("Hi {First_Name}.", "{First_Name}"),
    ("Hi {first-name}.", "{first-name}"),
    ("Hi { first_name }.", "{ first_name }"),
    ("Hi {{first_name}}.", "{{first_name}}"),
    ("Hi {0}.", "{0}"),
    ("Hi {}, {first_name}.", "{}"),
    ("Hi {first_name, all is well.", "lone “{”"),
])
def test_braces_that_are_not_exactly_a_placeholder_are_refused(admin_client, body, named):
    response = admin_client.post("/manage/replies/add/", {**ADD, "new-reply-body": body})

    page = response.content.decode()
    assert response.status_code == 400
    assert f"The console fills in no {named}, which the customer would read" in page
    assert "Placeholders are exactly {first_name}, {requester_name}" in page
    assert not ReplyTemplate.objects.filter(name="Refund on its way").exists()


def test_a_changed_template_with_braces_around_a_placeholder_is_refused(admin_client):
    template = ReplyTemplate.objects.create(name="Old words", body="Hi {first_name}.")

    response = admin_client.post(f"/manage/replies/{template.pk}/",
                                 change_form(template, body="Hi {{first_name}}."))

    assert response.status_code == 400
    assert "The console fills in no {{first_name}}" in response.content.decode()
    assert ReplyTemplate.objects.get(pk=template.pk).body == "Hi {first_name}."


def test_a_retired_template_is_no_longer_offered_on_the_case_page(admin_client, specialist):
    template = ReplyTemplate.objects.create(name="Old words", body="Hi {first_name}.")
    case = make_case()

    response = admin_client.post(f"/manage/replies/{template.pk}/",
                                 change_form(template, active=""))

    assert response.status_code == 302
    event = AuditEvent.objects.get(action="replies.template_changed")
    assert (event.before["active"], event.after["active"]) == (True, False)
    case_page = signed_in(specialist).get(f"/cases/{case.pk}/").content.decode()
    assert "Old words" not in case_page


def test_two_templates_never_share_a_name(admin_client):
    first = ReplyTemplate.objects.create(name="First", body="One.")
    ReplyTemplate.objects.create(name="Second", body="Two.")

    response = admin_client.post(f"/manage/replies/{first.pk}/",
                                 change_form(first, name="Second"))

    assert response.status_code == 400
    assert "There is already a template named “Second”." in response.content.decode()
    assert ReplyTemplate.objects.get(pk=first.pk).name == "First"

"""Users in the console: roles chosen (no permission picker, no staff or superuser flags),
lock state read through axes and unlocked through it, and Tier 2's tie to Zendesk."""

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import User
from django.test import Client

from audit.models import AuditEvent
from billing_console.access import Role, roles_of
from billing_console.models import ZendeskIdentity
from tests.conftest import PASSWORD, TIER2_ZENDESK_GROUP_ID, TIER2_ZENDESK_USER_ID, signed_in

LOGIN = "/accounts/login/"


def _lock(username):
    """Five wrong passwords, as a person would type them."""
    client = Client()
    for _ in range(5):
        client.post(LOGIN, {"username": username, "password": "wrong password"})
    return client


def _signs_in(username):
    response = Client().post(LOGIN, {"username": username, "password": PASSWORD})
    return response.status_code == 302


def _user_form(user, **changes):
    form = {"first_name": user.first_name, "last_name": user.last_name, "email": user.email,
            "is_active": "on", "roles": [role.value for role in roles_of(user)]}
    return {key: value for key, value in {**form, **changes}.items() if value is not None}


def test_the_list_shows_roles_lock_state_and_the_zendesk_tie(admin_user, actors):
    _lock("specialist")
    page = signed_in(admin_user).get("/manage/users/").content.decode()
    specialist_row = page.split('data-username="specialist"')[1].split("</tr>")[0]
    assert "Billing specialist" in specialist_row
    assert "Locked" in specialist_row and "Unlock" in specialist_row
    finance_row = page.split('data-username="finance"')[1].split("</tr>")[0]
    assert "Can sign in" in finance_row and "Unlock" not in finance_row
    tier2_row = page.split('data-username="tier2"')[1].split("</tr>")[0]
    assert (f"Sees the cases Zendesk user #{TIER2_ZENDESK_USER_ID} or group "
            f"#{TIER2_ZENDESK_GROUP_ID} escalated") in tier2_row
    assert f"agent {TIER2_ZENDESK_USER_ID}" not in tier2_row
    assert "No role: sees nothing" in page.split('data-username="outsider"')[1]


def test_a_few_wrong_passwords_are_not_a_lock(admin_user, specialist):
    client = Client()
    for _ in range(2):
        client.post(LOGIN, {"username": "specialist", "password": "wrong password"})
    page = signed_in(admin_user).get("/manage/users/").content.decode()
    assert "Locked" not in page.split('data-username="specialist"')[1].split("</tr>")[0]


def test_unlocking_lets_the_user_sign_in_at_once_and_is_audited(admin_user, specialist):
    _lock("specialist")
    assert not _signs_in("specialist")
    response = signed_in(admin_user).post(f"/manage/users/{specialist.pk}/unlock/")
    assert response.url == "/manage/users/"
    assert not AccessAttempt.objects.filter(username="specialist").exists()
    event = AuditEvent.objects.get(action="user.unlocked")
    assert (event.actor_username, event.object_id) == ("admin", "specialist")
    assert _signs_in("specialist")


def test_unlocking_someone_not_locked_says_so(admin_user, specialist):
    client = signed_in(admin_user)
    response = client.post(f"/manage/users/{specialist.pk}/unlock/", {"back": "user"},
                           follow=True)
    assert response.redirect_chain[-1][0] == f"/manage/users/{specialist.pk}/"
    assert "has no failed sign-ins to clear" in response.content.decode()
    assert not AuditEvent.objects.filter(action="user.unlocked").exists()


def test_the_user_page_chooses_roles_with_no_permission_picker_or_flags(admin_user, specialist):
    page = signed_in(admin_user).get(f"/manage/users/{specialist.pk}/").content.decode()
    for role in Role:
        assert f'value="{role.value}"' in page
    for django_field in ("user_permissions", "is_staff", "is_superuser"):
        assert django_field not in page


def test_roles_are_changed_by_choosing_them_and_audited(admin_user, specialist):
    response = signed_in(admin_user).post(
        f"/manage/users/{specialist.pk}/",
        _user_form(specialist, roles=[Role.SPECIALIST.value, Role.FINANCE.value]))
    assert response.status_code == 302
    specialist = User.objects.get(pk=specialist.pk)
    assert roles_of(specialist) == {Role.SPECIALIST, Role.FINANCE}
    assert not specialist.is_staff and not specialist.is_superuser
    event = AuditEvent.objects.get(action="user.changed")
    assert event.before["roles"] == ["billing_specialist"]
    assert event.after["roles"] == ["billing_specialist", "finance"]


def test_an_admin_cannot_take_their_own_admin_role_away(admin_user):
    client = signed_in(admin_user)
    response = client.post(f"/manage/users/{admin_user.pk}/",
                           _user_form(admin_user, roles=[Role.FINANCE.value]))
    assert response.status_code == 400
    assert "ask another admin" in response.content.decode()
    assert roles_of(User.objects.get(pk=admin_user.pk)) == {Role.ADMIN}
    turned_off = client.post(f"/manage/users/{admin_user.pk}/",
                             _user_form(admin_user, is_active=None))
    assert turned_off.status_code == 400


def test_a_tier2_agent_is_tied_to_their_zendesk_agent_and_group(admin_user):
    from tests.conftest import make_user

    agent = make_user("noor", Role.TIER2)
    response = signed_in(admin_user).post(f"/manage/users/{agent.pk}/", _user_form(
        agent, zendesk_user_id=str(TIER2_ZENDESK_USER_ID),
        zendesk_group_id=str(TIER2_ZENDESK_GROUP_ID)))
    assert response.status_code == 302
    identity = ZendeskIdentity.objects.get(user=agent)
    assert (identity.zendesk_user_id, identity.zendesk_group_id) == (
        TIER2_ZENDESK_USER_ID, TIER2_ZENDESK_GROUP_ID)
    event = AuditEvent.objects.get(action="user.changed")
    assert event.before["zendesk_user_id"] is None
    assert event.after["zendesk_user_id"] == TIER2_ZENDESK_USER_ID

    # Emptied, the tie is gone: the agent sees no case.
    signed_in(admin_user).post(f"/manage/users/{agent.pk}/", _user_form(agent))
    assert not ZendeskIdentity.objects.filter(user=agent).exists()


@pytest.mark.parametrize("field, value", [("zendesk_user_id", "abc"),
                                          ("zendesk_user_id", "-4"),
                                          ("zendesk_group_id", "99999999999999999999"),
                                          ("email", "not an email"),
                                          ("roles", "superuser")])
def test_bad_input_on_the_user_page_is_a_400(admin_user, tier2, field, value):
    response = signed_in(admin_user).post(f"/manage/users/{tier2.pk}/",
                                          _user_form(tier2, **{field: value}))
    assert response.status_code == 400
    assert not AuditEvent.objects.filter(action="user.changed").exists()


def test_an_admin_adds_a_user_who_then_signs_in(admin_user):
    response = signed_in(admin_user).post("/manage/users/add/", {
        "username": "maya", "first_name": "Maya", "email": "maya@console.example.com",
        "roles": [Role.SPECIALIST.value], "password": PASSWORD})
    maya = User.objects.get(username="maya")
    assert response.url == f"/manage/users/{maya.pk}/"
    assert roles_of(maya) == {Role.SPECIALIST}
    assert _signs_in("maya")
    event = AuditEvent.objects.get(action="user.created")
    assert event.after["roles"] == ["billing_specialist"]
    assert PASSWORD not in str(event.after)


@pytest.mark.parametrize("username, password, message", [
    ("specialist", PASSWORD, "already exists"),
    ("new person", PASSWORD, "Enter a valid username"),
    ("maya", "short", "too short"),
    ("maya", "Ab1!" * 2500, "A password has at most 128 characters."),
    ("maya", "x" * 129, "A password has at most 128 characters."),
])
def test_a_new_user_is_refused_in_words(admin_user, specialist, username, password, message):
    response = signed_in(admin_user).post("/manage/users/add/", {
        "username": username, "roles": [Role.SPECIALIST.value], "password": password})
    assert response.status_code == 400
    assert message in response.content.decode()


def test_an_admin_gives_a_user_a_new_password(admin_user, specialist):
    new_password = "a brand new passphrase here"
    response = signed_in(admin_user).post(f"/manage/users/{specialist.pk}/password/",
                                          {"password": new_password})
    assert response.status_code == 302
    assert User.objects.get(pk=specialist.pk).check_password(new_password)
    assert AuditEvent.objects.get(action="user.password_set").object_id == "specialist"
    weak = signed_in(admin_user).post(f"/manage/users/{specialist.pk}/password/",
                                      {"password": "password"})
    assert weak.status_code == 400
    overlong = signed_in(admin_user).post(f"/manage/users/{specialist.pk}/password/",
                                          {"password": "a brand new passphrase" * 500})
    assert overlong.status_code == 400
    assert "A password has at most 128 characters." in overlong.content.decode()
    assert User.objects.get(pk=specialist.pk).check_password(new_password)

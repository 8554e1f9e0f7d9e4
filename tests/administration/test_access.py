"""Only admins open the administration pages; Django's admin is for superusers alone."""

import pytest
from django.urls import get_resolver

from billing_console.access import Role
from tests.conftest import make_user, signed_in

ADMINISTRATION_PAGES = ["/manage/", "/manage/policy/", "/manage/policy/currencies/usd/",
                        "/manage/users/", "/manage/users/add/", "/manage/intake/",
                        "/manage/replies/", "/manage/integrations/"]
ADMINISTRATION_POSTS = ["/manage/policy/rules/", "/manage/policy/currencies/usd/",
                        "/manage/policy/role-limits/", "/manage/policy/reasons/",
                        "/manage/users/add/", "/manage/intake/rule/", "/manage/intake/sla/",
                        "/manage/replies/add/", "/manage/integrations/"]


def test_every_administration_route_is_listed_here():
    """A new page under /manage/ is added to the lists above, and so to the checks below."""
    resolver = next(p for p in get_resolver().url_patterns
                    if getattr(p, "namespace", None) == "administration")
    assert len(resolver.url_patterns) == 20


@pytest.mark.parametrize("role", ["specialist", "tier2", "finance", "outsider"])
def test_every_other_role_gets_403_on_every_page_and_change(actors, role, refund_policy):
    client = signed_in(actors[role])
    target = actors["specialist"]
    paths = [*ADMINISTRATION_PAGES, f"/manage/users/{target.pk}/"]
    for path in paths:
        assert client.get(path).status_code == 403, path
    for path in [*ADMINISTRATION_POSTS, f"/manage/users/{target.pk}/",
                 f"/manage/users/{target.pk}/unlock/", f"/manage/users/{target.pk}/password/",
                 "/manage/policy/reasons/1/", "/manage/replies/1/"]:
        assert client.post(path, {}).status_code == 403, path


def test_anonymous_visitors_are_sent_to_sign_in(client, db):
    response = client.get("/manage/users/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_admins_open_every_page_with_the_consoles_navigation(admin_user, refund_policy):
    client = signed_in(admin_user)
    for path in [*ADMINISTRATION_PAGES, f"/manage/users/{admin_user.pk}/"]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert b'aria-label="Sections"' in response.content
        assert b'href="/manage/" aria-current="page">Admin' in response.content


def test_admins_land_on_the_administration_section(admin_user):
    assert signed_in(admin_user).get("/").url == "/manage/"


def test_djangos_admin_is_for_superusers_only(admin_user):
    refused = signed_in(admin_user).get("/admin/")
    assert refused.status_code == 403
    assert "superusers only" in refused.content.decode()
    # An admin is not told to ask an admin: the page links to what they manage.
    assert "Everything an admin manages, roles included, is under " \
           '<a href="/manage/">Admin</a>' in refused.content.decode()
    assert "ask an admin" not in refused.content.decode()
    assert "manage_console" not in refused.content.decode()
    superuser = make_user("root")
    superuser.is_superuser = True
    superuser.save()
    assert signed_in(superuser).get("/admin/").status_code == 200
    assert signed_in(superuser).get("/admin/auth/user/").status_code == 200


def test_a_turned_off_superuser_is_refused(db):
    superuser = make_user("root", Role.ADMIN)
    superuser.is_superuser = True
    superuser.save()
    client = signed_in(superuser)
    superuser.is_active = False
    superuser.save()
    assert client.get("/admin/").status_code != 200

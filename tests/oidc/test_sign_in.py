"""Signing in through a real OpenID Connect provider: roles from the groups claim at every
sign-in, "no access" without a mapped group, and each step in the audit trail."""

import re

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse

from audit.models import AuditEvent, Outcome
from billing_console.access import Role, roles_of
from oidc.models import ProviderIdentity
from tests.conftest import signed_in
from tests.oidc.conftest import ProviderBrowser, query_of, sign_in_through

pytestmark = pytest.mark.django_db


def _roles(username):
    return roles_of(User.objects.get(username=username))


def test_the_request_to_the_provider_carries_pkce_state_and_nonce(provider, client):
    started = client.get("/sso/login/?next=/cases/")
    assert started.url.startswith(provider.issuer + "/auth?")
    query = query_of(started.url)
    assert query["response_type"] == "code"
    assert query["client_id"] == provider.client_id
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43  # base64url of a SHA-256 digest
    assert query["state"] and query["nonce"]
    assert "openid" in query["scope"].split()
    assert query["redirect_uri"] == "http://testserver/sso/callback/"
    assert "prompt" not in query  # a first sign-in may ask who they are


def test_a_specialist_signs_in_with_the_role_their_group_gives(provider, client):
    callback, answer = sign_in_through(client, ProviderBrowser(provider), "alex",
                                       "alex-password", start="/sso/login/?next=/cases/")
    assert answer.status_code == 302 and answer.url == "/cases/"
    assert client.get("/cases/").status_code == 200

    alex = User.objects.get(username="alex")
    assert int(client.session["_auth_user_id"]) == alex.pk
    assert (alex.email, alex.first_name, alex.last_name) == (
        "alex@company.example.com", "Alex", "Rivera")
    assert roles_of(alex) == {Role.SPECIALIST}
    assert not alex.has_usable_password()
    identity = ProviderIdentity.objects.get(user=alex)
    assert (identity.issuer, identity.subject) == (provider.issuer, "alex")

    events = list(AuditEvent.objects.order_by("id"))
    assert [event.action for event in events] == ["auth.roles_from_provider", "auth.login"]
    assert events[0].before == {"roles": []}
    assert events[0].after == {"roles": ["billing_specialist"],
                               "groups": ["billing-specialists"]}
    assert events[0].actor_username == "alex"
    assert events[1].actor_role == "billing_specialist"


def test_roles_follow_the_groups_claim_at_every_sign_in(provider):
    browser = ProviderBrowser(provider)
    sign_in_through(Client(), browser, "alex", "alex-password")
    provider.set_groups("alex", ["billing-specialists", "finance-team", "marketing"])
    sign_in_through(Client(), browser)  # still signed in at the provider: no prompt
    assert _roles("alex") == {Role.SPECIALIST, Role.FINANCE}

    provider.set_groups("alex", ["finance-team"])
    client = Client()
    _, answer = sign_in_through(client, browser)
    assert answer.url == "/"
    assert client.get("/").url == "/approvals/"
    assert _roles("alex") == {Role.FINANCE}

    changes = AuditEvent.objects.filter(action="auth.roles_from_provider").order_by("id")
    assert [(event.before["roles"], event.after["roles"]) for event in changes] == [
        ([], ["billing_specialist"]),
        (["billing_specialist"], ["billing_specialist", "finance"]),
        (["billing_specialist", "finance"], ["finance"]),
    ]
    assert AuditEvent.objects.filter(action="auth.login").count() == 3
    assert ProviderIdentity.objects.count() == 1


def test_the_claim_sets_roles_only_and_leaves_other_groups_and_flags_alone(provider):
    browser = ProviderBrowser(provider)
    sign_in_through(Client(), browser, "drew", "drew-password")
    drew = User.objects.get(username="drew")
    drew.groups.add(Group.objects.create(name="reporting"))
    provider.set_groups("drew", ["finance-team"])
    sign_in_through(Client(), browser)
    drew = User.objects.get(username="drew")
    assert roles_of(drew) == {Role.FINANCE}
    assert set(drew.groups.values_list("name", flat=True)) == {"finance", "reporting"}
    assert not drew.is_superuser and not drew.is_staff


def test_someone_in_no_mapped_group_gets_no_access_and_no_session(provider, client):
    _, answer = sign_in_through(client, ProviderBrowser(provider), "eve", "eve-password")
    assert answer.status_code == 403
    assert b"No access to the Billing Console" in answer.content
    assert b"No group at the identity provider" in answer.content
    assert "_auth_user_id" not in client.session
    assert client.get("/cases/").url.startswith("/accounts/login/")
    assert not User.objects.filter(username="eve").exists()

    refusal = AuditEvent.objects.get()
    assert (refusal.action, refusal.object_id, refusal.outcome) == (
        "auth.sso_refused", "eve", Outcome.DENIED)
    assert "No group at the identity provider" in refusal.reason


def test_taken_out_of_every_mapped_group_loses_the_roles_and_gets_no_session(provider):
    browser = ProviderBrowser(provider)
    sign_in_through(Client(), browser, "alex", "alex-password")
    provider.set_groups("alex", ["marketing"])
    client = Client()
    _, answer = sign_in_through(client, browser)
    assert answer.status_code == 403 and b"No access" in answer.content
    assert "_auth_user_id" not in client.session
    assert _roles("alex") == frozenset()
    last_two = AuditEvent.objects.order_by("-id")[:2]
    assert [event.action for event in last_two] == ["auth.sso_refused",
                                                    "auth.roles_from_provider"]
    assert last_two[1].after == {"roles": [], "groups": []}


def test_a_user_the_console_turned_off_is_refused(provider):
    browser = ProviderBrowser(provider)
    sign_in_through(Client(), browser, "alex", "alex-password")
    User.objects.filter(username="alex").update(is_active=False)
    client = Client()
    _, answer = sign_in_through(client, browser)
    assert answer.status_code == 403 and b"turned off" in answer.content
    assert "_auth_user_id" not in client.session


def test_a_username_already_in_the_console_is_not_taken_over(provider, client):
    User.objects.create_user("alex", password="local password of someone else")
    _, answer = sign_in_through(client, ProviderBrowser(provider), "alex", "alex-password")
    assert answer.status_code == 403 and b"already exists" in answer.content
    assert "_auth_user_id" not in client.session
    assert not ProviderIdentity.objects.exists()
    assert AuditEvent.objects.get().actor is None


def test_the_provider_unreachable_is_a_clear_page_not_a_500(provider, client):
    provider.stop()
    answer = client.get("/sso/login/")
    assert answer.status_code == 503
    assert b"cannot be reached" in answer.content
    assert AuditEvent.objects.get().action == "auth.sso_refused"


# A refusal's way back to the sign-in page keeps `next`, as the sign-in page keeps it
# through its own refusals.
BACK_WITH_NEXT = 'href="/accounts/login/?next=/cases/"'


def test_a_refused_company_sign_in_leads_back_to_where_they_were_going(provider, client):
    provider.tamper_next_id_token("forged")
    _, refused = sign_in_through(client, ProviderBrowser(provider), "alex", "alex-password",
                                 start="/sso/login/?next=/cases/")
    assert refused.status_code == 403 and BACK_WITH_NEXT in refused.content.decode()


def test_the_provider_unreachable_leads_back_to_where_they_were_going(provider, client):
    provider.stop()
    unreachable = client.get("/sso/login/?next=/cases/")
    assert unreachable.status_code == 503 and BACK_WITH_NEXT in unreachable.content.decode()


def test_the_sign_in_page_offers_the_company_sign_in(provider, client):
    page = client.get("/accounts/login/?next=/cases/").content.decode()
    assert 'href="/sso/login/?next=%2Fcases%2F"' in page
    assert "Sign in with Company sign-in" in page
    assert "Break-glass admins" in page


def test_without_an_issuer_there_is_no_single_sign_on(client):
    assert client.get("/sso/login/").status_code == 404
    assert client.get("/sso/callback/?state=x&code=y").status_code == 404
    assert b"sso-sign-in" not in client.get("/accounts/login/").content


def test_an_admin_from_the_provider_still_needs_a_second_factor(provider, client):
    _, answer = sign_in_through(client, ProviderBrowser(provider), "drew", "drew-password",
                                start="/sso/login/?next=/manage/")
    assert answer.url == "/manage/"
    assert roles_of(User.objects.get(username="drew")) == {Role.ADMIN}
    refused = client.get("/manage/")
    assert refused.status_code == 302
    assert refused.url.startswith(reverse(settings.SECOND_FACTOR_URL))


def test_the_trail_names_single_sign_ons_events_in_words(provider, client, finance):
    sign_in_through(client, ProviderBrowser(provider), "alex", "alex-password")
    sign_in_through(Client(), ProviderBrowser(provider), "eve", "eve-password")
    page = signed_in(finance).get("/audit/").content.decode()
    rows = page[page.index("<tbody"):page.index("</tbody>")]
    text = re.sub(r"<[^>]+>", " ", rows)  # what people read: no tags, no attributes
    for words in ("Roles set from the identity provider", "Single sign-on refused"):
        assert words in text
    assert "auth." not in text

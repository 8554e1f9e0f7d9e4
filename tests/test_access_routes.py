"""Every URL route, walked as every role and as an anonymous visitor, against access.py.

A new route that declares no permission fails here, and so does one whose declaration is
not enforced.
"""

import uuid

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.exceptions import Resolver404
from django.utils.regex_helper import normalize

from billing_console.access import PUBLIC, SIGNED_IN, Role, allows, declared_capability
from tests import conftest
from tests.conftest import make_user

# Values tried, in order, for each URL parameter until the path resolves to the route.
SAMPLE_VALUES = ("1", str(uuid.UUID(int=1)), "auth", "x")
# Query strings for routes that answer only to a well-formed request.
SAMPLE_QUERIES = {"/admin/autocomplete/": "app_label=auth&model_name=user&field_name=groups"}


def _leaf_patterns(patterns=None, prefix=()):
    for pattern in patterns if patterns is not None else get_resolver().url_patterns:
        parts = (*prefix, pattern.pattern.regex.pattern)
        if isinstance(pattern, URLResolver):
            yield from _leaf_patterns(pattern.url_patterns, parts)
        elif isinstance(pattern, URLPattern):
            yield pattern, parts


def _sample_path(pattern, parts):
    """A concrete path for the route, built the way Django reverses regexes."""
    for value in SAMPLE_VALUES:
        path = "/"
        for part in parts:
            template, params = normalize(part)[0]
            path += template % dict.fromkeys(params, value)
        try:
            if resolve(path).func is pattern.callback:
                return path
        except Resolver404:
            continue
    raise AssertionError(f"No sample path resolves to route {parts}; add a value to "
                         "SAMPLE_VALUES.")


def _with_query(path):
    query = SAMPLE_QUERIES.get(path)
    return f"{path}?{query}" if query else path


ROUTES = [(_with_query(_sample_path(pattern, parts)), pattern)
          for pattern, parts in _leaf_patterns()]


def test_every_route_declares_what_it_needs():
    undeclared = [path for path, pattern in ROUTES if declared_capability(pattern.callback) is None]
    assert not undeclared, f"Routes with no permission declared: {undeclared}"


def test_the_walk_covers_the_consoles_sections():
    paths = {path for path, _ in ROUTES}
    for expected in ("/cases/", "/approvals/", "/audit/", "/guidance/", "/admin/",
                     "/api/v1/me", "/api/schema/", "/healthz"):
        assert expected in paths


def _get(client, path):
    """GET, reading a streamed response to its end: a streamed export holds a server-side
    cursor on PostgreSQL, which must close inside this test's transaction, not when the
    garbage collector gets to it during a later test (whose transaction it then breaks)."""
    response = client.get(path)
    if response.streaming:
        b"".join(response.streaming_content)
    return response


def _is_login_redirect(response):
    return response.status_code == 302 and "/accounts/login/" in response["Location"]


def _refused(response):
    return response.status_code in (401, 403) or _is_login_redirect(response)


@pytest.fixture
def signed_in_clients(db, client_factory):
    users = {role: make_user(f"walker-{role.value}", role) for role in Role}
    users[None] = make_user("walker-no-role")
    return {role: client_factory(user) for role, user in users.items()}


@pytest.fixture
def client_factory():
    def build(user):
        client = conftest.signed_in(user)  # an admin with their second factor, as at a desk
        client.user = user
        return client

    return build


@pytest.mark.parametrize("path,pattern", ROUTES, ids=[path for path, _ in ROUTES])
def test_route_lets_in_exactly_the_roles_access_py_names(path, pattern, signed_in_clients, client):
    declared = declared_capability(pattern.callback)
    anonymous = _get(client, path)
    if declared == PUBLIC:
        assert not _refused(anonymous), f"{path} is public but refused an anonymous visitor"
    else:
        assert _refused(anonymous), f"{path} let an anonymous visitor in"
    for role, signed_in in signed_in_clients.items():
        response = _get(signed_in, path)
        if allows(signed_in.user, declared):
            assert not _refused(response), f"{path} refused {role}, which access.py allows"
        else:
            assert response.status_code == 403, (
                f"{path} gave {role} {response.status_code}, but access.py refuses it"
            )


def test_signed_in_declaration_admits_every_role_but_not_anonymous(signed_in_clients, client):
    assert _refused(client.get("/api/v1/me"))
    for signed_in in signed_in_clients.values():
        assert signed_in.get("/api/v1/me").status_code == 200
    assert SIGNED_IN != PUBLIC

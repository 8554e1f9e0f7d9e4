"""The page layout's promises: styled errors, a strict CSP, and no inline scripts."""

import re

import pytest
from django.conf import settings

from tests.cases.factories import make_case
from tests.conftest import TIER2_ZENDESK_USER_ID, signed_in


def test_every_page_carries_a_csp_without_unsafe_inline_scripts(client, specialist):
    client.force_login(specialist)
    policy = client.get("/cases/")["Content-Security-Policy"]
    script_src = re.search(r"script-src ([^;]*)", policy).group(1)
    assert "'self'" in script_src and "unsafe-inline" not in script_src
    assert "frame-ancestors 'none'" in policy


def test_templates_hold_no_inline_script_or_event_handler():
    for template in (settings.BASE_DIR / "templates").rglob("*.html"):
        text = template.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), template
        assert not re.search(r"\son[a-z]+=", text), template


def test_htmx_is_vendored_with_version_and_licence():
    vendor = settings.BASE_DIR / "static" / "vendor"
    assert (vendor / "htmx" / "htmx.min.js").stat().st_size > 10_000
    assert (vendor / "htmx" / "LICENSE").exists()
    assert "htmx.org@2.0.11" in (vendor / "README.md").read_text()


def test_a_refused_page_is_the_styled_403(client, tier2):
    client.force_login(tier2)
    response = client.get("/admin/")
    assert response.status_code == 403
    assert b"You can\xe2\x80\x99t open this page" in response.content
    assert b"console.css" in response.content


@pytest.mark.django_db
def test_an_unknown_page_is_the_styled_404(client):
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert b"There is nothing here" in response.content


# With DEBUG on, as in the demo, Django would answer its technical page for developers.
DJANGOS_TECHNICAL_404 = ("URLconf", "Raised by", "matches the given query",
                         "DEBUG = True")


def _the_consoles_404(response, *, says):
    html = response.content.decode()
    assert response.status_code == 404
    assert "There is nothing here" in html and says in html
    assert 'nav aria-label="Sections"' in html  # the console's navigation, to go on from
    assert not [words for words in DJANGOS_TECHNICAL_404 if words in html], html


def test_with_debug_on_a_case_tier2_may_not_see_is_the_consoles_404(settings, tier2):
    settings.DEBUG = True
    others = make_case(escalated_by_zendesk_id=TIER2_ZENDESK_USER_ID + 1)
    response = signed_in(tier2).get(f"/cases/{others.pk}/", follow=True)
    _the_consoles_404(response, says="Find yours by its ticket number")


def test_with_debug_on_an_unknown_object_or_path_is_the_consoles_404(settings, specialist):
    settings.DEBUG = True
    settings.SANDBOX_VIEWER = True
    settings.STRIPE_API_BASE = "http://127.0.0.1:12111"
    client = signed_in(specialist)
    _the_consoles_404(client.get("/sandbox/stripe/zz_unknown/"),
                      says="There is no sandbox page for this Stripe object")
    _the_consoles_404(client.get("/no/such/page/"), says="Choose a section above")
    # get_object_or_404's words are for developers: the page says its own.
    _the_consoles_404(client.get("/cases/999999/"), says="may be mistyped")


def test_with_debug_on_an_unknown_api_path_is_still_json(settings, specialist):
    settings.DEBUG = True
    response = signed_in(specialist).get("/api/v1/nothing-here/")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_a_refused_request_is_the_styled_400(rf, specialist):
    from billing_console.views import bad_request

    request = rf.get("/cases/")
    request.user = specialist
    html = bad_request(request, None).content.decode()
    assert "The request could not be understood" in html
    assert "console.css" in html and 'nav aria-label="Sections"' in html


def test_flash_messages_are_shown(client, specialist):
    client.force_login(specialist)
    response = client.post("/accounts/logout/", follow=True)
    assert b'class="message info"' in response.content
    assert b"You have signed out." in response.content


def _break_the_queue(monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("cases.views.queue.render", fail)


def test_an_unexpected_error_is_the_styled_500(client, specialist, monkeypatch):
    _break_the_queue(monkeypatch)
    client.raise_request_exception = False
    client.force_login(specialist)
    response = client.get("/cases/")
    assert response.status_code == 500
    assert b"Something went wrong on our side" in response.content
    assert b"boom" not in response.content


def test_an_unexpected_api_error_keeps_the_error_shape(client, monkeypatch, specialist):
    monkeypatch.setattr("billing_console.apis.roles_of", lambda user: 1 / 0)
    client.raise_request_exception = False
    client.force_login(specialist)
    response = client.get("/api/v1/me")
    assert response.status_code == 500
    assert response.json()["code"] == "server_error"

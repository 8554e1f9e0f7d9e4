"""Each role signs in through the real page and sees its own navigation."""

import pytest

NAVIGATION = {
    "specialist": ["Queue", "Audit", "Guidance", "Questions", "Handover"],
    "tier2": ["Guidance"],
    "finance": ["Queue", "Approvals", "Audit", "Summary", "Reconciliation", "Guidance"],
    "admin": ["Approvals", "Audit", "Summary", "Reconciliation", "Guidance", "Admin"],
}
HOMES = {"specialist": "/cases/", "tier2": "/guidance/", "finance": "/approvals/",
         "admin": "/manage/"}


@pytest.mark.parametrize("role", list(NAVIGATION))
def test_each_role_sees_its_own_navigation(role, actors, page, sign_in, live_server):
    sign_in(actors[role].username)
    assert page.url == live_server.url + HOMES[role]
    links = page.locator("nav[aria-label=Sections] a").all_inner_texts()
    assert links == NAVIGATION[role]
    assert page.console_errors == []


def test_tier2_gets_the_styled_403_on_an_admin_page(actors, page, sign_in):
    sign_in("tier2")
    response = page.goto("/admin/auth/user/")
    assert response.status == 403
    assert page.locator("h1").inner_text() == "You can’t open this page"
    assert page.locator("nav[aria-label=Sections] a").all_inner_texts() == ["Guidance"]


def test_the_keyboard_reaches_the_content_and_focus_is_visible(actors, page, sign_in):
    sign_in("finance")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent")
    assert focused == "Skip to content"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"


def test_pages_read_well_on_a_phone(actors, page, sign_in):
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in("finance")
    overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
    assert not overflow


def test_the_api_docs_page_works_offline_under_the_csp(actors, page, sign_in):
    sign_in("specialist")
    page.goto("/api/docs/")
    page.get_by_text("/api/v1/me").first.wait_for(timeout=15_000)
    assert page.console_errors == []

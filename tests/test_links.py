"""Pages that strand no one: every page, walked as each role, links only to pages that role
opens, and shows no empty message box.

The walk reads every route with the sample objects of `test_no_codes_on_pages` (a case
with some of everything, money actions done and waiting, an audit event of every action),
as a specialist, a Tier 2 agent, finance and an admin, and follows every link to the
console's own pages that a page it opened shows. A link is broken when it leads its
reader to a refusal (403) or to nothing (404): an admin's link from the approvals page to
a case page they may not open, say. A box that speaks to the person (an alert, a status,
a message) is there only with something to say; the flash messages' list, which htmx
fills in place, is empty then, and the page's style hides it.
"""

import re
from html import unescape
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest

from audit.models import AuditEvent
from billing_console.names import ticket_name
from tests.conftest import signed_in
from tests.refunds.conftest import charged, pending  # noqa: F401 (fixtures)
from tests.test_no_codes_on_pages import ROLES, pages, stripe, world  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db(transaction=True)

HREF = re.compile(r"<a\b[^>]*\bhref=\"([^\"]+)\"")
# Answers that strand the person who followed a link.
STRANDED = (403, 404)
# Where a link leaves the console's pages: its files, and programs' answers.
NOT_PAGES = ("/static/", "/api/", "/accounts/logout/")


def internal_links(html):
    """The console's own pages `html` links to, each once, without their fragment."""
    links = set()
    for href in HREF.findall(html):
        parts = urlsplit(unescape(href))
        if parts.scheme or parts.netloc or not parts.path.startswith("/") \
                or parts.path.startswith(NOT_PAGES):
            continue
        links.add(parts.path + (f"?{parts.query}" if parts.query else ""))
    return links


class _Boxes(HTMLParser):
    """The boxes of a page that speak to the person, each with its visible text."""

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
            "source", "track", "wbr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.open, self.found = [], []

    def handle_starttag(self, tag, attrs):
        if tag in self.VOID:
            return
        attrs = dict(attrs)
        box = attrs.get("role") in ("alert", "status") or \
            "message" in (attrs.get("class") or "").split()
        self.open.append({"tag": tag, "attrs": attrs, "box": box, "text": "", "inner": False})
        if len(self.open) > 1:
            self.open[-2]["inner"] = True

    def handle_data(self, data):
        for element in self.open:
            element["text"] += data
            element["inner"] = True

    def handle_endtag(self, tag):
        if not self.open or tag in self.VOID:
            return
        element = self.open.pop()
        if element["box"]:
            self.found.append(element)


def empty_boxes(html):
    """The boxes that would show with nothing in them: all but the flash messages' list
    with nothing at all inside (`.messages:empty` hides it)."""
    parser = _Boxes()
    parser.feed(html)
    return [f"<{box['tag']} {box['attrs']}>" for box in parser.found
            if not box["text"].strip() and not (
                not box["inner"] and "messages" in (box["attrs"].get("class") or "").split())]


def test_the_box_reader_finds_a_box_with_nothing_to_say():
    html = ('<ul id="flash" class="messages" role="status"></ul>'
            '<div class="message error" role="alert"><p>Refused.</p></div>'
            '<div class="error" role="alert">\n  </div>')

    assert empty_boxes(html) == ["<div {'class': 'error', 'role': 'alert'}>"]
    assert empty_boxes('<ul id="flash" class="messages" role="status">\n  \n</ul>')


def test_the_link_reader_keeps_the_consoles_own_pages():
    html = ('<a href="/cases/2/#timeline">x</a><a href="https://example.com/">y</a>'
            '<a href="/audit/?ticket=6&amp;before=9">z</a><a href="#main">skip</a>'
            '<a class="x" href="/static/css/console.css">c</a>')

    assert internal_links(html) == {"/cases/2/", "/audit/?ticket=6&before=9"}


def test_no_page_links_a_role_where_it_cannot_go_or_shows_an_empty_box(world, actors):  # noqa: F811
    users = {role: actors[key] for role, key in zip(
        ROLES, ("specialist", "tier2", "finance", "admin"), strict=True)}
    walked, broken, empty = list(pages(world)), [], []
    for role in ROLES:
        client, answered, linked = signed_in(users[role]), {}, {}
        for path in walked:
            response = answered[path] = client.get(path)
            if "text/html" in response.get("Content-Type", ""):
                html = response.content.decode()
                empty += [f"{role.label} on {path}: {box}" for box in empty_boxes(html)]
                if response.status_code == 200:
                    for link in internal_links(html):
                        linked.setdefault(link, path)
        for link, page in sorted(linked.items()):
            status = (answered.get(link) or client.get(link)).status_code
            if status in STRANDED:
                broken.append(f"{role.label} on {page}: {link} answers {status}")
    assert not broken, "\n".join(broken)
    assert not empty, "\n".join(sorted(set(empty)))


def test_an_admin_reads_the_ticket_of_an_approval_or_an_event_as_text(
        refund_policy, pending, admin_user, finance):  # noqa: F811
    """Admins approve and read the trail, but open no case page: finance, who may, follows
    the ticket to its case."""
    event = AuditEvent.objects.filter(case_id=pending.case_id).latest("pk")
    case_link = f'href="/cases/{pending.case_id}/"'
    ticket = ticket_name(pending.case.zendesk_ticket_id)
    for path in ("/approvals/", "/audit/", f"/audit/{event.pk}/"):
        admins = signed_in(admin_user).get(path).content.decode()
        assert ticket in admins and case_link not in admins, path
        assert case_link in signed_in(finance).get(path).content.decode(), path

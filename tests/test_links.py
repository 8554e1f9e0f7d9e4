"""Links that work: every page, walked as each role, links only to pages that role opens.

The walk reads every route with the sample objects of `test_no_codes_on_pages` (a case
with some of everything, money actions done and waiting, an audit event of every action),
as a specialist, a Tier 2 agent, finance and an admin, and follows every link to the
console's own pages that a page it opened shows. A link is broken when it leads its
reader to a refusal (403) or to nothing (404): an admin's link from the approvals page to
a case page they may not open, say.
"""

import re
from html import unescape
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


def test_the_link_reader_keeps_the_consoles_own_pages():
    html = ('<a href="/cases/2/#timeline">x</a><a href="https://example.com/">y</a>'
            '<a href="/audit/?ticket=6&amp;before=9">z</a><a href="#main">skip</a>'
            '<a class="x" href="/static/css/console.css">c</a>')

    assert internal_links(html) == {"/cases/2/", "/audit/?ticket=6&before=9"}


def test_no_page_links_a_role_to_a_page_it_cannot_open(world, actors):  # noqa: F811
    users = {role: actors[key] for role, key in zip(
        ROLES, ("specialist", "tier2", "finance", "admin"), strict=True)}
    walked, broken = list(pages(world)), []
    for role in ROLES:
        client, answered, linked = signed_in(users[role]), {}, {}
        for path in walked:
            response = answered[path] = client.get(path)
            if response.status_code == 200 and "text/html" in response["Content-Type"]:
                for link in internal_links(response.content.decode()):
                    linked.setdefault(link, path)
        for link, page in sorted(linked.items()):
            status = (answered.get(link) or client.get(link)).status_code
            if status in STRANDED:
                broken.append(f"{role.label} on {page}: {link} answers {status}")
    assert not broken, "\n".join(broken)


def test_an_admin_reads_the_ticket_of_an_approval_or_an_event_as_text(pending, admin_user,  # noqa: F811
                                                                     finance):
    """Admins approve and read the trail, but open no case page: finance, who may, follows
    the ticket to its case."""
    event = AuditEvent.objects.filter(case_id=pending.case_id).latest("pk")
    case_link = f'href="/cases/{pending.case_id}/"'
    ticket = ticket_name(pending.case.zendesk_ticket_id)
    for path in ("/approvals/", "/audit/", f"/audit/{event.pk}/"):
        admins = signed_in(admin_user).get(path).content.decode()
        assert ticket in admins and case_link not in admins, path
        assert case_link in signed_in(finance).get(path).content.decode(), path

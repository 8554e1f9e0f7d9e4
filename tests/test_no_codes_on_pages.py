"""Words, not codes, wherever a person reads: every page, walked as each role.

The walk visits every route of the URL resolver with sample objects (a case whose Stripe
customer has charges, refunds, a dispute, invoices, credit notes and a subscription;
money actions done and one waiting for approval; a question; a playbook; a handover note;
a reconciliation run) and the preview of each money action, as a specialist, a Tier 2
agent, finance and an admin. A page fails when its visible text (tags, attributes,
<script>, <code> and elements of class "stripe-id" left out) holds
- a raw Stripe id, which belongs in a Stripe-id column or a link's address only;
- a reason code (the snake_case codes of Stripe's and the console's reason registries),
  which has a label;
- a permission name (a snake_case `Capability` value: "reconcile" is also an English word);
- a case named by its row id ("Case 2") rather than its ticket number.
The notes the console writes to Zendesk tickets are held to the same words.
"""

import re
from html.parser import HTMLParser

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from django.utils.regex_helper import normalize

from audit.models import AuditEvent
from billing_console.access import Capability, Role
from billing_console.integrations.stripe.sandbox.builders import (
    charge,
    draft_invoice,
    open_invoice,
)
from billing_console.names import CREDIT_NOTE_REASONS, DISPUTE_REASONS, REFUND_REASONS
from cases.models import StripeLink, WriteBack
from credit_memos.views import INVOICE_PAGES
from finance.models import ReconciliationItem, ReconciliationRun
from finance.periods import Period
from finance.reconciliation import reconciliation_run
from guidance import services as guidance
from guidance.models import Playbook, Question
from handover.services import handover_note_leave
from money_actions.kinds import Family, slugs
from money_actions.models import MoneyAction, ReasonCode, State
from tests.cases.case_page_sandboxes import StripeSandbox
from tests.cases.factories import make_case
from tests.conftest import signed_in
from tests.refunds.conftest import confirm_key

pytestmark = pytest.mark.django_db(transaction=True)

STRIPE_ID = re.compile(
    r"\b(ch|re|in|il|cn|cus|sub|si|price|prod|pi|pm|txr|cbtxn|dp|evt)_[A-Za-z0-9]{6,}")
CASE_BY_ROW_ID = re.compile(r"\bcase #?\d+\b", re.IGNORECASE)
# Elements whose text is not read as words: scripts, and ids shown as ids.
SKIPPED_TAGS = {"script", "style", "code"}
VOID_TAGS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
             "source", "track", "wbr"}
REASON = {"reason_code": "courtesy", "note": "Agreed with the customer on the phone."}


# Reading a page as a person does ---------------------------------------------------------


class _VisibleText(HTMLParser):
    """The text of a page a person reads, with the skipped elements left out."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts, self.open_tags, self.skipping = [], [], 0

    def handle_starttag(self, tag, attrs):
        if tag in VOID_TAGS:
            return
        skipped = tag in SKIPPED_TAGS or "stripe-id" in (dict(attrs).get("class") or "").split()
        self.open_tags.append(skipped)
        self.skipping += skipped

    def handle_startendtag(self, tag, attrs):
        """A self-closed element (<br/>) holds no text."""

    def handle_endtag(self, tag):
        if tag in VOID_TAGS or not self.open_tags:
            return
        self.skipping -= self.open_tags.pop()

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)


def visible_text(html):
    parser = _VisibleText()
    parser.feed(html)
    parser.close()
    return " ".join(" ".join(parser.parts).split())


def reason_codes():
    console = ReasonCode.objects.values_list("code", flat=True)
    return {code for code in [*REFUND_REASONS, *CREDIT_NOTE_REASONS, *DISPUTE_REASONS, *console]
            if "_" in code}


def codes_in(text, codes):
    """[(what, the text around it)] for every id, code or row id in `text`."""
    found = [("Stripe id", match) for match in STRIPE_ID.finditer(text)]
    found += [("case by row id", match) for match in CASE_BY_ROW_ID.finditer(text)]
    for code in codes:
        found += [("code", match) for match in re.finditer(rf"\b{re.escape(code)}\b", text)]
    return [(what, text[max(match.start() - 40, 0):match.end() + 40])
            for what, match in found]


def forbidden_codes():
    permissions = {capability.value for capability in Capability if "_" in capability.value}
    return reason_codes() | permissions


# The scanner itself ----------------------------------------------------------------------


def test_the_scanner_reads_text_as_a_person_does():
    html = ('<title>Ticket #6</title><p>Refund of <span class="stripe-id">ch_3Abc123XYZ'
            '</span> <a href="/x/in_1Abcdefg" title="in_1Abcdefg">invoice 0012</a><br>'
            '<code>refund.approved re_12345678</code><script>var a = "cus_12345678"</script>'
            '</p>')

    assert visible_text(html) == "Ticket #6 Refund of invoice 0012"


@pytest.mark.parametrize("html,what", [
    ("<p>Charge ch_3Abc123XYZ refunded</p>", "Stripe id"),
    ("<td>requested_by_customer · courtesy</td>", "code"),
    ("<p>This page needs the view_queue permission.</p>", "code"),
    ("<a>← Case 2: Charged twice</a>", "case by row id"),
    ('<span class="hint">in_1Abcdefg</span>', "Stripe id"),
])
def test_the_scanner_finds_codes_in_plain_text(html, what):
    codes = {"requested_by_customer", "view_queue"}

    assert [found for found, _ in codes_in(visible_text(html), codes)] == [what]


# A case with some of everything ----------------------------------------------------------


@pytest.fixture
def stripe(settings):
    sandbox = StripeSandbox()
    sandbox.point(settings)
    yield sandbox
    sandbox.stop()


CREDIT_MEMO = {"line_0_amount": "20.00", "settle_to": "customer_balance",
               "stripe_reason": "product_unsatisfactory", "custom_amount": "", "memo": ""}
NO_REPLY = {"currency": "usd", "customer_reply": ""}


@pytest.fixture
def world(stripe, zendesk_sandbox, actors, refund_policy, eager_tasks):
    """A case whose Stripe customer has some of everything, worked by a specialist: a
    duplicate refunded, a large refund waiting for finance, a credit memo, a voided
    invoice; a question, a playbook, a handover note, a reconciliation run. Returns what
    the walk fills the routes' parameters with."""
    customer, paid, refunded, _disputed = stripe.customer_with_history()
    client, lines = stripe.client, [("Seats", 6_000)]
    twice = [charge(client, customer=customer.id, amount=3_000) for _ in range(2)]
    large = charge(client, customer=customer.id, amount=90_000)
    voided = open_invoice(client, customer=customer.id, lines=lines)
    ticket = zendesk_sandbox.create_ticket(subject="Charged twice")
    case = make_case(zendesk_ticket_id=ticket["id"], subject="Charged twice",
                     stripe_customer_id=customer.id, stripe_link=StripeLink.VERIFIED)
    specialist = signed_in(actors["specialist"])
    _confirm(specialist, f"/refunds/new/{case.pk}/{twice[1]}/",
             {"amount": "30.00", "stripe_reason": "duplicate", **NO_REPLY})
    _confirm(specialist, f"/refunds/new/{case.pk}/{large}/",
             {"amount": "800.00", "stripe_reason": "requested_by_customer", **NO_REPLY})
    _confirm(specialist, f"/actions/credit-memo/{case.pk}/{paid.id}/", CREDIT_MEMO)
    _confirm(specialist, f"/actions/invoice/{case.pk}/{voided.id}/invoice_void/", {})
    guidance.question_ask(asker=actors["tier2"], case=case,
                          body="Which charge was the duplicate?")
    guidance.playbook_save(title="Duplicate charges, step by step", category="duplicate_charge",
                           author=actors["specialist"], body="Refund the later charge.")
    handover_note_leave(author=actors["specialist"], body="The large refund waits for finance.")
    today = timezone.now().date()
    reconciliation_run(period=Period(today.replace(day=1), today), actor=actors["finance"])
    return {
        "case": case, "customer": customer, "charge": refunded, "paid": paid,
        "open": open_invoice(client, customer=customer.id, lines=lines),
        "draft": draft_invoice(client, customer=customer.id, lines=lines),
        "subscription": client.v1.subscriptions.list(
            params={"customer": customer.id}).data[0],
        "memo": MoneyAction.objects.get(kind="credit_memo", state=State.SUCCEEDED),
        "pending": MoneyAction.objects.get(state=State.PENDING_APPROVAL),
        "ticket": ticket["id"], "user": actors["specialist"].pk,
    }


def _confirm(client, url, fields):
    """Preview, then confirm with the preview's key, as the page's buttons do."""
    preview = client.post(url, {**fields, **REASON, "preview": "1"})
    assert preview.status_code == 200, visible_text(preview.content.decode())[:2000]
    answer = client.post(url, {**fields, **REASON, "confirm": "1",
                               "request_key": confirm_key(preview.content.decode())})
    assert answer.status_code == 302


# Every route, with sample objects --------------------------------------------------------


def _leaf_routes(patterns=None, prefix=(), namespace=""):
    """(route name with its namespace, its regex parts) of every route."""
    for pattern in patterns if patterns is not None else get_resolver().url_patterns:
        parts = (*prefix, pattern.pattern.regex.pattern)
        if isinstance(pattern, URLResolver):
            inner = ":".join(filter(None, [namespace, pattern.namespace or ""]))
            yield from _leaf_routes(pattern.url_patterns, parts, inner)
        elif isinstance(pattern, URLPattern):
            yield ":".join(filter(None, [namespace, pattern.name or ""])), parts


def _objects(world, name):
    """Keyword dicts for a route's parameters, one per page to read: several where one
    route serves several kinds of object."""
    case = world["case"].pk
    on_case = {"case_pk": case}
    return {
        "refunds:new": [{**on_case, "charge_id": world["charge"]}],
        "credit_memos:credit-memo": [{**on_case, "target_id": world["paid"].id}],
        "credit_memos:credit-memo-void": [{**on_case,
                                           "target_id": world["memo"].stripe_object_id}],
        "credit_memos:invoice": [
            {**on_case, "slug": slug,
             "target_id": world["draft" if slug == "invoice_edit" else "open"].id}
            for slug in INVOICE_PAGES],
        "credit_memos:balance": [{**on_case, "target_id": world["customer"].id}],
        "credit_memos:subscription": [
            {**on_case, "target_id": world["subscription"].id, "slug": slug}
            for slug in slugs(family=Family.CHANGES_PLAN)],
        "audit:event": [{"pk": pk} for pk in AuditEvent.objects.values_list("pk", flat=True)],
    }.get(name)


def _sample(world, name, parameter):
    """The one sample object a parameter of route `name` takes."""
    app = name.split(":")[0]
    pending = world["pending"].pk
    if parameter in ("case_pk",) or (parameter == "pk" and app == "cases"):
        return world["case"].pk
    samples = {
        "slug": Playbook.objects.latest("pk").slug, "number": 1, "currency": "usd",
        "ticket_id": world["ticket"], "object_id": world["charge"],
        "money_actions": pending, "finance": pending, "guidance": Question.objects.get().pk,
        "administration:reason-change": ReasonCode.objects.first().pk,
        "administration": world["user"],
    }
    if name.startswith("finance:reconciliation"):
        item = ReconciliationItem.objects.first()
        return item.pk if name.endswith("explain") and item else \
            ReconciliationRun.objects.latest("pk").pk
    for key in (parameter, name, app):
        if key in samples:
            return samples[key]
    return 1  # an object there is none of: the page's "not found" is read too


def pages(world):
    """The path of every page to read: each route's, with its sample objects."""
    for name, parts in _leaf_routes():
        params = [param for part in parts for param in normalize(part)[0][1]]
        for values in _objects(world, name) or [
                {param: _sample(world, name, param) for param in params}]:
            path = "/" + "".join(normalize(part)[0][0] % {key: values[key] for key in
                                                           normalize(part)[0][1]}
                                 for part in parts)
            # Programs' answers, and Django's own admin (superusers only; its door is read).
            if not path.startswith(NOT_PAGES) or path == "/admin/":
                yield path


def previews(world):
    """(path, form) of each money action's confirm page: what a person reads just before
    money moves."""
    case = world["case"].pk
    return [
        (f"/refunds/new/{case}/{world['charge']}/",
         {"amount": "5.00", "stripe_reason": "requested_by_customer", **NO_REPLY}),
        (f"/actions/credit-memo/{case}/{world['paid'].id}/",
         {**CREDIT_MEMO, "line_0_amount": "5.00"}),
        (f"/actions/invoice/{case}/{world['open'].id}/invoice_uncollectible/", {}),
        (f"/actions/balance/{case}/{world['customer'].id}/",
         {"direction": "balance_credit", "amount": "5.00", "currency": "usd",
          "description": "Goodwill"}),
        (f"/actions/subscription/{case}/{world['subscription'].id}/subscription_cancel_at_end/",
         {}),
    ]


NOT_PAGES = ("/api/v1/", "/api/schema/", "/webhooks/", "/admin/")
ROLES = (Role.SPECIALIST, Role.TIER2, Role.FINANCE, Role.ADMIN)


def test_no_page_shows_a_raw_id_a_code_or_a_case_by_row_id(world, actors):
    forbidden, found = forbidden_codes(), []
    users = {Role.SPECIALIST: actors["specialist"], Role.TIER2: actors["tier2"],
             Role.FINANCE: actors["finance"], Role.ADMIN: actors["admin"]}
    walked = list(pages(world))
    for role in ROLES:
        client = signed_in(users[role])
        responses = [(path, client.get(path)) for path in walked]
        responses += [(f"{path} (hx)", client.get(path, HTTP_HX_REQUEST="true"))
                      for path in walked]
        responses += [(f"{path} (preview)", client.post(path, {**form, **REASON,
                                                               "preview": "1"}))
                      for path, form in previews(world)]
        for path, response in responses:
            if "text/html" not in response.get("Content-Type", ""):
                continue
            text = visible_text(response.content.decode())
            found += [f"{role.value} {path} [{response.status_code}] {what}: …{context}…"
                      for what, context in codes_in(text, forbidden)]
    assert len(walked) > 60
    assert not found, "\n".join(sorted(set(found)))


def test_the_tickets_notes_name_objects_and_reasons_in_words(world):
    notes = list(WriteBack.objects.exclude(note="").values_list("note", flat=True))
    found = [context for note in notes for _, context in codes_in(note, forbidden_codes())]

    assert len(notes) >= 3
    assert not found, found
    assert any(note.startswith("Refunded 30.00 USD of the charge of 30.00 USD on ")
               and note.count("(courtesy)") for note in notes), notes

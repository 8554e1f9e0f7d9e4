"""Words, not codes, wherever a person reads: every page, walked as each role.

The walk visits every route of the URL resolver with sample objects (a case whose Stripe
customer has charges, refunds, a dispute, invoices, credit notes and a subscription;
money actions done and one waiting for approval; a question; a playbook; a handover note;
a reconciliation run; an audit event of every action the console records, read on every
page of the trail) and the preview of each money action, as a specialist, a Tier 2 agent,
finance and an admin, each of whom has a name. A page fails when its visible text (tags,
attributes but an aria-label, <script>, <code> and elements of class "stripe-id",
"username" or "raw-record" left out) holds
- a raw Stripe id, which belongs in a Stripe-id column or a link's address only;
- a reason code (the snake_case codes of Stripe's and the console's reason registries),
  which has a label;
- a permission name (a snake_case `Capability` value: "reconcile" is also an English word);
- an audit action (`<kind>.<event>`), a role's code, a money action's or a case's state
  code, or a Stripe status code ("past_due"; a one-word one, "paid", where it stands
  alone, as in a table cell or after a "·"), each of which has words;
- "stripe" or "zendesk" in lower case (a label lowered whole: "submitting to stripe");
- a case named by its row id ("Case 2") rather than its ticket number, or a money action
  by its id ("Money action 1c0e…", or any bare UUID);
- a person by their username where they have a name (an author, an actor, an assignee);
- "None" standing alone (a value printed that is not there), also as the value of a
  field a person types in.
No page gives two elements the same id either. The notes the console writes to Zendesk
tickets are held to the same words.
"""

import re
import time
from html.parser import HTMLParser

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from django.utils.regex_helper import normalize

from audit.models import POLICY_ROLE, AuditEvent
from audit.selectors import PAGE_SIZE
from audit.services import record
from billing_console.access import Capability, Role
from billing_console.integrations.stripe.sandbox.builders import (
    charge,
    draft_invoice,
    open_invoice,
)
from billing_console.names import (
    CREDIT_NOTE_REASONS,
    DISPUTE_REASONS,
    REFUND_REASONS,
    STRIPE_STATUSES,
    audit_actions,
    audit_kinds,
)
from cases.models import CaseEvent, StripeLink, WriteBack
from cases.models import State as CaseState
from credit_memos.kinds import SUBSCRIPTION_CANCEL_WITH_REFUND
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
UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
PROPER_NAME_LOWERED = re.compile(r"\b(stripe|zendesk)\b")
# What splits a text into the pieces a one-word code may stand alone in.
SEPARATORS = re.compile(r"[·,;:()\[\]|/—–]")
# Elements whose text is not read as words: scripts, and ids shown as ids: Stripe's, an
# account's username on the admins' pages, the audit trail's raw record.
SKIPPED_TAGS = {"script", "style", "code"}
SKIPPED_CLASSES = {"stripe-id", "username", "raw-record"}
# The fields a person types in, whose value is shown as text.
TYPED_INPUTS = {"text", "date", "number", "email", "search", "tel", "url", None}
VOID_TAGS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
             "source", "track", "wbr"}
REASON = {"reason_code": "courtesy", "note": "Agreed with the customer on the phone."}


# Reading a page as a person does ---------------------------------------------------------


class _VisibleText(HTMLParser):
    """The text of a page a person reads, with the skipped elements left out, one part per
    run of text; and the value of every id attribute."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts, self.open_tags, self.skipping, self.ids = [], [], 0, []

    def handle_starttag(self, tag, attrs):
        self.ids += [value for name, value in attrs if name == "id"]
        named = dict(attrs)
        if not self.skipping:
            # What a screen reader says for the element, and a typed field's value.
            self.parts += [named["aria-label"]] if named.get("aria-label") else []
            if tag == "input" and named.get("type") in TYPED_INPUTS and named.get("value"):
                self.parts.append(named["value"])
        if tag in VOID_TAGS:
            return
        skipped = tag in SKIPPED_TAGS or bool(
            SKIPPED_CLASSES & set((named.get("class") or "").split()))
        self.open_tags.append(skipped)
        self.skipping += skipped

    def handle_startendtag(self, tag, attrs):
        """A self-closed element (<br/>) holds no text."""
        self.ids += [value for name, value in attrs if name == "id"]

    def handle_endtag(self, tag):
        if tag in VOID_TAGS or not self.open_tags:
            return
        self.skipping -= self.open_tags.pop()

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)


def _parsed(html):
    parser = _VisibleText()
    parser.feed(html)
    parser.close()
    return parser


def visible_text(html):
    return " ".join(" ".join(_parsed(html).parts).split())


def visible_parts(html):
    """The runs of visible text, each with its whitespace folded."""
    return [" ".join(part.split()) for part in _parsed(html).parts if part.strip()]


def duplicate_ids(html):
    ids = _parsed(html).ids
    return sorted({value for value in ids if ids.count(value) > 1})


def reason_codes():
    console = ReasonCode.objects.values_list("code", flat=True)
    return {code for code in [*REFUND_REASONS, *CREDIT_NOTE_REASONS, *DISPUTE_REASONS, *console]
            if "_" in code}


class Forbidden:
    """The codes no person should read: `inline` wherever they are, `alone` where a piece
    of text is nothing but the code (a one-word code is also an English word)."""

    def __init__(self, inline, alone=(), action_kinds=(), usernames=()):
        words = sorted(inline, key=len, reverse=True)
        self.inline = re.compile(rf"(?<![\w.])({'|'.join(map(re.escape, words))})(?![\w.])") \
            if words else None
        # An action of a known kind nobody named: "refund.sent_back", "case.new_thing".
        self.actions = re.compile(
            rf"\b({'|'.join(map(re.escape, action_kinds))})\.[a-z][a-z_]*(?![\w@.-])") \
            if action_kinds else None
        # A value printed that is not there, and Django's blank choice in a list.
        self.alone = {*alone, "None", "---------"}
        self.usernames = re.compile(
            rf"(?<![\w.@-])({'|'.join(map(re.escape, usernames))})(?![\w@-])") \
            if usernames else None

    def found(self, parts):
        """[(what, the text around it)] for every id, code or row id in `parts`."""
        text = " ".join(parts)
        found = [("Stripe id", match) for match in STRIPE_ID.finditer(text)]
        found += [("case by row id", match) for match in CASE_BY_ROW_ID.finditer(text)]
        found += [("an id", match) for match in UUID.finditer(text)]
        found += [("a proper name lowered", match)
                  for match in PROPER_NAME_LOWERED.finditer(text)]
        for pattern in (self.inline, self.actions):
            found += [("code", match) for match in (pattern.finditer(text) if pattern else ())]
        found += [("a username", match)
                  for match in (self.usernames.finditer(text) if self.usernames else ())]
        around = [(what, text[max(match.start() - 40, 0):match.end() + 40])
                  for what, match in found]
        return around + [("code standing alone", part) for part in parts
                         for piece in SEPARATORS.split(part) if piece.strip() in self.alone]


def forbidden_codes(usernames=()):
    """Every code the walk fails on, and the `usernames` of people who have a name."""
    permissions = {capability.value for capability in Capability if "_" in capability.value}
    states = {*State.values, *CaseState.values}
    inline = {*reason_codes(), *permissions, *audit_actions(),
              *(role.value for role in Role if "_" in role.value),
              *(code for code in {*states, *STRIPE_STATUSES} if "_" in code)}
    alone = {code for code in {*states, *STRIPE_STATUSES, POLICY_ROLE} if "_" not in code}
    return Forbidden(inline, alone, action_kinds=list(audit_kinds()), usernames=usernames)


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
    ("<td><a>subscription_change.requested</a></td>", "code"),
    ("<small>billing_specialist</small>", "code"),
    ("<td>Refund of 30.00 USD · pending_approval</td>", "code"),
    ("<td>past_due · cancels at period end</td>", "code"),
    ("<td>paid</td>", "code standing alone"),
    ("<div>Refund: 8.00 USD · succeeded</div>", "code standing alone"),
    ('<span class="badge">submitting to stripe</span>', "a proper name lowered"),
    ("<td>Money action 1c0e4a52-7a4b-4f7e-9d0c-2b1d6f0e8a11</td>", "an id"),
    ("<td>refund.sent_back</td>", "code"),
])
def test_the_scanner_finds_codes_in_plain_text(html, what):
    forbidden = Forbidden({"requested_by_customer", "view_queue", "billing_specialist",
                           "subscription_change.requested", "pending_approval", "past_due"},
                          alone={"paid", "succeeded"}, action_kinds=["refund"])

    assert [found for found, _ in forbidden.found(visible_parts(html))] == [what]


@pytest.mark.parametrize("html", [
    "<p>The invoice is paid and the subscription active; it renews on 30 Dec.</p>",
    "<td>Paid</td><td>Past due</td><span>Submitting to Stripe</span>",
    "<p>Mail ava.okafor@example.com about the refund of 30.00 USD.</p>",
])
def test_the_scanner_lets_words_be(html):
    forbidden = Forbidden({"past_due"}, alone={"paid", "active"}, action_kinds=["refund"])

    assert forbidden.found(visible_parts(html)) == []


@pytest.mark.parametrize("html,what", [
    ("<dl><dt>Last error</dt><dd>None</dd></dl>", "code standing alone"),
    ('<label>From <input type="date" name="since" value="None"></label>',
     "code standing alone"),
    ('<td><input type="checkbox" name="case" value="7" aria-label="Select case 7"></td>',
     "case by row id"),
    ("<p><strong>u-specialist</strong> · 2026-12-01 10:00 UTC</p>", "a username"),
])
def test_the_scanner_finds_none_usernames_and_what_a_screen_reader_says(html, what):
    forbidden = Forbidden(set(), usernames=["u-specialist"])

    assert [found for found, _ in forbidden.found(visible_parts(html))] == [what]


@pytest.mark.parametrize("html", [
    "<p>None yet: a ticket you escalate shows here.</p>",
    '<input type="hidden" name="since" value="None"><input type="checkbox" value="paid">',
    '<td><a href="/manage/users/3/" class="username">u-specialist</a></td>',
    '<details class="raw-record"><summary>Raw record</summary><p>refund.requested on '
    'money_action 1c0e4a52-7a4b-4f7e-9d0c-2b1d6f0e8a11 by u-specialist</p></details>',
])
def test_the_scanner_lets_names_and_the_raw_record_be(html):
    forbidden = Forbidden({"refund.requested"}, alone={"paid"}, action_kinds=["refund"],
                          usernames=["u-specialist"])

    assert forbidden.found(visible_parts(html)) == []


def test_the_scanner_finds_two_elements_with_one_id():
    html = ('<input id="id_currency"><label for="id_currency">Currency</label>'
            '<select id="id_currency"></select><p id="ok"></p>')

    assert duplicate_ids(html) == ["id_currency"]


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
    _named(actors)
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
    # A question answered, on a case whose money is all settled: its page says there is
    # none waiting, and offers the answer to a playbook.
    quiet = zendesk_sandbox.create_ticket(subject="Settled")
    settled = guidance.question_ask(
        asker=actors["tier2"], body="Is anything still on its way?",
        case=make_case(zendesk_ticket_id=quiet["id"], subject="Settled"))
    guidance.question_answer(question=settled, answer="No: all of it is settled.",
                             answered_by=actors["specialist"])
    guidance.playbook_save(title="Duplicate charges, step by step", category="duplicate_charge",
                           author=actors["specialist"], body="Refund the later charge.")
    handover_note_leave(author=actors["specialist"], body="The large refund waits for finance.")
    today = timezone.now().date()
    reconciliation_run(period=Period(today.replace(day=1), today), actor=actors["finance"])
    world = {
        "case": case, "customer": customer, "charge": refunded, "paid": paid,
        "open": open_invoice(client, customer=customer.id, lines=lines),
        "draft": draft_invoice(client, customer=customer.id, lines=lines),
        "subscription": client.v1.subscriptions.list(
            params={"customer": customer.id}).data[0],
        "memo": MoneyAction.objects.get(kind="credit_memo", state=State.SUCCEEDED),
        "pending": MoneyAction.objects.get(state=State.PENDING_APPROVAL),
        "ticket": ticket["id"], "user": actors["specialist"].pk,
    }
    _written_with_ids(world)
    real = set(AuditEvent.objects.values_list("pk", flat=True))
    _every_audit_action(world, actors)
    world["audit_events"] = real | _first_of_each_kind(exclude=real)
    return world


# Each actor's name; their usernames are words of no page, so a username shown where the
# name belongs is found.
NAMES = {"specialist": "Sam Specialist", "second_specialist": "Sky Second",
         "tier2": "Tia Tiertwo", "finance": "Fin Ance", "admin": "Ada Admin",
         "outsider": "Otto Outside"}


def _named(actors):
    for key, user in actors.items():
        user.first_name, user.last_name = NAMES[key].split()
        user.username = f"u-{key}"
        user.save()


def _written_with_ids(world):
    """Timeline entries the console wrote before it named Stripe objects, ids and all."""
    case, customer = world["case"], world["customer"]
    CaseEvent.objects.create(case=case, kind=CaseEvent.Kind.LINK, created_at=timezone.now(),
                             body=f"Stripe customer {customer.id} matched by the requester's "
                                  "email (unverified: a specialist confirms it before money "
                                  "can move)", data={"customer": customer.id})
    CaseEvent.objects.create(
        case=case, kind=CaseEvent.Kind.MONEY, created_at=timezone.now(),
        body=f"Invoice write-off of 60.00 USD outside the console ({world['open'].id}, "
             "uncollectible).", data={"stripe_object_id": world["open"].id, "external": True})


def _every_audit_action(world, actors):
    """One audit event of each action the console records and the world has not, about
    what such an event is about: the trail's pages read every action."""
    recorded = set(AuditEvent.objects.values_list("action", flat=True).distinct())
    for action in sorted(set(audit_actions()) - recorded):
        record(action=action, **_about(action, world, actors))


# The objects the console's own actions are about, by action or by kind.
ABOUT = {
    "auth": ("user", None), "auth.login_failed": ("user", "somebody"),
    "auth.locked_out": ("user", "somebody"),
    "access.denied": ("url", "GET /approvals/"), "audit": ("audit_export", 1),
    "integrations.inbound_event_retried": ("inbound_event", 7),
    "integrations": ("zendesk_ticket", 4242),
    "policy.currency_limit_set": ("currency_limit", "usd"),
    "policy.role_limit_set": ("role_limit", "billing_specialist usd"),
    "policy.reason_code_added": ("reason_code", "duplicate_charge"),
    "policy.reason_code_changed": ("reason_code", "billing_error"),
    "policy.rules_set": ("money_policy", 1), "user": ("user", "u-tier2"),
    "intake": ("intake_rule", 1), "sla": ("sla_targets", "all"),
    "handover": ("handover_note", 1), "reconciliation": ("reconciliation_run", 1),
}


def _about(action, world, actors):
    kind = action.partition(".")[0]
    case, pending, customer = world["case"], world["pending"], world["customer"]
    on_case = {"case_id": case.pk, "zendesk_ticket_id": case.zendesk_ticket_id}
    if kind in slugs() and action.endswith(".external"):
        return {"source": "stripe", "object_type": "invoice_status",
                "object_id": world["open"].id, "stripe_object_id": world["open"].id,
                "amount": 6_000, "currency": "usd", "reason": "Made outside the console.",
                **on_case}
    if kind in slugs():
        by_policy = action.endswith(".auto_approved")
        return {"actor": None if by_policy else actors["finance"],
                "actor_role": POLICY_ROLE if by_policy else "", "object_type": "money_action",
                "object_id": pending.pk, "amount": pending.amount, "currency": pending.currency,
                "stripe_object_id": pending.stripe_target_id, **on_case,
                "after": {"customer": customer.id, "reason_code": "courtesy"}}
    if kind == "case":
        return {"actor": actors["specialist"], "object_type": "case", "object_id": case.pk,
                "reason": f"Stripe customer {customer.id} matched by the requester's email",
                **on_case}
    object_type, object_id = ABOUT.get(action) or ABOUT.get(kind) or ("", "")
    actor = actors["specialist"] if kind == "auth" else actors["admin"]
    return {"actor": actor, "actor_role": "admin,finance", "object_type": object_type,
            "object_id": actor.pk if object_id is None else object_id,
            "reason": f"Filters: role=billing_specialist&action=refund.requested&kind=refund"
                      f"&customer={customer.id}&case={case.pk}&reason=billing_error"
            if kind == "audit" else ""}


def _first_of_each_kind(*, exclude):
    """The first event of each kind of action, of those not in `exclude`: each detail page
    of the trail is one template, read once per kind."""
    firsts = {}
    for pk, kind in AuditEvent.objects.exclude(pk__in=exclude).order_by("pk").values_list(
            "pk", "kind"):
        firsts.setdefault(kind, pk)
    return set(firsts.values())


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
            for slug in [*slugs(family=Family.CHANGES_PLAN),
                         SUBSCRIPTION_CANCEL_WITH_REFUND.slug]],
        "audit:event": [{"pk": pk} for pk in sorted(world["audit_events"])],
        "guidance:question": [{"pk": pk} for pk in Question.objects.values_list("pk", flat=True)],
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
        "money_actions": pending, "finance": pending,
        "guidance": Question.objects.earliest("pk").pk,
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
    yield from trail_pages()


def trail_pages():
    """Every page of the audit trail, newest first, as its "Older events" link opens them,
    and the trail filtered by a choice of each list, each shown selected."""
    ids = list(AuditEvent.objects.order_by("-id").values_list("id", flat=True))
    yield from (f"/audit/?before={ids[at]}" for at in range(PAGE_SIZE - 1, len(ids), PAGE_SIZE))
    yield ("/audit/?role=billing_specialist&action=refund.requested&kind=refund"
           "&reason=courtesy&source=stripe")


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
        (f"/actions/invoice/{case}/{world['draft'].id}/invoice_edit/",
         {"remove": [world["draft"].lines.data[0].id], "add_0_description": "Onboarding",
          "add_0_amount": "12.50", "finalize": "on"}),
        (f"/actions/balance/{case}/{world['customer'].id}/",
         {"direction": "balance_credit", "amount": "5.00", "currency": "usd",
          "description": "Goodwill"}),
        (f"/actions/subscription/{case}/{world['subscription'].id}/subscription_cancel_at_end/",
         {}),
        (f"/actions/subscription/{case}/{world['subscription'].id}/"
         f"{SUBSCRIPTION_CANCEL_WITH_REFUND.slug}/",
         {"refund": "unused", "at": str(int(time.time()))}),
    ]


NOT_PAGES = ("/api/v1/", "/api/schema/", "/webhooks/", "/admin/")
ROLES = (Role.SPECIALIST, Role.TIER2, Role.FINANCE, Role.ADMIN)


def walk(world, actors):
    """(who and where, status, HTML) of every page of the walk, as each role reads it:
    each path, each path as htmx asks for it, and each money action's confirm page."""
    users = {Role.SPECIALIST: actors["specialist"], Role.TIER2: actors["tier2"],
             Role.FINANCE: actors["finance"], Role.ADMIN: actors["admin"]}
    walked = list(pages(world))
    assert len(walked) > 60
    for role in ROLES:
        client = signed_in(users[role])
        responses = [(path, client.get(path)) for path in walked]
        responses += [(f"{path} (hx)", client.get(path, HTTP_HX_REQUEST="true"))
                      for path in walked]
        responses += [(f"{path} (preview)", client.post(path, {**form, **REASON,
                                                               "preview": "1"}))
                      for path, form in previews(world)]
        for path, response in responses:
            if "text/html" in response.get("Content-Type", ""):
                yield f"{role.value} {path}", response.status_code, response.content.decode()


def test_no_page_shows_a_raw_id_a_code_or_a_case_by_row_id(world, actors):
    forbidden = forbidden_codes(usernames=[user.username for user in actors.values()])
    found = []
    for where, status, html in walk(world, actors):
        found += [f"{where} [{status}] {what}: …{context}…"
                  for what, context in forbidden.found(visible_parts(html))]
    assert not found, "\n".join(sorted(set(found)))


def test_every_action_of_the_trail_is_read_in_words_on_its_pages(world, finance):
    """Each action the console records is on the trail, and its row says it in words."""
    client, shown = signed_in(finance), {}
    for path in ["/audit/", *trail_pages()]:
        html = client.get(path).content.decode()
        shown.update(re.findall(
            r'data-action="([^"]+)">.*?<td class="what"><a href="/audit/\d+/">([^<]+)</a>',
            html, re.DOTALL))
    assert set(shown) >= set(audit_actions())
    assert shown["subscription_change.requested"] == "Plan change requested"
    assert shown["refund.auto_approved"] == "Refund approved by the policy"
    assert shown["auth.login"] == "Signed in"


def test_no_page_gives_two_elements_one_id(world, actors):
    found = [f"{where} [{status}]: {', '.join(ids)}" for where, status, html in walk(world, actors)
             if (ids := duplicate_ids(html))]
    assert not found, "\n".join(found)


def test_the_tickets_notes_name_objects_and_reasons_in_words(world):
    notes = list(WriteBack.objects.exclude(note="").values_list("note", flat=True))
    found = [context for note in notes for _, context in forbidden_codes().found([note])]

    assert len(notes) >= 3
    assert not found, found
    assert any(note.startswith("Refunded 30.00 USD of the charge of 30.00 USD on ")
               and note.count("(courtesy)") for note in notes), notes

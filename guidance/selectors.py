"""Reads for guidance: playbooks and their search and diffs, a case's guidance and billing
facts, and the questions queue."""

import difflib

from django.core.cache import cache
from django.db.models import Q
from django.utils import timezone

from billing_console.access import Capability, has_capability
from billing_console.integrations.stripe.errors import StripeGatewayError, in_words
from cases.models import StripeLink
from cases.selectors import cases_visible_to, stripe_snapshot
from guidance.facts import stripe_facts, suggested_category
from guidance.models import CaseGuidance, Playbook, Question
from money_actions.models import IN_FLIGHT_STATES, MoneyAction

OPEN_COUNT_SECONDS = 15
ESCALATIONS_SHOWN = 20


def playbooks(*, query=""):
    found = Playbook.objects.all()
    for word in query.split()[:10]:
        found = found.filter(Q(title__icontains=word) | Q(body__icontains=word))
    return found


def playbook_titles(slugs):
    """{slug: title} of the playbooks among `slugs`, in one query: how the audit trail
    names a playbook its events keep by slug."""
    return dict(Playbook.objects.filter(slug__in=set(slugs)).values_list("slug", "title"))


def playbooks_for(category):
    return Playbook.objects.filter(category=category)


def version_diff(playbook, number, against=None):
    """(version, the one compared with, unified diff lines as (kind, text)), where kind
    is "add", "remove", "context" or "header"."""
    version = playbook.versions.get(number=number)
    base = playbook.versions.filter(number=against if against else number - 1).first()
    before = f"# {base.title}\n{base.body}" if base else ""
    after = f"# {version.title}\n{version.body}"
    lines = difflib.unified_diff(before.splitlines(), after.splitlines(),
                                 f"version {base.number if base else 0}",
                                 f"version {version.number}", lineterm="")
    return version, base, [(_kind(line), line) for line in lines]


def _kind(line):
    if line.startswith(("+++", "---", "@@")):
        return "header"
    return {"+": "add", "-": "remove"}.get(line[:1], "context")


def case_guidance(case):
    return CaseGuidance.objects.filter(case=case).select_related("author", "playbook")


def open_questions():
    """Oldest first: the longest wait is on top."""
    return Question.objects.filter(answered_at__isnull=True).select_related(
        "asker", "case").order_by("created_at")


def forget_open_question_count():
    cache.delete("guidance:open-questions")


def open_question_count():
    """Shown in every specialist's navigation, so read at most every 15 seconds."""
    return cache.get_or_set("guidance:open-questions",
                            lambda: Question.objects.filter(answered_at__isnull=True).count(),
                            OPEN_COUNT_SECONDS)


def recently_answered(limit=20):
    return Question.objects.filter(answered_at__isnull=False).select_related(
        "asker", "answered_by", "case", "promoted_to").order_by("-answered_at")[:limit]


def questions_of(user):
    """The user's own questions, but none on a case they can no longer see."""
    return (Question.objects.filter(asker=user)
            .filter(Q(case__isnull=True) | Q(case__in=cases_visible_to(user)))
            .select_related("case", "answered_by").order_by("-created_at"))


def questions_on(case, *, viewer=None):
    """The questions on a case: all of them for specialists, or only `viewer`'s own (a
    Tier 2 agent sees no other agent's questions)."""
    questions = Question.objects.filter(case=case).select_related("asker", "answered_by")
    if viewer is not None and not has_capability(viewer, Capability.WRITE_GUIDANCE):
        questions = questions.filter(asker=viewer)
    return questions.order_by("-created_at")


def escalations_of(user, *, limit=ESCALATIONS_SHOWN):
    """The cases a Tier 2 agent (or their Zendesk group) escalated, most recently changed
    first: their home page lists them."""
    return (cases_visible_to(user).only("pk", "zendesk_ticket_id", "subject", "state",
                                        "updated_at")
            .order_by("-updated_at", "-id")[:limit])


def pending_actions_on(case):
    """The case's money actions not yet settled (waiting for approval, approved, on their
    way to Stripe), oldest first: what a question about the case may be about."""
    return (MoneyAction.objects.filter(case=case, state__in=IN_FLIGHT_STATES)
            .order_by("created_at"))


def is_overdue(question, now=None):
    return question.is_open and question.answer_due < (now or timezone.now())


def case_facts(case):
    """(facts, error): the billing facts of the case's customer, from the briefly cached
    Stripe snapshot, or a message when Stripe is down or refuses; none until the case's
    customer is verified (an id typed into the ticket, or an email match, may be someone
    else's)."""
    if not case.stripe_customer_id or case.stripe_link != StripeLink.VERIFIED:
        return [], ""
    try:
        snapshot = stripe_snapshot(customer_id=case.stripe_customer_id)
    except StripeGatewayError as error:
        return [], in_words(error, unavailable="the billing facts cannot be shown")
    return stripe_facts(snapshot), ""


def suggested_playbook(case, facts):
    """The playbook for what the facts say the case is about, else for its category."""
    category = suggested_category(facts, case.category)
    return playbooks_for(category).first() or playbooks_for(case.category).first()

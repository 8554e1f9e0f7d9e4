"""Writes for guidance: playbooks and their versions, guidance on a case, questions and
answers. What reaches a Zendesk ticket goes through the case's write-back queue."""

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from audit.services import Origin, record
from billing_console.exceptions import ApplicationError
from billing_console.notes import check_note_length
from cases.models import Category
from cases.services import write_back_queue
from guidance.models import CaseGuidance, Playbook, PlaybookVersion, Question
from guidance.selectors import forget_open_question_count

MAX_TEXT = 50_000

# The audit actions of guidance, in words (`billing_console.names`).
AUDIT_KINDS = {"guidance": "Guidance"}
AUDIT_ACTIONS = {"guidance.added": "Guidance for Tier 2 written",
                 "guidance.playbook_saved": "Playbook saved"}


def audit_actions():
    """({kind: label}, {action: label}) for `billing_console.names`."""
    return AUDIT_KINDS, AUDIT_ACTIONS


@transaction.atomic
def playbook_save(*, title, category, body, author, playbook=None, origin=None):
    """Create a playbook, or change one; either way a new version is kept, with its
    `guidance.playbook_saved` audit event. Returns the `Playbook`, whose `version_added`
    says whether this save kept a new version: one whose title, category and text are
    already those given (by a save a moment before, it may be) is returned unchanged.
    `origin` says where the request came from (the pages unless given)."""
    title, body = _required(title, "title"), _required(body, "text")
    if category not in Category.values:
        raise ApplicationError("Choose a category.", "category")
    now = timezone.now()
    if playbook is None:
        playbook = Playbook(title=title, category=category, body=body, updated_at=now,
                            updated_by=author)
        _insert_with_free_slug(playbook)
    else:
        playbook = Playbook.objects.select_for_update().get(pk=playbook.pk)
        if (playbook.title, playbook.category, playbook.body) == (title, category, body):
            playbook.version_added = False
            return playbook
        playbook.title, playbook.category, playbook.body = title, category, body
        playbook.updated_at, playbook.updated_by = now, author
        playbook.save()
    playbook.version_added = True
    number = (playbook.versions.order_by("-number").values_list("number", flat=True).first()
              or 0) + 1
    PlaybookVersion.objects.create(playbook=playbook, number=number, title=title, body=body,
                                   author=author, created_at=playbook.updated_at)
    origin = origin or Origin()
    record(action="guidance.playbook_saved", actor=author, ip=origin.ip, source=origin.source,
           object_type="playbook", object_id=playbook.slug,
           after={"version": number, "title": title, "category": category})
    return playbook


def _insert_with_free_slug(playbook):
    """Insert `playbook` under the first slug of its title no playbook has. Another save
    of the same title may take that slug between the look and the insert (it waits for
    that save's commit): the insert then tries the next one."""
    while True:
        playbook.slug = _free_slug(playbook.title)
        try:
            with transaction.atomic():
                playbook.save(force_insert=True)
        except IntegrityError:
            if not Playbook.objects.filter(slug=playbook.slug).exists():
                raise  # not the slug's conflict
        else:
            return


def _free_slug(title):
    base = slugify(title)[:100] or "playbook"
    slug, number = base, 2
    while Playbook.objects.filter(slug=slug).exists():
        slug, number = f"{base}-{number}", number + 1
    return slug


@transaction.atomic
def case_guidance_add(*, case, body, author, playbook=None, post_to_zendesk=False,
                      origin=None):
    """Keep `author`'s guidance for Tier 2 on `case` (Markdown), with its `guidance.added`
    audit event; with `post_to_zendesk`, it also goes to the ticket as an internal note.
    Returns the `CaseGuidance`. `origin` says where the request came from (the pages
    unless given)."""
    guidance = CaseGuidance.objects.create(
        case=case, body=_required(body, "guidance"), playbook=playbook, author=author,
        posted_to_zendesk=post_to_zendesk, created_at=timezone.now())
    origin = origin or Origin()
    record(action="guidance.added", actor=author, ip=origin.ip, source=origin.source,
           object_type="case", object_id=case.pk, case_id=case.pk,
           zendesk_ticket_id=case.zendesk_ticket_id,
           after={"guidance": guidance.pk, "playbook": playbook.slug if playbook else None,
                  "posted_to_zendesk": post_to_zendesk})
    if post_to_zendesk:
        write_back_queue(case, note=f"Guidance for Tier 2 from billing:\n\n{guidance.body}",
                         markdown=True)
    return guidance


@transaction.atomic
def question_ask(*, asker, body, case=None):
    check_note_length(body, what="A question")
    now = timezone.now()
    question = Question.objects.create(
        asker=asker, case=case, body=_required(body, "question"), created_at=now,
        answer_due=now + timedelta(minutes=settings.QUESTION_ANSWER_TARGET_MINUTES))
    transaction.on_commit(forget_open_question_count)
    return question


@transaction.atomic
def question_answer(*, question, answer, answered_by):
    """Answer once; on a case, the answer also reaches the ticket as an internal note."""
    check_note_length(answer, what="An answer")
    question = Question.objects.select_for_update().get(pk=question.pk)
    if not question.is_open:
        raise ApplicationError("This question was answered already.", "answered", status=409)
    question.answer = _required(answer, "answer")
    question.answered_by, question.answered_at = answered_by, timezone.now()
    question.save(update_fields=["answer", "answered_by", "answered_at"])
    transaction.on_commit(forget_open_question_count)
    if question.case_id:
        write_back_queue(question.case, note=f"Billing answered Tier 2's question.\n\n"
                                             f"Q: {question.body}\n\nA: {question.answer}")
    return question


@transaction.atomic
def question_promote(*, question, playbook, author):
    """Add an answered question to a playbook, as a new version of it."""
    question = Question.objects.select_for_update().get(pk=question.pk)
    if question.is_open:
        raise ApplicationError("Answer the question before adding it to a playbook.",
                               "unanswered", status=409)
    if question.promoted_to_id:
        raise ApplicationError("This answer is in a playbook already.", "promoted",
                               status=409)
    body = f"{playbook.body.rstrip()}\n\n### {question.body.strip()}\n\n{question.answer.strip()}\n"
    playbook = playbook_save(playbook=playbook, title=playbook.title,
                             category=playbook.category, body=body, author=author)
    question.promoted_to = playbook
    question.save(update_fields=["promoted_to"])
    return playbook


def _required(text, what):
    text = (text or "").strip()
    if not text:
        raise ApplicationError(f"The {what} is required.", f"{what}_required")
    if len(text) > MAX_TEXT:
        raise ApplicationError(f"The {what} is longer than {MAX_TEXT:,} characters.", what)
    return text

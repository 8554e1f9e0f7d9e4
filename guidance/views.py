"""Guidance pages: playbooks (read by everyone, written by specialists, every version kept
and compared), Tier 2's questions and billing's answers, and guidance on a case.

Tier 2 writes only questions; every other write needs WRITE_GUIDANCE (specialists).
Bad input and a service's refusal are messages on the page, never a 500.
"""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from billing_console.access import Capability, has_capability, requires
from billing_console.exceptions import ApplicationError, PageNotFound
from billing_console.forms import first_error
from billing_console.parsing import whole_number
from cases.models import Case, Category
from cases.selectors import cases_visible_to
from guidance import selectors, services
from guidance.forms import (
    AnswerForm,
    CaseGuidanceForm,
    PlaybookForm,
    PromoteForm,
    QuestionForm,
)
from guidance.models import Playbook, Question


@requires(Capability.READ_GUIDANCE)
@require_safe
def index(request):
    query = request.GET.get("q", "").strip()[:200]
    found = selectors.playbooks(query=query)
    labels = dict(Category.choices)
    grouped = {}
    for playbook in found:
        grouped.setdefault(labels[playbook.category], []).append(playbook)
    user = request.user
    return render(request, "guidance/index.html", {
        "query": query, "grouped": grouped,
        "can_find_case": has_capability(user, Capability.VIEW_CASE_SUMMARY),
        "can_ask": has_capability(user, Capability.ASK_QUESTIONS),
        "can_write": has_capability(user, Capability.WRITE_GUIDANCE),
        "my_questions": selectors.questions_of(user)[:20]
        if has_capability(user, Capability.ASK_QUESTIONS) else [],
        "escalations": selectors.escalations_of(user)
        if has_capability(user, Capability.VIEW_CASE_SUMMARY) else [],
        "question_form": QuestionForm()})


@requires(Capability.READ_GUIDANCE)
@require_safe
def playbook(request, slug):
    playbook = get_object_or_404(Playbook, slug=slug)
    return render(request, "guidance/playbook.html", {
        "playbook": playbook, "versions": playbook.versions.select_related("author"),
        "can_write": has_capability(request.user, Capability.WRITE_GUIDANCE)})


@requires(Capability.READ_GUIDANCE)
@require_safe
def version(request, slug, number):
    playbook = get_object_or_404(Playbook, slug=slug)
    against = request.GET.get("against", "")
    try:
        shown, base, lines = selectors.version_diff(
            playbook, number, whole_number(against))
    except playbook.versions.model.DoesNotExist:
        raise PageNotFound("This playbook has no such version. Its page lists the versions "
                           "it has.") from None
    return render(request, "guidance/version.html", {
        "playbook": playbook, "version": shown, "base": base, "lines": lines})


@requires(Capability.WRITE_GUIDANCE)
@require_http_methods(["GET", "POST"])
def playbook_edit(request, slug=None):
    existing = get_object_or_404(Playbook, slug=slug) if slug else None
    form = PlaybookForm(request.POST or None, initial={
        "title": existing.title, "category": existing.category, "body": existing.body,
    } if existing else None)
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.playbook_save(playbook=existing, author=request.user,
                                           **form.cleaned_data)
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, f"“{saved.title}” saved as a new version."
                             if saved.version_added else f"“{saved.title}” already says this; "
                             "no new version.")
            return redirect("guidance:playbook", slug=saved.slug)
    status = 400 if request.method == "POST" else 200
    return render(request, "guidance/playbook_edit.html",
                  {"form": form, "playbook": existing}, status=status)


@requires(Capability.ASK_QUESTIONS)
@require_POST
def ask(request):
    form = QuestionForm(request.POST)
    if not form.is_valid():
        messages.error(request, first_error(form))
        return redirect(_back_from_question(form))
    case = None
    if form.cleaned_data["case"]:
        # A Tier 2 agent asks only about a case they may see; any other is "not found".
        case = get_object_or_404(cases_visible_to(request.user), pk=form.cleaned_data["case"])
    services.question_ask(asker=request.user, body=form.cleaned_data["body"], case=case)
    messages.success(request, "Question sent to billing. The answer will show here"
                              f"{' and on the ticket' if case else ''}.")
    return redirect(_back_from_question(form))


def _back_from_question(form):
    case_id = form.cleaned_data.get("case") if hasattr(form, "cleaned_data") else None
    return f"/cases/{case_id}/summary/" if case_id else "/guidance/"


@requires(Capability.WRITE_GUIDANCE)
@require_safe
def questions(request):
    return render(request, "guidance/questions.html", {
        "open": selectors.open_questions(), "answered": selectors.recently_answered(),
        "now": timezone.now()})


@requires(Capability.READ_GUIDANCE)
@require_safe
def question(request, pk):
    """The asker, and specialists, see a question; nobody else knows it exists, nor does
    the asker once its case is no longer theirs to see."""
    question = get_object_or_404(Question.objects.select_related("asker", "case"), pk=pk)
    can_answer = has_capability(request.user, Capability.WRITE_GUIDANCE)
    if not can_answer and not selectors.questions_of(request.user).filter(pk=pk).exists():
        raise PageNotFound("There is no such question, or it is not yours to see: its case may "
                           "no longer be one you escalated.")
    # Who may read money actions sees the case's unsettled ones: what the question may be
    # about. Tier 2 never sees them.
    can_read_money = has_capability(request.user, Capability.VIEW_MONEY_ACTIONS)
    pending = selectors.pending_actions_on(question.case) \
        if question.case_id and can_read_money else None
    return render(request, "guidance/question.html", {
        "question": question, "can_answer": can_answer, "answer_form": AnswerForm(),
        "promote_form": PromoteForm(), "overdue": selectors.is_overdue(question),
        "pending_actions": pending})


@requires(Capability.WRITE_GUIDANCE)
@require_POST
def answer(request, pk):
    question = get_object_or_404(Question, pk=pk)
    form = AnswerForm(request.POST)
    _apply(request, form, lambda data: services.question_answer(
        question=question, answer=data["answer"], answered_by=request.user),
        "Answer sent; the asker sees it"
        f"{', and the ticket gets it as an internal note' if question.case_id else ''}.")
    return redirect("guidance:question", pk=question.pk)


@requires(Capability.WRITE_GUIDANCE)
@require_POST
def promote(request, pk):
    question = get_object_or_404(Question, pk=pk)
    form = PromoteForm(request.POST)
    _apply(request, form, lambda data: services.question_promote(
        question=question, playbook=data["playbook"], author=request.user),
        "The question and its answer are now in the playbook, as a new version.")
    return redirect("guidance:question", pk=question.pk)


@requires(Capability.WRITE_GUIDANCE)
@require_POST
def add_case_guidance(request, case_pk):
    case = get_object_or_404(Case, pk=case_pk)
    form = CaseGuidanceForm(request.POST)
    _apply(request, form, lambda data: services.case_guidance_add(
        case=case, body=form.text(), author=request.user, playbook=data["playbook"],
        post_to_zendesk=data["post_to_zendesk"]), "Guidance saved; Tier 2 sees it on the case.")
    return redirect("cases:case", pk=case.pk)


def _apply(request, form, write, done):
    if not form.is_valid():
        messages.error(request, first_error(form))
        return
    try:
        write(form.cleaned_data)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, done)

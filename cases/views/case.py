"""The case page, its actions, its lazily loaded Stripe panel, and Tier 2's read-only summary.

Who may do what, enforced here on the server whatever the page shows:
- VIEW_QUEUE (specialists, finance) opens the page and the Stripe panel;
- WORK_CASES (specialists) is needed for every POST;
- VIEW_CASE_SUMMARY (Tier 2) opens only the summary: state, category and resolution, with
  no Stripe data, no console notes and no controls, and only of the cases they or their
  Zendesk group escalated (`cases_visible_to`); any other case is "not found". They reach
  it by the ticket number (`find_case`), from their home page's list, or by a link to the
  case page, which takes them to the summary.

The views stay thin: reads go through `cases.selectors`, writes through `cases.services`,
and a refusal (`ApplicationError`) or bad input becomes a message on the page, never a 500.
"""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST, require_safe

from billing_console.access import AnyOf, Capability, has_capability, requires
from billing_console.exceptions import ApplicationError, PageNotFound
from billing_console.forms import first_error
from billing_console.integrations.stripe.errors import StripeGatewayError, in_words
from billing_console.names import in_sentence
from billing_console.parsing import WHOLE_NUMBER_MAX_DIGITS, too_many_digits, whole_number
from billing_console.text import QUOTE_MAX_CHARS, quoted
from cases import services
from cases.forms import (
    AssignForm,
    CategoryForm,
    NoteForm,
    PriorityForm,
    ResolveForm,
    StripeCustomerForm,
    TransitionForm,
)
from cases.models import Case, Category, Priority, State, StripeLink
from cases.selectors import (
    STRIPE_SNAPSHOT_SECONDS,
    case_replies,
    case_sla_clocks,
    case_stripe_names,
    case_ticket_links,
    case_timeline,
    case_write_back_problems,
    cases_visible_to,
    resolution_drafted,
    stripe_snapshot,
)
from credit_memos.selectors import console_credit_note_ids
from guidance.facts import stripe_facts
from guidance.forms import CaseGuidanceForm, QuestionForm
from guidance.models import Playbook
from guidance.selectors import case_facts, case_guidance, questions_on, suggested_playbook
from guidance.suggestions import charge_rows, duplicate_runs, suggested_actions
from money_actions.selectors import actions_on

# --- Pages ----------------------------------------------------------------------------------

# Whether the case exists is not said: it may be another team's.
NOT_YOUR_CASE = ("This case is not one you can open: you see the cases you escalated and "
                 "those your Zendesk group escalated. Find yours by its ticket number on the "
                 "Guidance page.")


@requires(AnyOf({Capability.VIEW_QUEUE, Capability.VIEW_CASE_SUMMARY}))
@require_safe
def case_page(request, pk):
    """The case; a Tier 2 agent following a link to it (from a ticket, a question, a
    colleague) lands on its summary, which is "not found" unless the case is theirs."""
    if not has_capability(request.user, Capability.VIEW_QUEUE):
        return redirect("cases:summary", pk=pk)
    return _render_case(request, _case(pk))


@requires(Capability.VIEW_CASE_SUMMARY)
@require_safe
def case_summary(request, pk):
    case = cases_visible_to(request.user).only(
        "zendesk_ticket_id", "subject", "state", "category", "resolution_code",
        "resolution_summary", "resolved_at", "stripe_customer_id", "stripe_link",
    ).filter(pk=pk).first()
    if case is None:
        raise PageNotFound(NOT_YOUR_CASE)
    facts, facts_error = case_facts(case)
    return render(request, "cases/case_readonly.html", {
        "case": case, "guidance": case_guidance(case),
        "questions": questions_on(case, viewer=request.user),
        "facts": facts, "facts_error": facts_error,
        "playbook": suggested_playbook(case, facts),
        "question_form": QuestionForm(initial={"case": case.pk})})


@requires(Capability.VIEW_CASE_SUMMARY)
@require_safe
def find_case(request):
    """Tier 2 knows the Zendesk ticket they escalated: its number opens the case summary.
    A refusal gives what was typed back cut short, in the field too."""
    ticket = request.GET.get("ticket", "").strip().lstrip("#")
    ticket_id = whole_number(ticket)
    if ticket and ticket_id is None:
        return render(request, "cases/find_case.html", {
            "ticket": ticket[:QUOTE_MAX_CHARS], "quoted_ticket": quoted(ticket),
            "too_long": too_many_digits(ticket), "max_digits": WHOLE_NUMBER_MAX_DIGITS,
        }, status=400)
    case_id = (cases_visible_to(request.user).filter(zendesk_ticket_id=ticket_id)
               .values_list("pk", flat=True).first() if ticket_id is not None else None)
    if case_id is not None:
        return redirect("cases:summary", pk=case_id)
    return render(request, "cases/find_case.html", {"ticket": ticket}, status=404)


def _case(pk):
    return get_object_or_404(Case.objects.select_related("assignee"), pk=pk)


def _render_case(request, case, *, note_form=None, resolve_form=None, status=200):
    can_work = has_capability(request.user, Capability.WORK_CASES)
    resolving = _resolving(request.user, case) if can_work and case.is_open else {}
    context = {
        "case": case,
        "can_work": can_work,
        "transitions": _transitions_from(case.state),
        "clocks": case_sla_clocks(case=case),
        "timeline": case_timeline(case=case, before=_event_id(request.GET.get("before"))),
        "stripe_names": case_stripe_names(case),
        "write_back_problems": case_write_back_problems(case=case),
        "ticket_links": case_ticket_links(case=case),
        "categories": Category.choices,
        "priorities": Priority.choices,
        "note_form": note_form or NoteForm(),
        "resolve_form": resolve_form or ResolveForm(initial=resolving.get("initial")),
        "reply_templates": resolving.get("templates", []),
        "resolution_draft": resolving.get("draft"),
        "guidance": case_guidance(case),
        "questions": questions_on(case),
        "money_actions": actions_on(case),
        "guidance_form": _guidance_form(case) if can_work else None,
    }
    return render(request, "cases/case.html", context, status=status)


def _resolving(user, case):
    """What the resolution form starts from, drafted from the money moved on the case:
    {"templates": the reply templates filled in for its newest action, "draft": the
    `ResolutionDraft`, "initial": the form's values}."""
    facts, templates = case_replies(case=case, viewer=user)
    draft = resolution_drafted(facts=facts, templates=templates)
    return {"templates": templates, "draft": draft,
            "initial": {"code": draft.code, "summary": draft.summary,
                        "public_reply": draft.reply}}


def _guidance_form(case):
    """The form, with the playbooks read once: the list to start from, and the one for the
    case's category chosen."""
    choices = list(Playbook.objects.only("pk", "title", "category"))
    suggested = next((book for book in choices if book.category == case.category), None)
    form = CaseGuidanceForm(initial={"playbook": suggested.pk if suggested else None})
    form.fields["playbook"].choices = [("", "No playbook"), *((book.pk, book.title)
                                                       for book in choices)]
    return form


def _transitions_from(state):
    """The states a specialist may move the case to, in the workflow's order."""
    allowed = services.TRANSITIONS[State(state)]
    return [target for target in State if target in allowed]


def _event_id(value):
    return whole_number(value)


# --- The Stripe panel (htmx partial) --------------------------------------------------------


@requires(Capability.VIEW_QUEUE)
@require_safe
def stripe_panel(request, pk):
    case = get_object_or_404(Case, pk=pk)
    context = {"case": case, "can_work": has_capability(request.user, Capability.WORK_CASES),
               "can_move_money": has_capability(request.user, Capability.REQUEST_MONEY_ACTION),
               "cache_seconds": STRIPE_SNAPSHOT_SECONDS}
    if case.stripe_customer_id and case.stripe_link != StripeLink.AMBIGUOUS:
        try:
            snapshot = stripe_snapshot(customer_id=case.stripe_customer_id)
        except StripeGatewayError as error:
            context["stripe_error"] = in_words(error, unavailable="its data cannot be shown",
                                               refused="Stripe refused to show this customer")
        else:
            facts = stripe_facts(snapshot)
            runs = duplicate_runs(snapshot)
            context.update(snapshot=snapshot, charges=charge_rows(case, snapshot, runs),
                           credit_notes=_credit_notes_with_invoice_numbers(snapshot),
                           voidable_notes=console_credit_note_ids(case.stripe_customer_id),
                           facts=facts, playbook=suggested_playbook(case, facts),
                           suggestions=suggested_actions(case, snapshot, runs=runs)
                           if context["can_move_money"] else [])
    return render(request, "cases/_stripe_panel.html", context)


def _credit_notes_with_invoice_numbers(snapshot):
    """(credit note, its invoice's number or None) for each note: an invoice is named by
    the number the customer has on it."""
    numbers = {invoice.id: invoice.number for invoice in snapshot.invoices}
    return [(note, numbers.get(note.invoice)) for note in snapshot.credit_notes]


# --- Actions: each a POST that calls one service, then redirects back ------------------------


def _act(request, pk, form_class, apply):
    """Run a one-field action; bad input and a service's refusal become an error message."""
    case = get_object_or_404(Case, pk=pk)
    form = form_class(request.POST)
    if not form.is_valid():
        messages.error(request, first_error(form))
        return redirect("cases:case", pk=case.pk)
    try:
        done = apply(case, form.cleaned_data, request.user)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, done)
    return redirect("cases:case", pk=case.pk)


def _submit(request, pk, form_class, form_name, apply):
    """Like `_act`, for the forms people type into: on an error the page comes back with
    the form as it was sent and the message next to it, so nothing typed is lost."""
    case = _case(pk)
    form = form_class(request.POST)
    if form.is_valid():
        try:
            done = apply(case, form.cleaned_data, request.user)
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, done)
            return redirect("cases:case", pk=case.pk)
    return _render_case(request, case, status=400, **{form_name: form})


@requires(Capability.WORK_CASES)
@require_POST
def transition(request, pk):
    def apply(case, data, actor):
        case = services.case_transition(case=case, to_state=data["to_state"], actor=actor)
        return f"The case is now {in_sentence(case.get_state_display())}."

    return _act(request, pk, TransitionForm, apply)


@requires(Capability.WORK_CASES)
@require_POST
def assign(request, pk):
    def apply(case, data, actor):
        assignee = actor if data["assignee"] == "me" else None
        services.case_assign(case_ids=[case.pk], assignee=assignee, actor=actor)
        return "The case is assigned to you." if assignee else "The case is unassigned."

    return _act(request, pk, AssignForm, apply)


@requires(Capability.WORK_CASES)
@require_POST
def set_category(request, pk):
    def apply(case, data, actor):
        case = services.case_set_category(case=case, category=data["category"], actor=actor)
        return f"Category set to {case.get_category_display()}."

    return _act(request, pk, CategoryForm, apply)


@requires(Capability.WORK_CASES)
@require_POST
def set_priority(request, pk):
    def apply(case, data, actor):
        case = services.case_set_priority(case=case, priority=data["priority"], actor=actor)
        return f"Priority set to {case.get_priority_display()}; the SLA clocks follow it."

    return _act(request, pk, PriorityForm, apply)


@requires(Capability.WORK_CASES)
@require_POST
def confirm_stripe_customer(request, pk):
    def apply(case, data, actor):
        case = services.case_confirm_stripe_customer(case=case,
                                                     customer_id=data["customer_id"],
                                                     actor=actor)
        name = case_stripe_names(case).get(case.stripe_customer_id, "The Stripe customer")
        return f"{name} is confirmed as this case's Stripe customer."

    return _act(request, pk, StripeCustomerForm, apply)


@requires(Capability.WORK_CASES)
@require_POST
def add_note(request, pk):
    def apply(case, data, actor):
        services.case_add_note(case=case, body=data["body"], actor=actor,
                               post_to_zendesk=data["post_to_zendesk"])
        if data["post_to_zendesk"]:
            return "Note saved; it is on its way to the Zendesk ticket as an internal note."
        return "Note saved."

    return _submit(request, pk, NoteForm, "note_form", apply)


@requires(Capability.WORK_CASES)
@require_POST
def resolve(request, pk):
    def apply(case, data, actor):
        services.case_resolve(case=case, code=data["code"], summary=data["summary"],
                              public_reply=data["public_reply"], actor=actor)
        if data["public_reply"].strip():
            return "Case resolved; Zendesk will get the resolution and the public reply."
        return "Case resolved; Zendesk will get the resolution."

    return _submit(request, pk, ResolveForm, "resolve_form", apply)

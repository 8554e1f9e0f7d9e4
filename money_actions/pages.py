"""The page flow every money action shares on the case page: a form next to the Stripe
object it acts on, a preview with the policy's verdict on each rule, and a confirm button
that carries a one-time key, so a double click requests once.

A kind describes itself with an `ActionPage`; `action_page_view` runs the flow. Stripe is
read before any transaction; the request goes through the kind's service, as the API's
does.
"""

import uuid
from dataclasses import dataclass, field

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render

from audit.services import Origin
from billing_console.exceptions import ApplicationError
from billing_console.integrations.stripe.errors import StripeGatewayError, in_words
from cases.models import Case
from cases.replies import may_see_card, money_facts, reply_sent
from cases.selectors import reply_template_for, reply_templates_for
from money_actions.idempotency import Answer, answer_once
from money_actions.models import State
from money_actions.policy import needs_approval

INVALID = "Check the fields marked below."
# The query parameter of a suggested action's address (`guidance.suggestions`): it names
# what the page is to prepare, never an amount, and the page works it out again from Stripe.
SUGGESTED = "suggested"


@dataclass
class Preview:
    """What confirming would do: the facts in rows, the policy's verdicts, and warnings."""

    verdicts: list
    rows: list = field(default_factory=list)  # (label, value)
    warnings: list = field(default_factory=list)
    confirm_label: str = "Confirm"
    # Lines of Stripe's preview shown as a table under `lines_caption`: dicts of
    # description, period_start and period_end (Unix seconds), amount (minor units) and
    # currency.
    lines: list = field(default_factory=list)
    lines_caption: str = ""

    @property
    def needs_approval(self):
        return needs_approval(self.verdicts)

    @property
    def verdict_rows(self):
        return [verdict.as_json() for verdict in self.verdicts]


class ConfirmKeyForm(forms.Form):
    request_key = forms.UUIDField(widget=forms.HiddenInput)


class ActionPage:
    """One kind of money action on the case page. Subclasses set `kind` (its
    `ActionKind`, whose reader reads the Stripe object), `title`, `form_class` and
    `summary_template`, and say how to preview and request. `preview` and `request` raise
    `ApplicationError` for anything the person must fix."""

    kind = None
    title = ""
    noun = ""  # "refund": the button says "Preview the refund"
    form_class = None
    summary_template = ""
    # What a suggested action's address asks the blank form to prepare (`SUGGESTED`), ""
    # for none; a page that knows no such suggestion, or finds it no longer holds, shows
    # its usual blank form.
    suggested = ""

    def read(self, target_id):
        """The Stripe object the page acts on, as Stripe has it now: its kind's reader."""
        return self.kind.read_target(target_id)

    def form(self, target, data=None):
        return self.form_class(data=data, initial=self.initial(target) if data is None else {})

    def initial(self, target):
        """What a blank form shows; only asked for a blank form, since it may read Stripe."""
        return {}

    def context(self, case, target):
        """What the form page shows about the object, beside the form."""
        return {}

    def facts(self, target):
        """What a blank form offers to do, as a reply to the customer speaks of it (a
        `cases.replies.MoneyFacts`), for a kind whose form has one; None for none."""
        return None

    def preview(self, *, case, target, form, user):
        raise NotImplementedError

    def prepare(self, *, case, target, form, user):
        """Stripe reads the request needs, made before its transaction; handed to
        `request` as `prepared`."""
        return None

    def request(self, *, case, target, form, user, origin, prepared):
        raise NotImplementedError


def action_page_view(page, request, case_pk, target_id):
    case = get_object_or_404(Case, pk=case_pk)
    try:
        target = page.read(target_id)
        if request.method == "GET":
            page.suggested = request.GET.get(SUGGESTED, "")
            return _form_page(request, page, case, target, page.form(target))
        if "confirm" in request.POST:
            return _confirm(request, page, case, target)
        if "edit" in request.POST:
            return _form_page(request, page, case, target, page.form(target, request.POST))
        return _preview(request, page, case, target)
    except StripeGatewayError as error:
        messages.error(request, in_words(error, unavailable="nothing can be read from it, and "
                                                            "nothing has changed"))
    except ApplicationError as error:
        messages.error(request, error.message)
    return redirect("cases:case", pk=case.pk)


def _preview(request, page, case, target):
    form = page.form(target, request.POST)
    try:
        if not form.is_valid():
            raise ApplicationError(INVALID, "invalid")
        preview = page.preview(case=case, target=target, form=form, user=request.user)
    except ApplicationError as error:
        form.add_error(None, error.message)
        return _form_page(request, page, case, target, form, status=400)
    # The confirm form sends back exactly what was previewed.
    carried = [(name, value) for name in form.fields for value in request.POST.getlist(name)]
    return render(request, "money_actions/action_preview.html", {
        "page": page, "case": case, "target": target, "preview": preview, "carried": carried,
        "said": form.requester_words(), "confirm_key": uuid.uuid4()})


def _confirm(request, page, case, target):
    """Request once per confirm key. The checks run after the key's replay check, so a
    second click gets the first answer, not a complaint that nothing is left to do."""
    form, key = page.form(target, request.POST), ConfirmKeyForm(request.POST)
    try:
        if not key.is_valid():
            raise ApplicationError("This confirmation has expired; preview it again.",
                                   "request_key")
        answer = answer_once(
            user=request.user, key=str(key.cleaned_data["request_key"]),
            endpoint=f"{type(page).__name__}:{case.pk}:{target.id}",
            body={name: request.POST.getlist(name) for name in sorted(form.fields)},
            prepare=lambda: _prepare(request, page, case, target, form),
            commit=lambda prepared: _request(request, page, case, target, form, prepared))
    except ApplicationError as error:
        form.add_error(None, error.message)
        return _form_page(request, page, case, target, form, status=400)
    messages.success(request, _requested_message(answer))
    return redirect("cases:case", pk=case.pk)


def _prepare(request, page, case, target, form):
    if not form.is_valid():
        raise ApplicationError(INVALID, "invalid")
    return page.prepare(case=case, target=target, form=form, user=request.user)


def _request(request, page, case, target, form, prepared):
    action = page.request(case=case, target=target, form=form, user=request.user,
                          origin=Origin.of(request), prepared=prepared)
    return Answer(201, {"id": str(action.pk), "state": action.state, "label": action.name})


def _requested_message(answer):
    label = answer.body["label"]
    if answer.body["state"] == State.PENDING_APPROVAL:
        return f"{label} requested. It needs approval and waits for finance; the decision " \
               "will show on this case's timeline."
    return f"{label} requested. It is within policy and on its way to Stripe."


def _form_page(request, page, case, target, form, *, status=200):
    context = {"page": page, "case": case, "target": target, "form": form,
               **page.context(case, target)}
    if "customer_reply" in form.fields:
        context.update(_reply_drafted(request.user, page, case, target, form))
    return render(request, "money_actions/action_form.html", context, status=status)


def _reply_drafted(user, page, case, target, form):
    """{"reply_templates", "chosen_template"} of a form with a reply to the customer: the
    templates filled in for what it offers to do (`page.facts`), as `user` may read them,
    and the one that goes with it, whose words a blank form's reply starts from only while
    the case has no reply held or sent (one reply per case: `cases.replies`)."""
    money = page.facts(target)
    templates = reply_templates_for(case=case, money=money, sees_card=may_see_card(user))
    chosen = reply_template_for(money.resolution_code, money.kind) if money else None
    facts = money_facts(case)
    replied = any(fact.reply for fact in facts if not fact.settled) or reply_sent(facts)
    if chosen and not form.is_bound and not replied:
        form.initial["customer_reply"] = dict(templates)[chosen]
    return {"reply_templates": templates, "chosen_template": chosen}

"""The queue: the specialists' list of cases, its refresh partial, health and assignment."""

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.http import QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from billing_console.access import Capability, Role, has_capability, requires
from billing_console.exceptions import ApplicationError
from cases.models import Category, Priority, State
from cases.selectors import SORTS, QueueFilters, case_queue, queue_health, state_counts
from cases.services import case_assign


@dataclass(frozen=True)
class QueueRow:
    """One row, with its text prepared here: the template only prints, which keeps a page
    of 50 rows cheap to render."""

    pk: int
    url: str
    ticket: int
    subject: str
    requester_name: str
    requester_email: str
    category: str
    priority: str
    priority_label: str
    state: str
    assignee: str
    due_iso: str
    due_text: str
    breached: bool

    @classmethod
    def of(cls, case, base_url, now):
        due = case.resolution_due
        return cls(
            pk=case.pk, url=f"{base_url}{case.pk}/", ticket=case.zendesk_ticket_id,
            subject=case.subject or "(no subject)", requester_name=case.requester_name,
            requester_email=case.requester_email, category=case.get_category_display(),
            priority=case.priority, priority_label=case.get_priority_display(),
            state=case.get_state_display(),
            assignee=case.assignee.get_username() if case.assignee else "—",
            due_iso=due.isoformat() if due else "",
            due_text=timezone.localtime(due).strftime("%b %-d, %H:%M") if due else "—",
            breached=bool(due and due < now),
        )


def _queue_context(request):
    filters = QueueFilters.from_query(request.GET)
    page = case_queue(viewer=request.user, filters=filters, cursor=request.GET.get("after"))
    now = timezone.now()
    base_url = reverse("cases:queue")
    return {
        "filters": filters,
        "rows": [QueueRow.of(case, base_url, now) for case in page.cases],
        "next_query": _with(request.GET, after=page.next_cursor) if page.next_cursor else "",
        "can_assign": has_capability(request.user, Capability.WORK_CASES),
    }


def _with(params, **changes):
    query = params.copy() if isinstance(params, QueryDict) else QueryDict(mutable=True)
    query._mutable = True
    for key, value in changes.items():
        query[key] = value
    return query.urlencode()


@requires(Capability.VIEW_QUEUE)
def queue(request):
    context = _queue_context(request)
    context.update({
        "counts": state_counts(),
        "states": State.choices,
        "categories": Category.choices,
        "priorities": Priority.choices,
        "sorts": SORTS.items(),
        "specialists": get_user_model().objects.filter(
            groups__name=Role.SPECIALIST.value, is_active=True).order_by("username"),
    })
    return render(request, "cases/queue.html", context)


@requires(Capability.VIEW_QUEUE)
def queue_rows(request):
    """The table body alone, for htmx's quiet refresh."""
    return render(request, "cases/_queue_rows.html", _queue_context(request))


@requires(Capability.VIEW_QUEUE)
def health(request):
    return render(request, "cases/_queue_health.html", {"health": queue_health()})


@requires(Capability.WORK_CASES)
@require_POST
def assign(request):
    """Assign the chosen cases to me, to a specialist, or to nobody."""
    target = request.POST.get("assignee", "me")
    try:
        case_ids = [int(pk) for pk in request.POST.getlist("case")]
        if not case_ids:
            raise ApplicationError("Select at least one case to assign.", "no_cases")
        assignee = _assignee(request.user, target)
        cases = case_assign(case_ids=case_ids, assignee=assignee, actor=request.user)
    except (ApplicationError, ValueError) as error:
        messages.error(request, getattr(error, "message", "Those cases could not be read."))
    else:
        who = assignee.get_username() if assignee else "nobody"
        messages.success(request, f"{len(cases)} case(s) assigned to {who}.")
    if request.htmx:
        return queue_rows(request)
    return redirect(reverse("cases:queue") + _next_query(request))


def _assignee(user, target):
    if target == "me":
        return user
    if target == "nobody":
        return None
    specialist = get_user_model().objects.filter(
        username=target, groups__name=Role.SPECIALIST.value, is_active=True).first()
    if specialist is None:
        raise ApplicationError("Cases can be assigned to billing specialists only.",
                               "not_a_specialist")
    return specialist


def _next_query(request):
    query = request.POST.get("return_query", "")
    return f"?{query}" if query else ""

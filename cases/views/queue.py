"""The queue: the specialists' list of cases, its refresh partial, health and assignment."""

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
from cases.selectors import (
    SORTS,
    QueueFilters,
    case_queue,
    current_queue_health,
    state_counts,
)
from cases.services import case_assign

# Choice labels by value: get_FOO_display() walks the field's choices once per row.
CATEGORY_LABELS = dict(Category.choices)
PRIORITY_LABELS = dict(Priority.choices)
STATE_LABELS = dict(State.choices)

# The columns a row reads; the queue loads no others.
ROW_FIELDS = ("zendesk_ticket_id", "subject", "requester_name", "requester_email", "category",
              "priority", "state", "assignee__username")


def _row(case, base_url, now):
    """One row's text, prepared here so that the template only prints: a page of 50 rows
    stays cheap to render. Numbers are text already (the template would localize each one),
    and a row is a dict, which the template reads at its first try."""
    due = case.resolution_due
    pk = str(case.pk)
    return {
        "pk": pk,
        "url": f"{base_url}{pk}/",
        "ticket": str(case.zendesk_ticket_id),
        "subject": case.subject or "(no subject)",
        "requester_name": case.requester_name,
        "requester_email": case.requester_email,
        "category": _label(CATEGORY_LABELS, case.category),
        "priority": case.priority,
        "priority_label": _label(PRIORITY_LABELS, case.priority),
        "state": _label(STATE_LABELS, case.state),
        "assignee": case.assignee.get_username() if case.assignee else "—",
        "due_iso": due.isoformat() if due else "",
        "due_text": timezone.localtime(due).strftime("%b %-d, %H:%M") if due else "—",
        "breached": bool(due and due < now),
    }


def _label(labels, value):
    """A choice's label, like get_FOO_display(): a value that is no choice shows as itself."""
    return labels.get(value, value)


def _queue_context(request):
    filters = QueueFilters.from_query(request.GET)
    page = case_queue(viewer=request.user, filters=filters, cursor=request.GET.get("after"),
                      fields=ROW_FIELDS)
    now = timezone.now()
    base_url = reverse("cases:queue")
    return {
        "filters": filters,
        "rows": [_row(case, base_url, now) for case in page.cases],
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
    return render(request, "cases/_queue_health.html", {"health": current_queue_health()})


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

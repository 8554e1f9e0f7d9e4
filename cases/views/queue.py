"""The queue: the specialists' list of cases, its refresh partial, health and assignment."""

from html import escape

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.http import QueryDict
from django.shortcuts import redirect, render
from django.urls import get_script_prefix, reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from billing_console.access import Capability, Role, has_capability, requires
from billing_console.exceptions import ApplicationError, UnknownCursor
from billing_console.names import name_from, person_name, ticket_name
from cases.models import Category, Priority, State
from cases.selectors import (
    ASSIGNEES,
    SLA_FILTERS,
    SORTS,
    STRIPE_FILTERS,
    QueueFilters,
    case_queue,
    current_queue_health,
    state_counts,
)
from cases.services import case_assign

# Choice labels by value, as HTML: get_FOO_display() walks the field's choices once per row.
CATEGORY_LABELS = {value: escape(label) for value, label in Category.choices}
PRIORITY_LABELS = {value: escape(label) for value, label in Priority.choices}
STATE_LABELS = {value: escape(label) for value, label in State.choices}

# The columns a row reads; the queue loads no others.
ROW_FIELDS = ("zendesk_ticket_id", "subject", "requester_name", "requester_email", "category",
              "priority", "state", "assignee__username", "assignee__first_name",
              "assignee__last_name", "resolution_due")

# One row of the table. A page of 50 rows is some 900 template variables, each resolved,
# localized and escaped by the template engine: that was more than half of what the page
# cost beyond its SQL. A row is filled in here instead (`_row`, one f-string), every value
# from the case escaped, and `_queue_rows.html` prints the rows as they are around the rest
# of the table.
BREACHED_BADGE = ' <span class="badge failure">breached</span>'
BREACHED_CLASS = ' class="breached"'
MONTHS = ("", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _row(case, base_url, now, tz, can_assign):
    """One row of the queue as HTML, from a row of `case_queue(fields=ROW_FIELDS)`."""
    due = case["resolution_due"]
    pk = case["pk"]
    url = f"{base_url}{pk}/"
    breached = due is not None and due < now
    if due is not None:
        local = due.astimezone(tz)
        # As strftime("%b %-d, %H:%M") would write it, at a third of its cost.
        due_html = (f'<time datetime="{due.isoformat()}">{MONTHS[local.month]} {local.day}, '
                    f"{local.hour:02d}:{local.minute:02d}</time>"
                    f"{BREACHED_BADGE if breached else ''}")
    else:
        due_html = "—"
    category, priority, state = case["category"], case["priority"], case["state"]
    assignee = case["assignee__username"] and name_from(
        case["assignee__first_name"], case["assignee__last_name"], case["assignee__username"])
    return (
        f'<tr data-case-id="{pk}" data-href="{url}" tabindex="-1"'
        f"{BREACHED_CLASS if breached else ''}>\n"
        f"{_select_cell(pk, case['zendesk_ticket_id']) if can_assign else ''}"
        f"<td>#{case['zendesk_ticket_id']}</td>\n"
        f'<td><a href="{url}">{escape(case["subject"] or "(no subject)")}</a></td>\n'
        f"<td>{escape(case['requester_name'])}<br>"
        f"<small>{escape(case['requester_email'])}</small></td>\n"
        f"<td>{CATEGORY_LABELS.get(category) or escape(category)}</td>\n"
        f"<td>{PRIORITY_CELLS.get(priority) or _priority_cell(escape(priority))}</td>\n"
        f"<td>{STATE_LABELS.get(state) or escape(state)}</td>\n"
        f"<td>{escape(assignee) if assignee else '—'}</td>\n"
        f"<td>{due_html}</td>\n"
        "</tr>\n"
    )


def _select_cell(pk, ticket_id):
    """The row's checkbox: its value is the case's row id, its name for people the ticket's."""
    return (f'<td><input type="checkbox" name="case" value="{pk}" '
            f'aria-label="Select {ticket_name(ticket_id)}"></td>\n')


def _priority_cell(value, label=None):
    """A priority's badge; `value` and `label` already escaped (the label is the value
    for a priority the console does not know)."""
    return f'<span class="badge priority-{value}">{label or value}</span>'


# The cell of each known priority: its class and label never change.
PRIORITY_CELLS = {value: _priority_cell(escape(value), label)
                  for value, label in PRIORITY_LABELS.items()}


# The queue's own URLs, which never change while the process runs: reversed once (per
# script prefix), not by a {% url %} tag on every render.
_URLS = {}


def _urls():
    prefix = get_script_prefix()
    urls = _URLS.get(prefix)
    if urls is None:
        urls = _URLS[prefix] = {name: reverse(f"cases:{name}")
                                for name in ("queue", "rows", "health", "assign")}
    return urls


def _queue_context(request):
    filters = QueueFilters.from_query(request.GET)
    try:
        page = case_queue(viewer=request.user, filters=filters,
                          cursor=request.GET.get("after"), fields=ROW_FIELDS)
    except UnknownCursor:  # an old link, an address edited by hand: the first page
        page = case_queue(viewer=request.user, filters=filters, fields=ROW_FIELDS)
    now = timezone.now()
    tz = timezone.get_current_timezone()
    urls = _urls()
    base_url = urls["queue"]
    can_assign = has_capability(request.user, Capability.WORK_CASES)
    rows = [_row(case, base_url, now, tz, can_assign) for case in page.cases]
    return {
        "filters": filters,
        "rows": rows,
        # Each value from a case is escaped in _row.
        "rows_html": mark_safe("".join(rows)),  # noqa: S308
        "next_query": _with(request.GET, after=page.next_cursor) if page.next_cursor else "",
        "can_assign": can_assign,
        "urls": urls,
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
    counts = state_counts()
    filters = context["filters"]
    context.update({
        # Only the counts change from one request to the next: the tabs are filled in here.
        "tabs_html": _tabs(filters.state, counts),
        "assignee_options": ASSIGNEE_OPTIONS[filters.assignee],
        "category_options": CATEGORY_OPTIONS[filters.category],
        "priority_options": PRIORITY_OPTIONS[filters.priority],
        "sla_options": SLA_OPTIONS[filters.sla],
        "stripe_options": STRIPE_OPTIONS[filters.stripe],
        "sort_options": SORT_OPTIONS[filters.sort],
        # Whom the selected cases can be assigned to, for those who may assign them.
        "specialists": _specialists() if context["can_assign"] else [],
    })
    return render(request, "cases/queue.html", context)


# The attribute of the current tab.
CURRENT = ' aria-current="page"'
TAB_HTML = '<a href="?state={value}"{current}>{label}{count}</a>\n'
COUNT_HTML = ' <span class="count">{}</span>'
# Open (the default) first and All last, neither with a count; each state with its own.
STATE_TABS = [("open", "Open"), *((escape(value), escape(label)) for value, label in
                                  State.choices), ("all", "All")]


def _tabs(current, counts):
    """The state tabs as HTML, the current one marked: only the counts change from one
    request to the next. The values and labels are the code's."""
    return mark_safe("".join(  # noqa: S308
        TAB_HTML.format(value=value, label=label,
                        count=COUNT_HTML.format(counts[value]) if value in counts else "",
                        current=CURRENT if value == current else "")
        for value, label in STATE_TABS))


def _options(choices):
    """The <option>s of a filter as HTML, for each value that can be chosen (and none): the
    choices never change, so each list is written once, not on every request."""
    choices = list(choices)
    return {chosen: mark_safe("".join(  # noqa: S308 - each value and label escaped
        f'<option value="{escape(value)}"{" selected" if value == chosen else ""}>'
        f"{escape(label)}</option>" for value, label in choices))
        for chosen in ("", *(value for value, _ in choices))}


ASSIGNEE_OPTIONS = _options(ASSIGNEES.items())
CATEGORY_OPTIONS = _options(Category.choices)
PRIORITY_OPTIONS = _options(Priority.choices)
SLA_OPTIONS = _options(SLA_FILTERS.items())
STRIPE_OPTIONS = _options(STRIPE_FILTERS.items())
SORT_OPTIONS = _options(SORTS.items())

# Plain SQL: every queue page of a specialist asks, and the ORM's building of the query
# cost more than running it. The tables' names come from the models.
_User = get_user_model()
_UserGroups = _User.groups.through
SPECIALISTS_SQL = (
    f"SELECT u.{_User._meta.get_field(_User.USERNAME_FIELD).column}, u.first_name, "  # noqa: S608
    f"u.last_name FROM {_User._meta.db_table} u "
    f"INNER JOIN {_UserGroups._meta.db_table} ug ON ug.user_id = u.id "
    f"INNER JOIN {Group._meta.db_table} g ON g.id = ug.group_id "
    "WHERE g.name = %s AND u.is_active ORDER BY 1"
)


def _specialists():
    """(username, name to show) of each active specialist."""
    with connection.cursor() as cursor:
        cursor.execute(SPECIALISTS_SQL, [Role.SPECIALIST.value])
        rows = cursor.fetchall()
    return [(username, name_from(first, last, username)) for username, first, last in rows]


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
        who = person_name(assignee) if assignee else "nobody"
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

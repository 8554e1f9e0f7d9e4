"""Reconciliation pages: the runs and a form to ask for one over a period, a run's report
by class (which htmx polls while the run is going, so it fills in as days are done), its
CSV, and explaining differences, several with one note. Finance and admins read them
(VIEW_AUDIT); only finance runs a reconciliation or explains a difference (RECONCILE).
No page reads Stripe: a task does (`finance.tasks.run_reconciliation`)."""

from django.contrib import messages
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from audit.csv import csv_lines
from audit.services import Origin, record_for_request
from billing_console.access import Capability, has_capability, requires
from billing_console.exceptions import ApplicationError
from billing_console.text import quoted
from finance.forms import ExplainForm, PeriodForm, chosen_ids
from finance.models import Match, ReconciliationItem, ReconciliationRun
from finance.periods import Period
from finance.reconciliation import (
    CSV_COLUMNS,
    REPORT_ROWS,
    RunAlreadyGoing,
    csv_rows,
    events_listed_from,
    newer_run_of_same_period,
    recent_runs,
    reconciliation_item_explain,
    reconciliation_items_explain,
    reconciliation_request,
    report_items,
    unexplained_differences,
)


@requires(Capability.VIEW_AUDIT)
@require_safe
def runs(request):
    return _runs_page(request, PeriodForm())


@requires(Capability.RECONCILE)
@require_POST
def run_create(request):
    """Ask for a run and go to its report, which shows its progress: no Stripe read here.
    A run of the same period already queued or running is shown instead of a second."""
    form = PeriodForm(request.POST)
    if not form.is_valid():
        return _runs_page(request, form, status=400)
    period = form.cleaned_data["period"]
    try:
        run = reconciliation_request(period=period, actor=request.user,
                                     origin=Origin.of(request))
    except RunAlreadyGoing as going:
        messages.warning(request, going.message)
        return redirect("finance:reconciliation-run", going.run.pk)
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("finance:reconciliation")
    messages.success(request, f"Reconciling {period.since} to {period.until} with Stripe "
                              f"({period.days} day{'s' if period.days != 1 else ''}); the "
                              "report fills in as each day is done.")
    return redirect("finance:reconciliation-run", run.pk)


def _runs_page(request, form, status=200):
    this_month = Period.this_month_so_far()
    return render(request, "finance/reconciliation.html", {
        "form": form, "runs": recent_runs(), "waiting": unexplained_differences().count(),
        "this_month": this_month,
        "can_run": has_capability(request.user, Capability.RECONCILE)}, status=status)


@requires(Capability.VIEW_AUDIT)
@require_safe
def report(request, pk):
    """The run's report; while the run goes on, htmx asks for it again every second and
    swaps in its live part (`_reconciliation_live.html`): progress, counts and items."""
    run = get_object_or_404(ReconciliationRun.objects.select_related("started_by"), pk=pk)
    shown = request.GET.get("class", "")
    error = ""
    if shown and shown not in Match.values:
        error, shown = f"There is no class {quoted(shown)}; every item is shown.", ""
    total = run.count_of(shown) if shown else run.total_count
    items = list(report_items(run, shown)[:REPORT_ROWS])
    template = ("finance/_reconciliation_live.html" if request.headers.get("HX-Request")
                else "finance/reconciliation_report.html")
    can_explain = has_capability(request.user, Capability.RECONCILE)
    return render(request, template, {
        "run": run, "items": items, "total": total,
        "shown_at_most": REPORT_ROWS, "shown": shown, "error": error,
        "classes": [(match.value, match.label, run.count_of(match)) for match in Match],
        "newer": newer_run_of_same_period(run), "events_before": events_listed_from(run),
        "can_explain": can_explain,
        "explainable": can_explain and run.is_finished and any(
            item.is_difference and item.explained_at is None for item in items),
        "can_export": has_capability(request.user, Capability.EXPORT_AUDIT)},
        status=400 if error else 200)


@requires(Capability.EXPORT_AUDIT)
@require_safe
def report_csv(request, pk):
    run = get_object_or_404(ReconciliationRun, pk=pk)
    record_for_request(request, action="reconciliation.exported",
                       object_type="reconciliation_run", object_id=run.pk,
                       reason=f"CSV of {run.period_start} to {run.period_end}.")
    response = StreamingHttpResponse(csv_lines(CSV_COLUMNS, csv_rows(run)),
                                     content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (f'attachment; filename="reconciliation-{run.pk}-'
                                       f'{run.period_start}-{run.period_end}.csv"')
    return response


@requires(Capability.RECONCILE)
@require_POST
def explain(request, pk):
    item = get_object_or_404(ReconciliationItem, pk=pk)
    form = ExplainForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The note is too long: 5,000 characters at most.")
        return _back_to(item, "")
    try:
        reconciliation_item_explain(item_id=item.pk, note=form.cleaned_data["note"],
                                    actor=request.user, origin=Origin.of(request))
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"{item.get_object_type_display()} "
                                  f"{item.stripe_object_id} is explained.")
    return _back_to(item, form.cleaned_data["shown"])


@requires(Capability.RECONCILE)
@require_POST
def explain_many(request, pk):
    """The differences chosen on the run's report (`item`, repeated), with one note."""
    run = get_object_or_404(ReconciliationRun, pk=pk)
    form = ExplainForm(request.POST)
    shown = request.POST.get("shown", "")
    if not form.is_valid():
        messages.error(request, "The note is too long: 5,000 characters at most.")
        return _back_to_run(run.pk, shown)
    ids = set(chosen_ids(request.POST))
    if ids - set(run.items.filter(pk__in=ids).values_list("pk", flat=True)):
        messages.error(request, "Some of the chosen differences are not in this report; "
                                "reload it and choose again. Nothing was explained.")
        return _back_to_run(run.pk, shown)
    try:
        explained = reconciliation_items_explain(item_ids=ids, note=form.cleaned_data["note"],
                                                 actor=request.user,
                                                 origin=Origin.of(request))
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"{len(explained)} difference"
                                  f"{'s are' if len(explained) != 1 else ' is'} explained "
                                  "with your note.")
    return _back_to_run(run.pk, shown)


def _back_to(item, shown):
    """The report as it was shown, at the item."""
    return _back_to_run(item.run_id, shown, f"#item-{item.pk}")


def _back_to_run(run_id, shown, anchor=""):
    url = reverse("finance:reconciliation-run", args=[run_id])
    query = f"?class={shown}" if shown in Match.values else ""
    return redirect(f"{url}{query}{anchor}")

"""Reconciliation pages: the runs and a form to run one for a period, a run's report by
class, its CSV, and explaining a difference. Finance and admins read them (VIEW_AUDIT);
only finance runs a reconciliation or explains a difference (RECONCILE)."""

from django.contrib import messages
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from audit.csv import csv_lines
from audit.services import Origin, record_for_request
from billing_console.access import Capability, has_capability, requires
from billing_console.exceptions import ApplicationError
from billing_console.integrations.stripe.errors import StripeGatewayError
from finance.forms import ExplainForm, PeriodForm
from finance.models import Match, ReconciliationItem, ReconciliationRun
from finance.periods import Period
from finance.reconciliation import (
    CSV_COLUMNS,
    REPORT_ROWS,
    csv_rows,
    events_listed_from,
    newer_run_of_same_period,
    recent_runs,
    reconciliation_item_explain,
    reconciliation_run,
    report_items,
    unexplained_differences,
)


@requires(Capability.VIEW_AUDIT)
@require_safe
def runs(request):
    yesterday = Period.yesterday()
    return _runs_page(request, PeriodForm(initial={"start": yesterday.since,
                                                   "end": yesterday.until}))


@requires(Capability.RECONCILE)
@require_POST
def run_create(request):
    form = PeriodForm(request.POST)
    if not form.is_valid():
        return _runs_page(request, form, status=400)
    period = form.cleaned_data["period"]
    try:
        run = reconciliation_run(period=period, actor=request.user, origin=Origin.of(request))
    except StripeGatewayError as error:
        # Nothing was written: the comparison is stored only once Stripe has been read.
        form.add_error(None, f"Stripe did not answer: {error.message} Nothing was recorded; "
                             "try again in a moment.")
        return _runs_page(request, form, status=502)
    messages.success(request, f"Reconciled {period.since} to {period.until}: "
                              f"{_differences_of(run)} difference(s) to look at.")
    return redirect("finance:reconciliation-run", run.pk)


def _runs_page(request, form, status=200):
    return render(request, "finance/reconciliation.html", {
        "form": form, "runs": recent_runs(), "waiting": unexplained_differences().count(),
        "can_run": has_capability(request.user, Capability.RECONCILE)}, status=status)


def _differences_of(run):
    return sum(run.count_of(match) for match in Match if match != Match.MATCHED)


@requires(Capability.VIEW_AUDIT)
@require_safe
def report(request, pk):
    run = get_object_or_404(ReconciliationRun.objects.select_related("started_by"), pk=pk)
    shown = request.GET.get("class", "")
    error = ""
    if shown and shown not in Match.values:
        error, shown = f"There is no class “{shown}”; every item is shown.", ""
    total = run.count_of(shown) if shown else sum(run.count_of(match) for match in Match)
    return render(request, "finance/reconciliation_report.html", {
        "run": run, "items": report_items(run, shown)[:REPORT_ROWS], "total": total,
        "shown_at_most": REPORT_ROWS, "shown": shown, "error": error,
        "classes": [(match.value, match.label, run.count_of(match)) for match in Match],
        "newer": newer_run_of_same_period(run), "events_before": events_listed_from(run),
        "can_explain": has_capability(request.user, Capability.RECONCILE),
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


def _back_to(item, shown):
    """The report as it was shown, at the item."""
    url = reverse("finance:reconciliation-run", args=[item.run_id])
    query = f"?class={shown}" if shown in Match.values else ""
    return redirect(f"{url}{query}#item-{item.pk}")

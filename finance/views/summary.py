"""Finance's summary of the money given back (`finance.summaries`): tables, charts and a
drill-down from every figure into the audit trail.

The charts are drawn by the vendored Chart.js from `static/js/summary.js`, which reads its
data from a `json_script` element: no inline script, so the strict CSP holds.
"""

from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_safe

from billing_console.access import Capability, requires
from billing_console.exceptions import ApplicationError
from billing_console.money import decimal_places
from billing_console.names import console_reasons, reason_label
from finance.periods import Period
from finance.summaries import money_given_back
from money_actions.kinds import all_kinds

TEMPLATE = "finance/summary.html"
# "Refunds and credits": the kinds the charts draw (`ActionKind.chart`).
def chart_kinds():
    return [kind for kind in all_kinds() if kind.chart]


def _charted(total):
    return total.kind in {kind.slug for kind in chart_kinds()}


@requires(Capability.VIEW_AUDIT)
@require_safe
def summary(request):
    try:
        period = Period.from_query(request.GET, today=timezone.localdate())
    except ApplicationError as error:
        return render(request, TEMPLATE, {"error": error.message}, status=400)
    totals = money_given_back(period)
    currency = chart_currency(totals, request.GET.get("chart_currency", ""))
    return render(request, TEMPLATE, {
        "period": period, "totals": totals, "chart_currency": currency,
        "chart": chart_data(totals, currency) if currency else None})


def chart_currency(totals, asked):
    """The currency asked for when the period has it; else the one with the most refunds
    and credits (a stale link from another period falls back quietly)."""
    if asked.upper() in totals.currencies:
        return asked.upper()
    counts = {}
    for total in totals.by_kind:
        if _charted(total):
            counts[total.currency] = counts.get(total.currency, 0) + total.count
    return max(counts, key=counts.get) if counts else None


def chart_data(totals, currency):
    """What summary.js draws: amounts in minor units (the script scales them with
    `decimals`), and for each bar the audit trail link behind it."""
    months = totals.period.months()
    reasons = sorted({total.group for total in totals.by_reason if total.currency == currency
                      and _charted(total)})
    named = console_reasons()
    return {
        "currency": currency,
        "decimals": decimal_places(currency),
        "byMonth": {"labels": [month.strftime("%b %Y") for month in months],
                    "series": _series(totals.by_month, currency, months)},
        "byReason": {"labels": [reason_label(reason, console=named) for reason in reasons],
                     "series": _series(totals.by_reason, currency, reasons)},
    }


def _series(rows, currency, groups):
    """One series per chart kind that has any row, with a value for every group."""
    found = {(total.kind, total.group): total for total in rows if total.currency == currency}
    series = []
    for kind in chart_kinds():
        points = [found.get((kind.slug, group)) for group in groups]
        if any(points):
            series.append({
                "kind": kind.slug, "label": kind.label,
                "amounts": [point.amount if point else 0 for point in points],
                "counts": [point.count if point else 0 for point in points],
                "links": [audit_trail_url(point) if point else None for point in points]})
    return series


def audit_trail_url(total):
    return f"{reverse('audit:events')}?{total.audit_query}"

"""The summary of money given back in Chromium: the vendored Chart.js draws under the strict
CSP, and a click on a bar opens the audit events behind it."""

from django.utils import timezone

from tests.cases.factories import make_case
from tests.finance.test_summaries import at_noon, given_back

BAR_CENTRE = """([canvasId, datasetIndex, index]) => {
  const chart = Chart.getChart(canvasId);
  const bar = chart.getDatasetMeta(datasetIndex).data[index];
  const box = chart.canvas.getBoundingClientRect();
  return {x: box.left + bar.x, y: box.top + (bar.y + bar.base) / 2};
}"""


def test_the_charts_draw_and_a_bar_opens_its_audit_events(actors, page, sign_in):
    this_month = timezone.localdate().replace(day=1)
    case = make_case()
    given_back(case, actors["specialist"], amount=1_500, settled=at_noon(this_month))
    given_back(case, actors["specialist"], kind="credit_memo", amount=300,
               reason="billing_error", settled=at_noon(this_month))
    sign_in("finance")

    page.goto("/audit/summary/")
    page.wait_for_function("window.Chart && Chart.getChart('chart-by-reason')")
    labels = page.evaluate("Chart.getChart('chart-by-month').data.datasets.map(d => d.label)")
    assert labels == ["Refund", "Credit memo"]

    point = page.evaluate(BAR_CENTRE, ["chart-by-month", 0, 11])
    page.mouse.click(point["x"], point["y"])
    page.wait_for_url("**/audit/?**action=refund.succeeded**")
    assert "currency=USD" in page.url
    assert page.console_errors == []

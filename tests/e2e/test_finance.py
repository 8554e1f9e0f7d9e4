"""Finance in Chromium: filter last month's refunds over 100.00, open one and follow it to
its case, export the view, and run the reconciliation (its task at once, in the web
request: a worker and the progress bar are in test_reconciliation.py), where a refund made
directly in the sandbox shows as "In Stripe only"."""

from datetime import UTC, date, datetime, timedelta

import pytest

from audit.models import Source
from audit.services import record
from billing_console.integrations.stripe.sandbox.builders import charge, create_customer
from tests.cases.factories import make_case


def last_month():
    first_of_this = date.today().replace(day=1)
    last = first_of_this - timedelta(days=1)
    return last.replace(day=1), last


@pytest.fixture
def refunds_last_month(db, monkeypatch):
    """Refund events written on the 10th of last month: one large, one small."""
    case = make_case(subject="Annual plan charged twice")
    start, _ = last_month()
    moment = datetime(start.year, start.month, 10, 12, tzinfo=UTC)
    monkeypatch.setattr("audit.services._database_now", lambda: moment)
    for amount in (25_000, 4_000):
        record(action="refund.succeeded", amount=amount, currency="usd", case_id=case.pk,
               source=Source.SYSTEM, object_type="money_action", stripe_object_id="re_x",
               after={"requested_by": "specialist", "reason_code": "courtesy"})
    monkeypatch.undo()
    return case


def test_finance_filters_follows_exports_and_reconciles(refunds_last_month, stripe_sandbox,
                                                         actors, page, sign_in, tmp_path,
                                                         eager_tasks):
    customer = create_customer(stripe_sandbox, name="Dana", email="dana@example.com")
    charged = charge(stripe_sandbox, customer=customer.id, amount=9_000)
    external = stripe_sandbox.v1.refunds.create(params={"charge": charged, "amount": 3_000})
    start, end = last_month()
    sign_in("finance")

    page.goto("/audit/")
    page.fill("input[name=since]", start.isoformat())
    page.fill("input[name=until]", end.isoformat())
    page.select_option("select[name=kind]", label="Refund")
    page.fill("input[name=amount_min]", "100.00")
    page.click("form.audit-filters button[type=submit]")
    rows = page.locator("tr[data-event-id]")
    assert rows.count() == 1 and "250.00 USD" in rows.first.inner_text()

    with page.expect_download() as download:
        page.click("#export-csv")
    exported = (tmp_path / "export.csv")
    download.value.save_as(exported)
    lines = exported.read_text().splitlines()
    assert len(lines) == 2 and "refund.succeeded" in lines[1] and "25000" in lines[1]

    rows.first.locator("a[data-link=case]").click()
    page.wait_for_url(f"**/cases/{refunds_last_month.pk}/")
    assert "Annual plan charged twice" in page.locator("h1").inner_text()

    page.get_by_role("link", name="Reconciliation").click()
    today = date.today().isoformat()
    page.fill("input[name=start]", today)
    page.fill("input[name=end]", today)
    page.click("#reconcile-form button[type=submit]")
    row = page.locator(f"tr[data-stripe-id='{external.id}']")
    row.wait_for()
    assert row.get_attribute("data-class") == "stripe_only"
    assert "In Stripe only" in row.inner_text()
    assert page.console_errors == []

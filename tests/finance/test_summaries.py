"""Finance's summary of the money given back: totals per currency, months, charts, the
drill-down into the audit trail, the vendored chart library, and who may see it."""

import json
import re
from datetime import UTC, datetime, time, timedelta
from unittest import mock

import pytest
from django.contrib.staticfiles import finders
from django.http import QueryDict
from django.utils import timezone

from audit.filters import AuditFilters
from audit.models import AuditEvent
from audit.services import record
from finance.periods import Period, add_months
from finance.summaries import money_given_back
from money_actions.kinds import Family
from money_actions.models import LedgerEntry, MoneyAction, State
from tests.cases.factories import make_case
from tests.conftest import signed_in

URL = "/audit/summary/"


def at_noon(day):
    return datetime.combine(day, time(12), tzinfo=UTC)


def settled_this_month(first_day):
    """A moment of this month already past: noon of its first day, or earlier while that
    noon is still to come. The trail never holds an event from the future, so one settled
    at a noon still ahead would not be found by its audit filter (the first half of every
    month's first day)."""
    start = datetime.combine(first_day, time(0), tzinfo=UTC)
    return max(start, min(at_noon(first_day), timezone.now() - timedelta(minutes=1)))


def given_back(case, requester, *, kind="refund", amount, currency="usd", settled,
               reason="duplicate", state=State.SUCCEEDED):
    """A money action, and the ledger entry Stripe's object for it left once it moved."""
    action = MoneyAction.objects.create(
        kind=kind, state=state, case=case, stripe_customer_id="cus_A", stripe_target_id="ch_1",
        amount=amount, currency=currency, reason_code=reason, note="Test.",
        requested_by=requester, settled_at=settled)
    if settled is not None:
        gives = state == State.SUCCEEDED and action.kind_def.family == Family.GIVES_BACK
        LedgerEntry.objects.create(
            entry_type=action.kind_def.ledger_type, stripe_id=f"obj_{action.pk}",
            stripe_customer_id="cus_A", amount=amount, given_back=amount if gives else 0,
            currency=currency, status="succeeded" if gives else "failed",
            money_action=action, case=case, learnt_from="console", stripe_created_at=settled)
    return action


@pytest.fixture
def months():
    """The first day of this month, and of the month two before it."""
    this_month = timezone.localdate().replace(day=1)
    return this_month, add_months(this_month, -2)


@pytest.fixture
def actions(db, specialist, second_specialist, months):
    this_month, earlier = months
    case = make_case()
    counted = {
        "old_usd_refund": given_back(case, specialist, amount=1_000,
                                     settled=at_noon(earlier + timedelta(days=14))),
        "usd_refund": given_back(case, specialist, amount=500,
                                 settled=settled_this_month(this_month)),
        "eur_refund": given_back(case, specialist, amount=700, currency="eur",
                                 settled=settled_this_month(this_month)),
        "usd_credit": given_back(case, second_specialist, kind="credit_memo", amount=300,
                                 reason="billing_error", settled=settled_this_month(this_month)),
    }
    # Not money given back that succeeded within the last twelve months.
    given_back(case, specialist, amount=9_000, state=State.FAILED,
               settled=settled_this_month(this_month))
    given_back(case, specialist, amount=9_000, state=State.PENDING_APPROVAL, settled=None)
    given_back(case, specialist, kind="balance_debit", amount=9_000,
               settled=settled_this_month(this_month))
    given_back(case, specialist, amount=9_000, settled=at_noon(add_months(this_month, -13)))
    return counted


def rows(totals):
    return [(total.group, total.kind, total.currency, total.count, total.amount)
            for total in totals]


def test_totals_keep_each_currency_apart_and_count_only_what_succeeded(actions, finance):
    response = signed_in(finance).get(URL)

    assert response.status_code == 200
    assert rows(response.context["totals"].by_kind) == [
        ("credit_memo", "credit_memo", "USD", 1, 300),
        ("refund", "refund", "EUR", 1, 700),
        ("refund", "refund", "USD", 2, 1_500),
    ]
    page = response.content.decode()
    assert "15.00 USD" in page and "7.00 EUR" in page
    assert "22.00" not in page and "90.00" not in page


def test_reasons_and_requesters_are_totalled_per_kind_and_currency(actions, finance):
    totals = signed_in(finance).get(URL).context["totals"]

    assert rows(totals.by_reason) == [
        ("billing_error", "credit_memo", "USD", 1, 300),
        ("duplicate", "refund", "EUR", 1, 700),
        ("duplicate", "refund", "USD", 2, 1_500),
    ]
    assert rows(totals.by_actor) == [
        ("specialist", "refund", "EUR", 1, 700),
        ("specialist", "refund", "USD", 2, 1_500),
        ("specialist2", "credit_memo", "USD", 1, 300),
    ]


def test_the_tables_show_labels_and_names_not_codes_or_usernames(actions, finance, specialist):
    """Before: "Duplicate charge duplicate_charge" (the label, then its code) and the
    requester's username."""
    specialist.first_name, specialist.last_name = "Sam", "Specialist"
    specialist.save()

    page = signed_in(finance).get(URL).content.decode()
    by_reason = page.split('id="by-reason"')[1].split("</table>")[0]
    by_actor = page.split('id="by-actor"')[1].split("</table>")[0]

    assert '<th scope="row">Billing error</th>' in by_reason
    assert "billing_error</" not in by_reason and "<code>" not in by_reason
    assert '<th scope="row">Sam Specialist</th>' in by_actor
    assert '<th scope="row">specialist</th>' not in by_actor
    assert '<th scope="row">specialist2</th>' in by_actor  # no name: the username


def test_months_group_by_the_month_the_action_settled(actions, finance, months):
    this_month, earlier = months

    totals = signed_in(finance).get(URL).context["totals"]

    assert rows(totals.by_month) == [
        (earlier, "refund", "USD", 1, 1_000),
        (this_month, "refund", "EUR", 1, 700),
        (this_month, "credit_memo", "USD", 1, 300),
        (this_month, "refund", "USD", 1, 500),
    ]


def test_the_default_period_is_this_month_and_the_eleven_before(db, finance):
    today = timezone.localdate()

    period = signed_in(finance).get(URL).context["period"]

    assert period.until == today and period.since == add_months(today.replace(day=1), -11)
    assert len(period.months()) == 12


def test_a_chosen_period_leaves_out_what_settled_outside_it(actions, finance, months):
    _, earlier = months
    query = {"since": earlier, "until": earlier + timedelta(days=20)}

    totals = signed_in(finance).get(URL, query).context["totals"]

    assert rows(totals.by_kind) == [("refund", "refund", "USD", 1, 1_000)]


def test_each_table_is_one_query(actions, django_assert_num_queries):
    period = Period.last_twelve_months(timezone.localdate())

    # Four tables of the console's, and one of what was given back outside it.
    with django_assert_num_queries(5):
        money_given_back(period)


# --- Drill-down ---------------------------------------------------------------------------


def drill_down_links(page):
    return [link.replace("&amp;", "&") for link in
            re.findall(r'<a href="([^"]+)" data-drill-down>', page)]


def test_a_month_figure_links_to_that_months_succeeded_events(actions, finance, months):
    _, earlier = months

    page = signed_in(finance).get(URL).content.decode()

    query = QueryDict(f"since={earlier}&until={add_months(earlier, 1) - timedelta(days=1)}"
                      "&action=refund.succeeded&currency=USD")
    expected = f"/audit/?{AuditFilters.from_query(query).as_query()}"
    assert expected in drill_down_links(page)


def test_reason_and_requester_figures_carry_their_reason_and_requester(actions, finance):
    links = drill_down_links(signed_in(finance).get(URL).content.decode())
    queries = [QueryDict(link.split("?", 1)[1]) for link in links]

    assert any(query.get("reason") == "billing_error"
               and query.get("action") == "credit_memo.succeeded" for query in queries)
    assert any(query.get("actor") == "specialist2" and query.get("currency") == "USD"
               for query in queries)
    assert all(query.get("since") and query.get("until") for query in queries)


def audit_success(action):
    """The `<kind>.succeeded` event the outcome service writes, at the moment it settled,
    with a `requested` event before it that no figure counts."""
    after = {"requested_by": action.requested_by.username, "customer": "cus_A",
             "reason_code": action.reason_code}
    with mock.patch("audit.services._database_now", return_value=action.settled_at):
        record(action=f"{action.kind}.requested", amount=action.amount,
               currency=action.currency, object_type="money_action", object_id=action.pk,
               case_id=action.case_id, after=after)
        return record(action=f"{action.kind}.succeeded", amount=action.amount,
                      currency=action.currency, object_type="money_action",
                      object_id=action.pk, case_id=action.case_id, after=after)


def test_every_figure_finds_exactly_the_events_behind_it(actions, finance):
    for action in actions.values():
        audit_success(action)
    response = signed_in(finance).get(URL)
    totals = response.context["totals"]
    links = drill_down_links(response.content.decode())

    for table in (totals.by_kind, totals.by_reason, totals.by_month, totals.by_actor):
        for total in table:
            assert f"/audit/?{total.audit_query}" in links
            found = total.audit_filters.apply(AuditEvent.objects.all())
            assert found.count() == total.count
            assert sum(event.amount for event in found) == total.amount


# --- Charts -------------------------------------------------------------------------------


def chart_data(response):
    match = re.search(r'<script id="summary-chart-data" type="application/json">(.*?)</script>',
                      response.content.decode(), re.S)
    return json.loads(match.group(1))


def test_the_chart_data_is_in_a_json_script_element(actions, finance, months):
    this_month, earlier = months

    data = chart_data(signed_in(finance).get(URL))

    assert data["currency"] == "USD" and data["decimals"] == 2
    by_month = data["byMonth"]
    assert len(by_month["labels"]) == 12 and by_month["labels"][-1] == this_month.strftime("%b %Y")
    refunds, credits = by_month["series"]
    assert refunds["kind"] == "refund" and credits["kind"] == "credit_memo"
    assert refunds["amounts"][-3:] == [1_000, 0, 500] and credits["amounts"][-1] == 300
    assert refunds["links"][-2] is None and "action=refund.succeeded" in refunds["links"][-1]
    assert data["byReason"]["labels"] == ["Billing error", "Duplicate"]


def test_the_charts_can_show_another_currency(actions, finance):
    data = chart_data(signed_in(finance).get(URL, {"chart_currency": "eur"}))

    assert data["currency"] == "EUR"
    assert [series["kind"] for series in data["byMonth"]["series"]] == ["refund"]
    assert data["byMonth"]["series"][0]["amounts"][-1] == 700


def test_the_chart_library_is_vendored_and_no_script_is_inline_or_external(actions, finance):
    response = signed_in(finance).get(URL)
    page = response.content.decode()

    sources = re.findall(r'<script[^>]*\bsrc="([^"]*)"', page)
    assert "/static/vendor/chartjs/chart.umd.min.js" in sources
    assert "/static/js/summary.js" in sources
    assert not [source for source in sources if not source.startswith("/static/")]
    assert not re.search(r'<script src="http', page)
    inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", page)
    assert inline == [' id="summary-chart-data" type="application/json"']
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    with open(finders.find("vendor/chartjs/chart.umd.min.js")) as library:
        assert "Chart.js v4.6.1" in library.read(200)
    assert finders.find("js/summary.js")


def test_an_empty_period_says_so(db, finance):
    page = signed_in(finance).get(URL).content.decode()

    assert "Nothing given back in this period" in page
    assert "summary-chart-data" not in page


# --- Access and bad input -----------------------------------------------------------------


def test_finance_and_admins_see_the_summary(db, finance, admin_user):
    assert signed_in(finance).get(URL).status_code == 200
    assert signed_in(admin_user).get(URL).status_code == 200


def test_specialists_and_tier2_are_refused(db, specialist, tier2, client):
    assert signed_in(specialist).get(URL).status_code == 403
    assert signed_in(tier2).get(URL).status_code == 403
    assert "/accounts/login/" in client.get(URL)["Location"]


@pytest.mark.parametrize("query, message", [
    ({"since": "yesterday"}, "is not a date; write it as YYYY-MM-DD"),
    ({"until": "2026-02-30"}, "is not a date"),
    ({"since": "2026-02-01", "until": "2026-01-01"}, "The period ends before it starts"),
    ({"until": "9999-12-31"}, "Choose a date between"),
    ({"since": "2001-01-01", "until": "2020-12-31"}, "60 months at most"),
])
def test_a_bad_period_is_a_message_not_a_500(db, finance, query, message):
    response = signed_in(finance).get(URL, query)

    assert response.status_code == 400
    assert message in response.content.decode()

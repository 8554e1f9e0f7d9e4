"""The audit trail as finance works it: filters, links, the detail with its approval, the
CSV export and its escaping, and who sees what."""

import csv
import io
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent, Source
from audit.services import record
from cases.models import StripeLink
from tests.cases.factories import make_case
from tests.conftest import signed_in


@pytest.fixture
def trail(db, specialist):
    case = make_case(stripe_customer_id="cus_A", stripe_link=StripeLink.VERIFIED)
    events = {
        "big_refund": record(action="refund.succeeded", amount=15_000, currency="usd",
                             case_id=case.pk, zendesk_ticket_id=case.zendesk_ticket_id,
                             stripe_object_id="re_big", stripe_request_id="req_big",
                             source=Source.SYSTEM, object_type="money_action",
                             after={"requested_by": "specialist", "customer": "cus_A",
                                    "reason_code": "courtesy"}),
        "small_credit": record(action="credit_memo.succeeded", amount=5_000, currency="eur",
                               case_id=case.pk, stripe_object_id="cn_small",
                               after={"requested_by": "someone", "customer": "cus_B",
                                      "reason_code": "billing_error"}),
        "sign_in": record(action="auth.logout", actor=specialist, source=Source.CONSOLE),
        "external": record(action="refund.external", amount=700, currency="usd",
                           source=Source.STRIPE, stripe_object_id="re_ext",
                           case_id=case.pk),
    }
    return case, events


def ids(response):
    return [int(value) for value in re.findall(r'data-event-id="(\d+)"',
                                               response.content.decode())]


@pytest.mark.parametrize("query, expected", [
    ({"kind": "refund"}, ["big_refund", "external"]),
    ({"action": "auth.logout"}, ["sign_in"]),
    ({"actor": "specialist"}, ["big_refund", "sign_in"]),
    ({"role": "billing_specialist", "action": "auth.logout"}, ["sign_in"]),
    ({"customer": "cus_A"}, ["big_refund"]),
    ({"reason": "billing_error"}, ["small_credit"]),
    ({"amount_min": "100.00", "currency": "USD"}, ["big_refund"]),
    ({"amount_max": "10.00"}, ["external"]),
    ({"currency": "eur"}, ["small_credit"]),
    ({"source": "stripe"}, ["external"]),
])
def test_each_filter_narrows_the_trail(trail, finance, query, expected):
    _, events = trail
    response = signed_in(finance).get("/audit/", query)

    assert response.status_code == 200
    assert sorted(ids(response)) == sorted(events[name].id for name in expected)


def test_a_period_and_a_case_filter(trail, finance):
    case, events = trail
    today = timezone.now().date()
    client = signed_in(finance)

    shown = ids(client.get("/audit/", {"since": today, "until": today}))
    assert {event.id for event in events.values()} <= set(shown)
    assert ids(client.get("/audit/", {"until": today - timedelta(days=1)})) == []
    assert sorted(ids(client.get("/audit/", {"case": case.pk}))) == sorted(
        events[name].id for name in ("big_refund", "small_credit", "external"))


# The API answers a parameter of the wrong shape with a 400 naming it (its schema says each
# one's shape), and a filter a rule refuses with the page's words, as a 409.
@pytest.mark.parametrize("query, message, api_refusal", [
    ({"since": "yesterday"}, "is not a date", "since"),
    ({"since": "2026-02-01", "until": "2026-01-01"}, "ends before it starts", None),
    ({"amount_min": "lots"}, "is not an amount", "amount_min"),
    ({"source": "fax"}, "There is no source “fax”", "source"),
    ({"case": "abc"}, "is not a case number", "case"),
    ({"until": "9999-12-31"}, "out of range", None),
    ({"since": "20260501"}, "write it as YYYY-MM-DD", "since"),
    ({"until": "2026-W18-1"}, "write it as YYYY-MM-DD", "until"),
    ({"role": "superuser"}, "There is no role “superuser”", "role"),
    ({"ticket": "#62"}, "is not a ticket number", "ticket"),
    ({"currency": "ÜSD"}, "is not an ISO 4217 currency code", "currency"),
    ({"currency": "ＵＳＤ"}, "is not an ISO 4217 currency code", "currency"),
    ({"amount_min": "60", "amount_max": "10"}, "ends below where it starts", None),
    ({"amount_min": "١٢"}, "is not an amount", "amount_min"),
    ({"before": "abc"}, "is not an event number", "before"),
    ({"before": "-1"}, "is not an event number", "before"),
])
def test_a_bad_filter_is_a_message_not_a_500(trail, finance, query, message, api_refusal):
    page = signed_in(finance).get("/audit/", query)
    api = signed_in(finance).get("/api/v1/audit-events/", query)

    assert page.status_code == 400 and message in page.content.decode()
    if api_refusal:
        assert api.status_code == 400 and api_refusal in api.json()["errors"]
    else:
        assert api.status_code == 409 and message in api.json()["message"]


def test_a_bad_filter_keeps_what_was_typed_in_the_form(trail, finance):
    page = signed_in(finance).get("/audit/", {"actor": "ana", "currency": "ÜSD",
                                              "since": "2026-02-01", "role": "finance"})

    html = page.content.decode()
    assert page.status_code == 400
    assert 'name="actor" value="ana"' in html and 'name="currency" value="ÜSD"' in html
    assert 'name="since" value="2026-02-01"' in html
    assert '<option value="finance" selected>' in html


def test_each_row_links_to_its_case_stripe_and_zendesk(trail, finance, settings):
    settings.ZENDESK_AGENT_URL = "https://example.zendesk.com/agent/tickets/"
    case, events = trail

    page = signed_in(finance).get("/audit/", {"action": "refund.succeeded"}).content.decode()

    assert f'href="/cases/{case.pk}/" data-link="case"' in page
    assert "search?query=re_big" in page and 'data-link="stripe"' in page
    assert f"https://example.zendesk.com/agent/tickets/{case.zendesk_ticket_id}" in page


def test_the_detail_shows_before_after_approval_and_the_stripe_request(sandbox, specialist,
                                                                       finance, refund_policy):
    from tests.refunds.conftest import api_client, new_charge, post_refund, refund_body

    customer, charge_id = new_charge(sandbox)
    case = make_case(stripe_customer_id=customer, stripe_link=StripeLink.VERIFIED)
    action_id = post_refund(specialist, refund_body(case, charge_id, stripe_reason="fraudulent")
                            ).json()["id"]
    api_client(finance).post(f"/api/v1/money-actions/{action_id}/approve/", {"note": "Checked."})
    approved = AuditEvent.objects.get(object_id=action_id, action="refund.approved")

    page = signed_in(finance).get(f"/audit/{approved.id}/").content.decode()

    assert "Approved by finance" in page and "Checked." in page
    assert "Before and after" in page and "&quot;requested_by&quot;: &quot;specialist&quot;" in page
    assert 'id="stripe-request-id"' in page


def read_csv(response):
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_the_export_form_carries_the_filters_as_they_are_read_back(trail, finance):
    page = signed_in(finance).get("/audit/", {"since": "2026-10-01", "kind": "refund"})

    form = page.content.decode().split('id="export-form"')[1].split("</form>")[0]
    assert 'name="since" value="2026-10-01"' in form and 'name="kind" value="refund"' in form


def test_the_export_streams_the_filtered_view_and_is_itself_audited(trail, finance):
    response = signed_in(finance).get("/api/v1/audit-events/export.csv", {"kind": "refund"})

    assert response.status_code == 200 and response.streaming
    rows = read_csv(response)
    assert rows[0][:3] == ["id", "created_at", "actor"]
    assert sorted(row[6] for row in rows[1:]) == ["refund.external", "refund.succeeded"]
    exported = AuditEvent.objects.get(action="audit.exported")
    assert exported.actor_username == "finance" and "kind=refund" in exported.reason


@pytest.mark.parametrize("dangerous", ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)",
                                       "\tcmd", "\rcmd"])
def test_the_export_neutralises_formulas(db, finance, dangerous):
    record(action="case.note", reason=dangerous, case_id=1)

    rows = read_csv(signed_in(finance).get("/api/v1/audit-events/export.csv"))

    reason = rows[1][16]
    assert reason == "'" + dangerous


def test_negative_amounts_stay_numbers_in_the_export(db, finance):
    record(action="balance_change.external", amount=-2_000, currency="usd", case_id=1)

    rows = read_csv(signed_in(finance).get("/api/v1/audit-events/export.csv"))

    assert rows[1][9] == "-2000" and rows[1][10] == "'-20.00 USD"


def test_a_specialist_sees_only_the_events_about_cases(trail, specialist):
    _, events = trail
    client = signed_in(specialist)

    shown = ids(client.get("/audit/"))
    assert events["sign_in"].id not in shown and events["big_refund"].id in shown
    assert client.get(f"/audit/{events['sign_in'].id}/").status_code == 404
    api = client.get("/api/v1/audit-events/").json()["results"]
    assert {event["id"] for event in api} == {events[name].id for name in (
        "big_refund", "small_credit", "external")}
    assert client.get("/api/v1/audit-events/export.csv").status_code == 403


def test_tier2_sees_no_audit_event(trail, tier2):
    client = signed_in(tier2)

    for path in ("/audit/", f"/audit/{trail[1]['big_refund'].id}/", "/api/v1/audit-events/",
                 "/api/v1/audit-events/export.csv"):
        assert client.get(path).status_code == 403, path


def test_the_api_pages_by_keyset_with_the_filters_kept(db, finance):
    for number in range(60):
        record(action="refund.succeeded", amount=100 + number, currency="usd", case_id=1)
    client = signed_in(finance)

    first = client.get("/api/v1/audit-events/", {"kind": "refund"}).json()
    second = client.get(first["next"]).json()

    assert len(first["results"]) == 50 and len(second["results"]) == 10
    assert "kind=refund" in first["next"]


def _visible(html):
    from tests.test_no_codes_on_pages import visible_text

    return visible_text(html)


def _change_row(html, label):
    """(before, after) of the row `label` of an event page's table of changes."""
    row = html.split(f'<th scope="row">{label}</th>')[1].split("</tr>")[0]
    return tuple(re.findall(r"<td>(.*?)</td>", row))


def test_an_event_reads_in_words_and_keeps_its_raw_record_folded(db, specialist, finance):
    """Before, the page said "Recorded as refund.approved on money_action <uuid>" and showed
    before and after as JSON, in minor units, with the customer's Stripe id."""
    specialist.first_name, specialist.last_name = "Sam", "Specialist"
    specialist.save()
    make_case(stripe_customer_id="cus_Q1abcdefgh", requester_name="Quinn Walsh")
    event = record(
        action="refund.approved", actor=finance, object_type="money_action",
        object_id="2b1d6f0e-7a4b-4f7e-9d0c-1c0e4a527a4b", amount=1_750, currency="usd",
        before={"state": "pending_approval"},
        after={"state": "approved", "amount": 1_750, "currency": "usd",
               "customer": "cus_Q1abcdefgh", "requested_by": specialist.username,
               "reason_code": "courtesy", "approved_by": finance.username})

    html = signed_in(finance).get(f"/audit/{event.id}/").content.decode()
    shown = _visible(html)

    assert "Refund of 17.50 USD" in shown and "Recorded as" not in shown
    assert _change_row(html, "State") == ("Waiting for approval", "Approved")
    assert _change_row(html, "Amount") == ("—", "17.50 USD")
    assert _change_row(html, "Stripe customer") == ("—", "Quinn Walsh")
    assert _change_row(html, "Requested by") == ("—", "Sam Specialist")
    assert _change_row(html, "Internal reason") == ("—", "Courtesy")
    assert not re.search(r"refund\.approved|money_action|cus_|1750|pending_approval", shown)
    raw = html.split('<details class="raw-record"')[1].split("</details>")[0]
    assert "<code>refund.approved</code>" in raw and "&quot;cus_Q1abcdefgh&quot;" in raw


def test_a_policy_change_reads_its_limits_in_the_currency_with_their_labels(db, admin_user,
                                                                           finance):
    event = record(action="policy.currency_limit_set", actor=admin_user,
                   object_type="currency_limit", object_id="USD", currency="usd",
                   before={"auto_approve_limit": 50_000, "take_cap": 100_000},
                   after={"auto_approve_limit": 75_000, "take_cap": 100_000})

    html = signed_in(finance).get(f"/audit/{event.id}/").content.decode()

    assert _change_row(html, "Auto-approve limit") == ("500.00 USD", "750.00 USD")
    assert _change_row(html, "Money taken: never more than") == ("1,000.00 USD",
                                                                 "1,000.00 USD")
    assert "auto_approve_limit" not in _visible(html) and "75000" not in _visible(html)


def test_the_trail_names_people_and_the_console_not_usernames(trail, specialist, finance):
    specialist.first_name, specialist.last_name = "Sam", "Specialist"
    specialist.save()
    case, events = trail

    html = signed_in(finance).get("/audit/").content.decode()
    rows = {int(pk): row for pk, row in re.findall(
        r'<tr data-event-id="(\d+)"(.*?)</tr>', html, re.DOTALL)}

    assert "Sam Specialist" in rows[events["sign_in"].id]
    assert ">specialist<" not in rows[events["sign_in"].id]
    assert "Billing Console" in rows[events["big_refund"].id]  # the system, on its own


def test_the_date_fields_are_empty_without_a_filter(trail, finance):
    html = signed_in(finance).get("/audit/").content.decode()

    assert 'name="since" value=""' in html and 'name="until" value=""' in html
    assert 'value="None"' not in html


def test_an_exports_filters_read_back_by_their_labels(db, finance):
    from audit.words import filters_in_words

    assert filters_in_words("amount_min=10.00&customer=cus_A&role=finance") == (
        "Amount from: 10.00; Customer's Stripe id: cus_A; Role: Finance")


def test_a_plan_changes_details_name_the_plan_and_say_dates_as_dates(db, finance):
    """Before: "Item id: a subscription item; Price id: a price; … Proration date:
    1796093918"; the ids stay in the raw record."""
    event = record(
        action="subscription_change.requested", actor=finance, object_type="money_action",
        object_id="2b1d6f0e-7a4b-4f7e-9d0c-1c0e4a527a4c", amount=9_500, currency="usd",
        after={"state": "pending_approval", "amount": 9_500, "currency": "usd",
               "target": "sub_1Abcdefgh",
               "target_name": "Console Team monthly × 5 → Console Pro annual × 3",
               "params": {"item_id": "si_1Abcdefgh", "price_id": "price_1Abcdefgh",
                          "quantity": 3, "proration_behavior": "always_invoice",
                          "proration_date": 1_796_093_918, "restarts_period": True}})

    html = signed_in(finance).get(f"/audit/{event.id}/").content.decode()
    shown = _visible(html)

    assert _change_row(html, "Acted on in Stripe") == (
        "—", "Console Team monthly × 5 → Console Pro annual × 3")
    assert _change_row(html, "Details") == ("—", (
        "Quantity: 3; Priced as of: 1 Dec 2026 02:58 UTC; Starts a new billing period: "
        "Yes; Proration: Invoiced now"))  # in the order the database keeps the keys
    assert not re.search(r"Item id|Price id|a subscription item|a price|1796093918", shown)
    raw = html.split('<details class="raw-record"')[1].split("</details>")[0]
    assert "si_1Abcdefgh" in raw and "1796093918" in raw


def test_a_cancellations_moment_reads_as_a_date_too(db, finance):
    """The same kind: the moment a cancellation with a refund was worked out at."""
    event = record(
        action="subscription_cancel_with_refund.requested", actor=finance,
        object_type="money_action", object_id="2b1d6f0e-7a4b-4f7e-9d0c-1c0e4a527a4d",
        amount=1_960, currency="usd", after={"params": {
            "at": 1_796_093_918, "invoice": "in_1Abcdefgh",
            "invoice_name": "invoice ACME-0012", "whole": False}})

    html = signed_in(finance).get(f"/audit/{event.id}/").content.decode()

    assert _change_row(html, "Details") == ("—", (
        "Worked out as of: 1 Dec 2026 02:58 UTC; The whole payment refunded: No; Invoice: "
        "invoice ACME-0012"))


def test_a_long_note_folds_on_the_event_and_is_shown_once(sandbox, specialist, finance,
                                                         refund_policy):
    """Before, a 4,900-character note showed in full twice: under "Reason" and in
    "Approval"."""
    from tests.refunds.conftest import new_charge, post_refund, refund_body

    customer, charge_id = new_charge(sandbox)
    case = make_case(stripe_customer_id=customer, stripe_link=StripeLink.VERIFIED)
    note = "The customer wrote at length. " * 163
    action_id = post_refund(specialist, refund_body(case, charge_id, stripe_reason="fraudulent",
                                                    note=note)).json()["id"]
    requested = AuditEvent.objects.get(object_id=action_id, action="refund.requested")

    html = signed_in(finance).get(f"/audit/{requested.id}/").content.decode()
    approvals = signed_in(finance).get("/approvals/").content.decode()

    assert html.count('<details class="folded">') == 1
    assert "with the note above" in html
    assert html.count(note.strip()) == 1  # once, behind its fold
    assert '<details class="folded">' in approvals.split(f'id="approval-{action_id}"')[1]

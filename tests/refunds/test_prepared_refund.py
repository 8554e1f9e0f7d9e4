"""The refund form prepared for a likely duplicate: from the case page's suggestion or the
charge's own "Refund…", it holds the whole remainder, Stripe's reason "duplicate", the
internal reason and a drafted note; the preview's policy checks that very amount; and the
address, which names the suggestion only, cannot change what is filled in."""

import html

from billing_console.names import moment_name, seconds_needed
from money_actions.models import MoneyAction, State
from tests.refunds.conftest import new_charge, refund_url, signed_in


def prefilled(client, url):
    """The form as the page shows it: each field's value, as a browser would send it."""
    response = client.get(url)
    assert response.status_code == 200
    form = response.context["form"]
    return {name: "" if form[name].value() is None else form[name].value()
            for name in form.fields}


def duplicate_pair(sandbox, charged, amount=1_750):
    """(case, the charge kept, the later one) of a fresh customer charged twice."""
    case, _ = charged
    customer, kept = new_charge(sandbox, amount=amount)
    _, later = new_charge(sandbox, amount=amount, customer=customer)
    case.stripe_customer_id = customer
    case.save(update_fields=["stripe_customer_id"])
    return case, kept, later


def test_the_suggested_refund_of_a_duplicate_is_prefilled_and_previewed_as_filled(
        charged, sandbox, specialist):
    case, kept, later = duplicate_pair(sandbox, charged)
    client = signed_in(specialist)

    form = prefilled(client, f"{refund_url(case, later)}?suggested=duplicate")
    shown = client.post(refund_url(case, later), {**form, "preview": "1"})

    assert form["amount"] == "17.50"
    assert (form["stripe_reason"], form["reason_code"]) == ("duplicate", "duplicate_charge")
    assert form["note"].startswith("Duplicate of the 17.50 USD charge of ")
    assert form["note"].endswith(", which is kept; refunded in full.")
    preview = shown.context["preview"]
    assert preview.confirm_label == "Confirm refund of 17.50 USD"
    assert any("comes to 17.50 USD" in verdict.explanation for verdict in preview.verdicts)
    assert not MoneyAction.objects.exists()


def test_the_form_names_the_other_charge_by_its_amount_and_moment(charged, sandbox,
                                                                 specialist):
    """Before: "…within a day (ch_XXqD…): likely a duplicate"."""
    case, kept, later = duplicate_pair(sandbox, charged)
    made = [sandbox.client.v1.charges.retrieve(each).created for each in (kept, later)]
    moment = moment_name(made[0], seconds=seconds_needed(made))

    page = html.unescape(signed_in(specialist).get(
        f"{refund_url(case, later)}?suggested=duplicate").content.decode())

    assert (f"This customer has another charge of the same amount within a day (the "
            f"17.50 USD charge of {moment}): likely a duplicate") in page
    assert kept not in page


def test_a_plain_refund_of_a_duplicate_is_prefilled_the_same_way(charged, sandbox,
                                                                 specialist):
    case, _, later = duplicate_pair(sandbox, charged)
    client = signed_in(specialist)

    assert prefilled(client, refund_url(case, later)) == \
        prefilled(client, f"{refund_url(case, later)}?suggested=duplicate")


def test_a_partly_refunded_duplicate_is_prefilled_with_what_is_left(charged, sandbox,
                                                                    specialist):
    case, _, later = duplicate_pair(sandbox, charged)
    sandbox.client.v1.refunds.create(params={"charge": later, "amount": 500})

    form = prefilled(signed_in(specialist), f"{refund_url(case, later)}?suggested=duplicate")

    assert form["amount"] == "12.50"
    assert form["note"].endswith("which is kept; 12.50 USD refunded, all that was left of it.")


def test_the_address_cannot_change_the_amount_or_the_note(charged, sandbox, specialist):
    case, _, later = duplicate_pair(sandbox, charged)
    client = signed_in(specialist)
    honest = prefilled(client, f"{refund_url(case, later)}?suggested=duplicate")

    tampered = prefilled(client, f"{refund_url(case, later)}?suggested=duplicate"
                                 "&amount=1750.00&note=Approved+by+finance&reason_code=courtesy")

    assert tampered == honest


def test_an_unknown_suggestion_on_a_charge_that_is_no_duplicate_opens_the_usual_form(
        charged, specialist):
    case, charge_id = charged

    form = prefilled(signed_in(specialist), f"{refund_url(case, charge_id)}?suggested=xyz")

    assert form["amount"] == "100.00"
    assert form["stripe_reason"] == "requested_by_customer"
    assert form["reason_code"] == form["note"] == ""


def test_confirming_the_prefilled_form_refunds_the_duplicate_in_full(
        charged, sandbox, specialist, eager_tasks, django_capture_on_commit_callbacks):
    case, _, later = duplicate_pair(sandbox, charged)
    client = signed_in(specialist)
    form = prefilled(client, f"{refund_url(case, later)}?suggested=duplicate")
    shown = client.post(refund_url(case, later), {**form, "preview": "1"})

    with django_capture_on_commit_callbacks(execute=True):
        client.post(refund_url(case, later), {**form, "confirm": "1",
                                              "request_key": shown.context["confirm_key"]})

    action = MoneyAction.objects.get()
    assert (action.amount, action.state, action.reason_code) == \
        (1_750, State.SUCCEEDED, "duplicate_charge")
    assert [refund.amount for refund in sandbox.client.v1.refunds.list(
        params={"charge": later}).data] == [1_750]


def refund_in_full(client, case, charge_id, **fields):
    """Refund the charge's prefilled form as shown (its suggestion when one is offered)."""
    form = {**prefilled(client, f"{refund_url(case, charge_id)}?suggested=duplicate"),
            **fields}
    shown = client.post(refund_url(case, charge_id), {**form, "preview": "1"})
    return client.post(refund_url(case, charge_id), {
        **form, "confirm": "1", "request_key": shown.context["confirm_key"]})


def test_the_charge_kept_is_no_duplicate_once_the_other_is_refunded(
        charged, sandbox, specialist, eager_tasks, django_capture_on_commit_callbacks):
    case, kept, later = duplicate_pair(sandbox, charged)
    client = signed_in(specialist)
    with django_capture_on_commit_callbacks(execute=True):
        refund_in_full(client, case, later)

    form = prefilled(client, refund_url(case, kept))
    shown = client.post(refund_url(case, kept), {**form, "reason_code": "courtesy",
                                                 "note": "Asked for both.", "preview": "1"})

    assert MoneyAction.objects.get().state == State.SUCCEEDED
    assert (form["stripe_reason"], form["reason_code"], form["note"]) == \
        ("requested_by_customer", "", "")
    warnings = " ".join(shown.context["preview"].warnings)
    assert "The other charge of this pair, the 17.50 USD charge of " in warnings
    assert "was refunded already: this would give back both." in warnings


def test_the_charge_kept_is_no_duplicate_while_the_others_refund_waits(
        charged, sandbox, specialist):
    case, kept, later = duplicate_pair(sandbox, charged)
    client = signed_in(specialist)
    refund_in_full(client, case, later, stripe_reason="fraudulent")

    form = prefilled(client, f"{refund_url(case, kept)}?suggested=duplicate")

    assert MoneyAction.objects.get().state == State.PENDING_APPROVAL
    assert (form["stripe_reason"], form["reason_code"], form["note"]) == \
        ("requested_by_customer", "", "")

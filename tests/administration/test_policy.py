"""The money policy, edited in the currency's own units and stored in minor units, each
change audited in the same transaction."""

import pytest

from administration import services
from audit.models import AuditEvent
from billing_console.exceptions import ApplicationError
from money_actions.models import CurrencyLimit, MoneyPolicy, ReasonCode, RoleLimit
from tests.conftest import signed_in

USD_FORM = {"auto_approve_limit": "750.00", "customer_window_limit": "2,000.00",
            "take_approval_limit": "500.00", "take_cap": "10000.00"}


@pytest.fixture
def admin_client(admin_user, refund_policy):
    return signed_in(admin_user)


def test_the_policy_page_shows_limits_in_major_units_with_the_currency(admin_client):
    page = admin_client.get("/manage/policy/").content.decode()
    assert "500.00 USD" in page and "2,000.00 EUR" in page
    assert "50000" not in page
    assert "Duplicate charge" in page


def test_the_edit_form_starts_from_the_limit_in_major_units(admin_client):
    page = admin_client.get("/manage/policy/currencies/usd/").content.decode()
    assert 'value="500.00"' in page
    assert "Auto-approve limit (USD)" in page


def test_an_admin_raises_a_limit_typed_in_dollars_and_it_is_audited(admin_client, admin_user):
    response = admin_client.post("/manage/policy/currencies/usd/", USD_FORM)
    assert response.status_code == 302
    limit = CurrencyLimit.objects.get(currency="usd")
    assert (limit.auto_approve_limit, limit.customer_window_limit,
            limit.take_approval_limit, limit.take_cap) == (75_000, 200_000, 50_000, 1_000_000)
    event = AuditEvent.objects.get(action="policy.currency_limit_set")
    assert event.actor_username == admin_user.username
    assert (event.object_id, event.currency) == ("USD", "USD")
    assert event.before["auto_approve_limit"] == 50_000
    assert event.after["auto_approve_limit"] == 75_000


def test_a_zero_decimal_currency_is_typed_in_whole_yen(admin_client):
    form = {"auto_approve_limit": "50000", "customer_window_limit": "200000",
            "take_approval_limit": "50000", "take_cap": "1000000"}
    assert admin_client.post("/manage/policy/currencies/jpy/", form).status_code == 302
    assert CurrencyLimit.objects.get(currency="jpy").auto_approve_limit == 50_000
    refused = admin_client.post("/manage/policy/currencies/jpy/",
                                {**form, "auto_approve_limit": "500.50"})
    assert refused.status_code == 400
    assert "JPY amounts have 0 decimal places at most." in refused.content.decode()


def test_a_three_decimal_currency_keeps_its_third_decimal(admin_client):
    form = {"auto_approve_limit": "150.125", "customer_window_limit": "600",
            "take_approval_limit": "100", "take_cap": "3000"}
    assert admin_client.post("/manage/policy/currencies/kwd/", form).status_code == 302
    assert CurrencyLimit.objects.get(currency="kwd").auto_approve_limit == 150_125


@pytest.mark.parametrize("typed, message", [
    ("abc", "is not an amount"),
    ("-5", "Enter a positive amount."),
    ("5.001", "USD amounts have 2 decimal places at most."),
    ("1" + "0" * 20, "That amount is too large for any one action: write at most 15 digits"),
    ("100000000.00", "That limit is not plausible"),
    ("", "This field is required."),
])
def test_bad_amounts_are_a_message_on_the_page_and_change_nothing(admin_client, typed,
                                                                  message):
    response = admin_client.post("/manage/policy/currencies/usd/",
                                 {**USD_FORM, "auto_approve_limit": typed})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert CurrencyLimit.objects.get(currency="usd").auto_approve_limit == 50_000
    assert not AuditEvent.objects.filter(action="policy.currency_limit_set").exists()


def test_an_approval_limit_above_the_cap_is_refused_in_words(admin_client):
    response = admin_client.post("/manage/policy/currencies/usd/",
                                 {**USD_FORM, "take_approval_limit": "20000.00"})
    assert response.status_code == 400
    assert "above the cap (10,000.00 USD)" in response.content.decode()


def test_a_junk_currency_code_is_a_400(admin_client):
    assert admin_client.get("/manage/policy/currencies/u1d/").status_code == 400
    assert admin_client.get("/manage/policy/currencies/?currency=12").status_code == 400
    added = admin_client.get("/manage/policy/currencies/?currency=chf")
    assert added.url == "/manage/policy/currencies/chf/"


def test_the_rules_for_every_currency_are_saved_and_audited(admin_client):
    response = admin_client.post("/manage/policy/rules/", {
        "charge_age_days": "90", "customer_window_days": "14", "duplicate_window_hours": "6"})
    assert response.status_code == 302
    policy = MoneyPolicy.current()
    assert (policy.charge_age_days, policy.customer_window_days,
            policy.duplicate_window_hours, policy.fraudulent_needs_approval) == (
        90, 14, 6, False)
    event = AuditEvent.objects.get(action="policy.rules_set")
    assert event.before["fraudulent_needs_approval"] is True
    assert event.after["fraudulent_needs_approval"] is False


def test_a_rule_out_of_range_is_refused(admin_client):
    response = admin_client.post("/manage/policy/rules/", {
        "charge_age_days": "0", "customer_window_days": "14", "duplicate_window_hours": "6"})
    assert response.status_code == 400
    assert MoneyPolicy.current().charge_age_days == 180


def test_a_rule_out_of_range_in_the_service_names_it_by_its_label(admin_user, refund_policy):
    """Before: "Charge age days must be a whole number from 1 to 3,650."."""
    rules = {"charge_age_days": 0, "customer_window_days": 14, "duplicate_window_hours": 6,
             "fraudulent_needs_approval": True}

    with pytest.raises(ApplicationError) as refused:
        services.money_policy_set(rules=rules, actor=admin_user)

    assert refused.value.message == ("“Refunds of charges older than (days) need approval” "
                                     "takes a whole number from 1 to 3,650.")


def test_a_role_limit_is_set_in_major_units_and_removed_when_blank(admin_client):
    form = {"role": "billing_specialist", "currency": "eur", "limit": "250.00"}
    assert admin_client.post("/manage/policy/role-limits/", form).status_code == 302
    assert RoleLimit.objects.get(role="billing_specialist", currency="eur").limit == 25_000
    assert "250.00 EUR" in admin_client.get("/manage/policy/").content.decode()
    assert admin_client.post("/manage/policy/role-limits/",
                             {**form, "limit": ""}).status_code == 302
    assert not RoleLimit.objects.exists()
    actions = AuditEvent.objects.filter(action="policy.role_limit_set").order_by("id")
    assert [event.after for event in actions] == [{"limit": 25_000}, None]


def test_only_requesting_roles_have_a_limit(admin_user, refund_policy):
    with pytest.raises(ApplicationError, match="Only roles that ask"):
        services.role_limit_set(role="finance", currency="usd", limit=100, actor=admin_user)


def test_reason_codes_are_added_renamed_and_retired(admin_client):
    assert admin_client.post("/manage/policy/reasons/", {
        "label": "Goodwill gesture"}).status_code == 302
    goodwill = ReasonCode.objects.get(code="goodwill_gesture")
    assert goodwill.active and goodwill.position == 6
    prefix = f"reason-{goodwill.pk}"
    response = admin_client.post(f"/manage/policy/reasons/{goodwill.pk}/", {
        f"{prefix}-label": "Goodwill", f"{prefix}-position": "0"})
    assert response.status_code == 302
    goodwill.refresh_from_db()
    assert (goodwill.label, goodwill.active, goodwill.position) == ("Goodwill", False, 0)
    assert list(AuditEvent.objects.filter(kind="policy").order_by("id").values_list(
        "action", flat=True)) == ["policy.reason_code_added", "policy.reason_code_changed"]


@pytest.mark.parametrize("label, message", [
    ("Duplicate  charge!", "already a reason named like"),
    ("—", "at least one letter or digit"),
    ("", "This field is required."),
    ("x" * 121, "at most 120 characters"),
])
def test_a_reason_named_like_another_or_unnamed_is_refused(admin_client, label, message):
    response = admin_client.post("/manage/policy/reasons/", {"label": label})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert ReasonCode.objects.count() == 6


def test_the_policy_page_shows_reasons_by_name_never_by_code(admin_client):
    page = admin_client.get("/manage/policy/").content.decode()
    assert "Duplicate charge" in page
    assert ">duplicate_charge<" not in page


def test_a_refused_change_leaves_no_audit_event(admin_user, refund_policy):
    limits = {"auto_approve_limit": 1, "customer_window_limit": 1,
              "take_approval_limit": 2, "take_cap": 1}
    with pytest.raises(ApplicationError):
        services.currency_limit_set(currency="usd", limits=limits, actor=admin_user)
    assert not AuditEvent.objects.exists()

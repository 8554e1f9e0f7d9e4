"""An admin works without leaving the console: in Chromium they raise the USD
auto-approve limit to 750.00, typed in dollars, and unlock a specialist who typed five
wrong passwords; Django's admin is never opened. The limit is then 75,000 cents in the
database and the specialist signs in."""

from money_actions.models import CurrencyLimit


def test_an_admin_raises_a_limit_and_unlocks_a_user_without_leaving_the_console(
        actors, page, sign_in, live_server, refund_policy):
    visited = []
    page.on("request", lambda request: visited.append(request.url))

    for _ in range(5):
        sign_in("specialist", "wrong password")
    sign_in("specialist")
    assert page.get_by_text("Account locked").is_visible()

    page.console_errors.clear()  # the locked-out sign-in answered 429, as it should

    sign_in("admin")
    assert page.url == live_server.url + "/manage/"
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Admin").wait_for()

    page.get_by_role("link", name="Money policy").first.click()
    page.get_by_role("link", name="Edit the USD limits").click()
    limit = page.get_by_label("Auto-approve limit (USD)")
    assert limit.input_value() == "500.00"
    limit.fill("750.00")
    page.get_by_role("button", name="Save the USD limits").click()
    page.get_by_text("The USD limits are saved.").wait_for()
    usd_row = page.locator("#currency-limits tr[data-currency=usd]")
    assert "750.00 USD" in usd_row.inner_text()

    page.get_by_role("link", name="Users").first.click()
    specialist_row = page.locator("#users tr[data-username=specialist]")
    assert "Locked" in specialist_row.inner_text()
    specialist_row.get_by_role("button", name="Unlock specialist").click()
    page.get_by_text("specialist is unlocked and can sign in again.").wait_for()
    assert "Can sign in" in page.locator("#users tr[data-username=specialist]").inner_text()
    assert page.console_errors == []

    assert CurrencyLimit.objects.get(currency="usd").auto_approve_limit == 75_000
    assert not [url for url in visited if url.startswith(live_server.url + "/admin/")]

    sign_in("specialist")
    assert page.url == live_server.url + "/cases/"

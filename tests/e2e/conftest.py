"""Browser tests: Playwright drives Debian's Chromium against the live test server."""

from pathlib import Path

import pytest

from tests.conftest import PASSWORD, authenticator, authenticator_code

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="module")
def browser():
    """One Chromium per test module. While it runs, Playwright's event loop lives in this
    thread, so Django must be told that the tests' synchronous database calls are safe;
    the variable is gone again before any other module runs."""
    if not CHROMIUM.exists():
        pytest.skip("no Chromium at /usr/bin/chromium (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.console_errors = []
    page.on("console", lambda message: message.type == "error"
            and page.console_errors.append(message.text))
    yield page
    context.close()


def _enrolled_if_an_admin(username):
    """Admins enrolled their authenticator app earlier (enrolment has its own tests)."""
    from django.contrib.auth.models import User

    from billing_console.access import second_factor_needed

    user = User.objects.filter(username=username).first()
    if user is not None and second_factor_needed(user):
        authenticator(user)


@pytest.fixture
def sign_in(page):
    def as_user(username, password=PASSWORD):
        """Sign in, as someone else if need be. Leaving the page first stops its requests
        in flight, whose answers would otherwise bring the last session's cookie back."""
        page.goto("about:blank")
        page.context.clear_cookies()
        _enrolled_if_an_admin(username)
        page.goto("/accounts/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", password)
        page.press("#id_password", "Enter")
        page.wait_for_load_state()
        if page.url.split("?")[0].endswith("/accounts/second-factor/"):
            give_second_factor(page, username)
        return page

    return as_user


def give_second_factor(page, username):
    """An admin's second step: a code from their authenticator app (enrolled before)."""
    from django.contrib.auth.models import User

    device = authenticator(User.objects.get(username=username))
    page.fill("#id_code", authenticator_code(device))
    page.press("#id_code", "Enter")
    page.wait_for_load_state()

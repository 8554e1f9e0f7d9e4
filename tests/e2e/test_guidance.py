"""Guidance in Chromium: a Tier 2 agent opens a case by its ticket number, reads billing's
guidance (a hostile playbook stays inert) and asks a question; a specialist finds it in
the questions queue and answers; the agent reads the answer on the case."""

from guidance import services
from tests.cases.factories import make_case


def test_tier2_reads_guidance_and_asks_and_a_specialist_answers(actors, page, sign_in):
    specialist = actors["specialist"]
    case = make_case(subject="Charged twice in March", category="duplicate_charge")
    services.case_guidance_add(case=case, author=specialist, body=(
        "Tell the customer the duplicate was refunded on the 20th; **do not promise a "
        "credit**. <script>alert(1)</script>"))
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    sign_in("tier2")
    page.fill("#find-ticket", str(case.zendesk_ticket_id))
    page.click("form.find-case button[type=submit]")
    page.wait_for_url(f"**/cases/{case.pk}/summary/")
    guidance = page.locator("#tier2-guidance").inner_text()
    assert "do not promise a credit" in guidance and "alert(1)" not in guidance
    page.fill("#ask-form textarea[name=body]", "May I offer a goodwill credit instead?")
    page.click("#ask-form button[type=submit]")
    page.get_by_text("Question sent to billing").wait_for()

    sign_in("specialist")
    page.get_by_role("link", name="Questions").click()
    page.get_by_text("May I offer a goodwill credit instead?").click()
    page.fill("#answer-form textarea[name=answer]", "No credit; the refund covers it.")
    page.click("#answer-form button[type=submit]")
    page.get_by_text("Answer sent").wait_for()

    sign_in("tier2")
    page.goto(f"/cases/{case.pk}/summary/")
    assert "No credit; the refund covers it." in page.locator("main").inner_text()
    assert dialogs == [] and page.console_errors == []

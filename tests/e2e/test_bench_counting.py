"""The expert jobs' benchmark (`bench/expert_jobs.py`) counts what a person does on a tiny
page in Chromium as it counts on the demo's, and never says a job meets its goal when the
job's end state was not reached."""

from types import SimpleNamespace

from bench.expert_jobs import (
    Counted,
    Goal,
    Result,
    keep_or_choose,
    keep_or_template,
    keep_or_write,
    write_over,
)

SITE = "http://bench.test"
PAGES = {
    "/first": """<!doctype html><title>First</title>
        <button id="swap" onclick="document.getElementById('out').textContent = 'swapped'">
          Swap</button>
        <button id="push" onclick="history.pushState({}, '', '/pushed')">Push</button>
        <p id="out"></p>
        <iframe src="/frame"></iframe>
        <form action="/second">
          <select name="kind"><option value="a">A</option><option value="b">B</option></select>
          <input id="words" name="words">
        </form>""",
    "/second": '<!doctype html><title>Second</title><a id="back" href="/first">Back</a>',
    "/frame": '<!doctype html><a id="inner" href="/frame-next">In the frame</a>',
    "/frame-next": "<!doctype html><p>Next in the frame</p>",
    "/form": """<!doctype html><title>Form</title>
        <select id="id_code"><option value="">Choose…</option>
          <option value="refunded" selected>Refunded</option></select>
        <textarea id="id_summary">Refunded the duplicate.</textarea>
        <textarea id="id_note"></textarea>
        <select data-reply-target="id_public_reply"
                onchange="document.getElementById('id_public_reply').value = this.value">
          <option value="">Choose a template…</option>
          <option value="Hi, your refund is on its way.">Refund issued</option></select>
        <textarea id="id_public_reply"></textarea>""",
}


def _serve(route):
    path = route.request.url.removeprefix(SITE).split("?")[0]
    route.fulfill(status=200, content_type="text/html", body=PAGES[path])


def test_counts_interactions_characters_and_the_main_frames_loads(browser):
    page = browser.new_page()
    page.route(f"{SITE}/**", _serve)
    page.goto(f"{SITE}/first")
    counted = Counted(page)  # the job starts on a page already loaded

    counted.click(page.locator("#swap"))  # changes the page in place: no load
    counted.click(page.locator("#push"))  # a new address, the same document: no load
    counted.choose(page.locator("select"), value="b")
    counted.click(page.locator("#words"))
    counted.type("hello")
    counted.press("Enter")  # submits the form: a load
    page.locator("#back").wait_for()
    counted.click(page.locator("#back"))  # a load, and the frame's own, which is not one
    counted.click(page.frame_locator("iframe").locator("#inner"))  # the frame's load alone
    page.frame_locator("iframe").locator("text=Next in the frame").wait_for()
    counted.settled()

    assert (counted.interactions, counted.typed, counted.page_loads) == (7, 5, 2)
    assert page.url == f"{SITE}/first"
    page.close()


def test_the_expert_keeps_what_is_drafted_right_and_the_plain_way_writes_over_it(browser):
    page = browser.new_page()
    page.route(f"{SITE}/**", _serve)
    page.goto(f"{SITE}/form")
    counted = Counted(page)

    keep_or_choose(counted, "#id_code", "refunded")  # chosen already
    keep_or_write(counted, "#id_summary", "Typed.")  # drafted already
    keep_or_write(counted, "#id_note", "Dup.")  # empty: a click and four characters
    keep_or_template(counted, "id_public_reply", "Refund issued")  # empty: a choice
    keep_or_template(counted, "id_public_reply", "Refund issued")  # filled now
    assert (counted.interactions, counted.typed) == (2, 4)
    assert page.input_value("#id_public_reply") == "Hi, your refund is on its way."

    write_over(counted, "#id_summary", "Mine.")  # a click, select all, five characters
    assert (counted.interactions, counted.typed) == (4, 9)
    assert page.input_value("#id_summary") == "Mine."
    page.close()


def test_a_job_not_done_never_meets_its_goal():
    few = SimpleNamespace(interactions=6, typed=0, page_loads=5)
    goal = Goal(7, typed=10)

    assert Result("duplicate charge", goal, few, 2.0).verdict() == (
        "<= 7 interactions, <= 10 characters typed: meets goal")
    not_done = Result("duplicate charge", goal, few, 2.0,
                      not_done=["the case is not resolved"])
    assert not_done.verdict() == "not done: the case is not resolved"
    stuck = Result("duplicate charge", goal, stuck="no Resolve button on /cases/7/")
    assert stuck.verdict() == "not measured: no Resolve button on /cases/7/"
    too_much_typed = SimpleNamespace(interactions=6, typed=11, page_loads=5)
    assert Result("duplicate charge", goal, too_much_typed, 2.0).verdict().endswith(
        ": misses goal")

"""Issue 20's three common jobs, done in Chromium on the demo as an expert does them, and
counted. Each starts on the queue page, signed in as the demo specialist (through the
sign-in page, with the password the demo's banner prints), and ends with the case resolved
with one public reply:

- duplicate charge: the later of two equal charges refunded in full; goal at most 7
  interactions and 10 characters typed;
- cancel with a refund of the unused period: the subscription canceled now and the unused
  part of its last payment refunded; goal at most 9 interactions;
- credit memo for one overbilled seat: a credit note of one seat's amount on the invoice
  that billed a seat more than the subscription has; goal at most 9 interactions.

The expert uses what the console prepares (the suggested action, its drafted note and
reply, the drafted resolution) and changes only what is not right, by keyboard where the
page offers a key. As a baseline in the same run, the duplicate job is done the plain way:
the charge's own refund link, every reason and code chosen by hand, the note and the summary
written (over any draft) and a reply template chosen.

Counted (`Counted`): each click, choice in a select and key press that types no text is one
interaction (scrolling is not); characters typed are counted; page loads are the page's
"load" events, which only its main frame's navigations fire (an htmx swap is none). Seconds
run from the queue to the last page load, with the worker's time to send the money to
Stripe: the console refuses to resolve a case whose money is still on its way, so the
expert resolves once it has gone. A job's end state is then checked in the sandboxes and
the console's database, and a job that did not get there never "meets goal".

`make bench` runs them on the demo whose readiness it measures (BENCH_SKIP_DEMO=1 skips
both, BENCH_SKIP_EXPERT_JOBS=1 these alone); `python -m bench.expert_jobs` runs them alone,
on a demo of their own. They need Chromium at /usr/bin/chromium.
"""

import json
import os
import re
import sqlite3
import sys
import tempfile
import time
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from bench import demo_ready

CHROMIUM = "/usr/bin/chromium"
# How long a step waits for what it looks for on the page, in milliseconds.
STEP_TIMEOUT_MS = 15_000
# How long the console has to send the money to Stripe, and its words to Zendesk, in seconds.
SETTLE_SECONDS = 60
# Two charges of one amount this close (seconds) are a duplicate, for the bench's checks.
DUPLICATE_WINDOW_SECONDS = 600
SUGGESTIONS = "#panel-suggestions [data-suggestion]"


class Stuck(Exception):
    """A job could not go on: what it looked for is not on the page."""


@dataclass(frozen=True)
class Goal:
    interactions: int
    typed: int | None = None  # characters; None: no goal for them

    def words(self):
        return f"<= {self.interactions} interactions" + (
            f", <= {self.typed} characters typed" if self.typed is not None else "")

    def met_by(self, counted):
        return counted.interactions <= self.interactions and (
            self.typed is None or counted.typed <= self.typed)


class Counted:
    """A Playwright page and what a person did on it since: `interactions` (each click,
    choice in a select and key press that types no text), `typed` (characters) and
    `page_loads` (the page's "load" events: its main frame's navigations)."""

    def __init__(self, page):
        self.page = page
        self.interactions = self.typed = self.page_loads = 0
        page.on("load", self._loaded)

    def _loaded(self, _page):
        self.page_loads += 1

    def click(self, locator):
        locator.click()
        self.interactions += 1

    def choose(self, select, **option):
        """`option`: Playwright's `select_option` keywords (value=…, label=…)."""
        select.select_option(**option)
        self.interactions += 1

    def press(self, key):
        self.page.keyboard.press(key)
        self.interactions += 1

    def type(self, text):
        """Typed into the element that has the focus."""
        self.page.keyboard.type(text)
        self.typed += len(text)

    def settled(self):
        """Once the last navigation has loaded: the counts are complete."""
        self.page.wait_for_load_state("load")
        return self


@dataclass
class Result:
    name: str
    goal: Goal | None  # None: the baseline
    counted: Counted | None = None
    seconds: float = 0.0
    not_done: list[str] = field(default_factory=list)  # what the end state lacks
    stuck: str = ""  # why the job could not be done at all

    def verdict(self):
        """"meets goal" only for a job whose end state holds."""
        if self.stuck:
            return f"not measured: {self.stuck}"
        if self.not_done:
            return "not done: " + "; ".join(self.not_done)
        if self.goal is None:
            return "done (baseline)"
        return f"{self.goal.words()}: " + (
            "meets goal" if self.goal.met_by(self.counted) else "misses goal")


# The demo, read from outside: its database, its sandboxes --------------------------------


class Demo:
    """The running demo of `banner`, whose SQLite database is at `database`. The console's
    models are imported once Django is set up: `main()` sets it up after this module is
    imported."""

    def __init__(self, banner, database):
        from cases.models import Case, WriteBack
        from money_actions.models import MoneyAction

        self.url = demo_ready.console_url(banner)
        self.stripe_url, self.zendesk_url = demo_ready.sandbox_urls(banner)
        self.password = demo_ready.sign_ins(banner)["specialist"]
        self.database = database
        self._tables = {"case": Case._meta.db_table, "action": MoneyAction._meta.db_table,
                        "write_back": WriteBack._meta.db_table}

    def rows(self, sql, *params):
        """`sql`'s rows as dicts; {case}, {action} and {write_back} name the tables."""
        with closing(sqlite3.connect(self.database, timeout=10)) as db:
            db.row_factory = sqlite3.Row
            return [dict(row) for row in db.execute(sql.format(**self._tables), params)]

    def open_cases(self, tag, taken):
        """The new cases of the Zendesk `tag` whose customer is verified and not in
        `taken` (customer ids), oldest first."""
        from cases.models import State, StripeLink

        found = self.rows("SELECT id, zendesk_ticket_id, stripe_customer_id, tags FROM {case} "
                          "WHERE state = ? AND stripe_link = ? ORDER BY id",
                          State.NEW, StripeLink.VERIFIED)
        return [case for case in found if tag in json.loads(case["tags"])
                and case["stripe_customer_id"] not in taken]

    def stripe(self, path):
        return demo_ready.stripe_list(self.stripe_url, path)

    def public_replies(self, ticket_id):
        """The ticket's public comments by anyone but its requester."""
        ticket = demo_ready.zendesk_get(self.zendesk_url, f"/api/v2/tickets/{ticket_id}.json")
        comments = demo_ready.zendesk_get(
            self.zendesk_url, f"/api/v2/tickets/{ticket_id}/comments.json")["comments"]
        return [comment for comment in comments if comment["public"]
                and comment["author_id"] != ticket["ticket"]["requester_id"]]

    def money_on_its_way(self, case_id):
        """Whether a money action of the case is approved or being sent to Stripe."""
        from money_actions.models import State

        return bool(self.rows("SELECT id FROM {action} WHERE case_id = ? AND state IN (?, ?)",
                              case_id, State.APPROVED, State.SUBMITTING))

    def words_on_their_way(self, case_id):
        """Whether something for the case's Zendesk ticket waits to be sent."""
        from cases.models import WriteBack

        return bool(self.rows("SELECT id FROM {write_back} WHERE case_id = ? AND status IN "
                              "(?, ?, ?)", case_id, WriteBack.Status.PENDING,
                              WriteBack.Status.SENDING, WriteBack.Status.FAILED))

    def case_state(self, case_id):
        return self.rows("SELECT state FROM {case} WHERE id = ?", case_id)[0]["state"]


def wait_while(busy, *args):
    """Until `busy(*args)` is false, or `SETTLE_SECONDS`."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while busy(*args) and time.monotonic() < deadline:
        time.sleep(0.1)


# What a person does on the console's pages ------------------------------------------------


def on_page(page, target, what):
    """`target` (a selector, or a locator) once it shows; Stuck, naming `what`, when it
    does not within `STEP_TIMEOUT_MS`."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    locator = (page.locator(target) if isinstance(target, str) else target).first
    try:
        locator.wait_for(timeout=STEP_TIMEOUT_MS)
    except PlaywrightTimeout:
        raise Stuck(f"no {what} on {urlsplit(page.url).path}") from None
    return locator


def open_case(counted, case):
    """From the queue: a click on the case's row, or, when the first page does not show
    it, a search for its ticket number (`/`, the number, Enter)."""
    row = counted.page.locator(f'#queue-rows a[href$="/cases/{case["id"]}/"]')
    if row.count():
        counted.click(row.first)
    else:
        counted.press("/")
        counted.type(str(case["zendesk_ticket_id"]))
        counted.press("Enter")
    on_page(counted.page, "#resolve-form", "case page")


def open_action(counted, words, what):
    """The money action whose words match `words` (a regular expression, any case), from
    the case page: its suggestion, with `s` then Enter when it is the first and a click
    otherwise, or else a click on its link in the Stripe panel."""
    page = counted.page
    on_page(page, "#stripe-panel:not([aria-busy])", "Stripe panel")
    pattern = re.compile(words, re.IGNORECASE)
    suggestion = page.locator(SUGGESTIONS, has_text=pattern)
    link = page.locator("#stripe-panel a", has_text=pattern)
    if suggestion.count():
        first = page.locator(SUGGESTIONS).first
        if first.get_attribute("href") == suggestion.first.get_attribute("href"):
            counted.press("s")
            counted.press("Enter")
        else:
            counted.click(suggestion.first)
    elif link.count():
        counted.click(link.first)
    else:
        raise Stuck(f"no {what} on the case page")
    on_page(page, "#action-form", f"form of the {what}")


def keep_or_choose(counted, selector, value):
    """The expert keeps a choice that is right and makes it otherwise."""
    select = on_page(counted.page, selector, f"field {selector}")
    if select.input_value() != value:
        counted.choose(select, value=value)


def keep_or_write(counted, selector, text):
    """The expert keeps a draft and writes `text` into an empty field."""
    box = on_page(counted.page, selector, f"field {selector}")
    if not box.input_value().strip():
        counted.click(box)
        counted.type(text)


def keep_or_template(counted, reply_id, template):
    """An empty reply box (of the id `reply_id`) gets the reply template labelled
    `template`; a form without one is left as it is."""
    box = counted.page.locator(f"#{reply_id}")
    if box.count() and not box.input_value().strip():
        counted.choose(counted.page.locator(f'select[data-reply-target="{reply_id}"]'),
                       label=template)


def write_over(counted, selector, text):
    """The plain way: `text` written by hand, over whatever the field held."""
    box = on_page(counted.page, selector, f"field {selector}")
    counted.click(box)
    if box.input_value():
        counted.press("Control+A")
    counted.type(text)


def preview_and_confirm(counted):
    page = counted.page
    counted.click(on_page(page, "#action-form button[name=preview]", "preview button"))
    counted.click(on_page(page, "#confirm-action", "confirm button"))
    on_page(page, "#resolve-form", "case page after confirming")


def resolve(counted, demo, case, *, code, summary, template=None):
    """The resolution form, reached with `r`: the code and summary kept when drafted right,
    and a reply from `template` when none was given with the money action. Resolved once
    the money has gone to Stripe, since the console holds a case whose money waits."""
    page = counted.page
    page.wait_for_load_state("load")  # the page's keys work once its script has run
    wait_while(demo.money_on_its_way, case["id"])
    counted.press("r")
    keep_or_choose(counted, "#id_code", code)
    keep_or_write(counted, "#id_summary", summary)
    if template:
        keep_or_template(counted, "id_public_reply", template)
    counted.click(on_page(page, "#resolve-form button[type=submit]", "Resolve button"))
    counted.settled()


def resolve_by_hand(counted, demo, case, *, code, summary):
    """The plain way: the form scrolled to, the code chosen and the summary written."""
    page = counted.page
    wait_while(demo.money_on_its_way, case["id"])
    counted.choose(on_page(page, "#id_code", "resolution code"), value=code)
    write_over(counted, "#id_summary", summary)
    counted.click(on_page(page, "#resolve-form button[type=submit]", "Resolve button"))
    counted.settled()


# The jobs: the case each is done on, what an expert does, and the end state ---------------


@dataclass(frozen=True)
class Found:
    """The case of a job, and what its end state is checked against (`facts`)."""

    case: dict
    facts: dict


def _found(demo, case, **facts):
    replies = len(demo.public_replies(case["zendesk_ticket_id"]))
    return Found(case, {"replies": replies, **facts})


def resolved_with_one_reply(demo, found):
    """What the case lacks of being resolved with one public reply, in words."""
    from cases.models import State

    lacking = []
    if demo.case_state(found.case["id"]) != State.RESOLVED:
        lacking.append("the case is not resolved")
    replies = len(demo.public_replies(found.case["zendesk_ticket_id"])) - found.facts["replies"]
    if replies != 1:
        lacking.append(f"the customer got {replies} replies, not one")
    return lacking


def find_charged_twice(demo, taken):
    """A duplicate charge case whose customer has two succeeded charges of one amount
    within `DUPLICATE_WINDOW_SECONDS`, neither refunded."""
    for case in demo.open_cases("duplicate_charge", taken):
        charges = demo.stripe(f"/v1/charges?customer={case['stripe_customer_id']}")
        paid = sorted((charge for charge in charges
                       if charge["status"] == "succeeded" and not charge["amount_refunded"]),
                      key=lambda charge: (charge["currency"], charge["amount"], charge["created"]))
        for first, second in zip(paid, paid[1:], strict=False):
            if (first["currency"], first["amount"]) == (second["currency"], second["amount"]) \
                    and second["created"] - first["created"] <= DUPLICATE_WINDOW_SECONDS:
                return _found(demo, case, pair={first["id"], second["id"]}, later=second["id"],
                              refunded={c["id"]: c["amount_refunded"] for c in charges})
    return None


def duplicate_refunded(demo, found):
    """One of the two equal charges refunded in full, and no other charge touched."""
    charges = {charge["id"]: charge for charge in
               demo.stripe(f"/v1/charges?customer={found.case['stripe_customer_id']}")}
    changed = [charge_id for charge_id, before in found.facts["refunded"].items()
               if charges[charge_id]["amount_refunded"] != before]
    lacking = resolved_with_one_reply(demo, found)
    if len(changed) != 1 or changed[0] not in found.facts["pair"] \
            or charges[changed[0]]["amount_refunded"] != charges[changed[0]]["amount"]:
        lacking.insert(0, "not one of the two equal charges refunded in full, alone")
    return lacking


def refund_the_duplicate(counted, demo, found):
    open_case(counted, found.case)
    open_action(counted, "duplicate", "suggested refund of the duplicate")
    keep_or_choose(counted, "#id_stripe_reason", "duplicate")
    keep_or_choose(counted, "#id_reason_code", "duplicate_charge")
    keep_or_write(counted, "#id_note", "Duplicate charge, refunded in full.")
    keep_or_template(counted, "id_customer_reply", "Refund issued")
    preview_and_confirm(counted)
    resolve(counted, demo, found.case, code="refunded", summary="Refunded the duplicate.")


# What the issue measured the plain way typed: a note of 63 characters, a summary of 34.
PLAIN_NOTE = "Customer charged twice for the add-on; refunding the later one."
PLAIN_SUMMARY = "Refunded the duplicate add-on fee."


def refund_the_duplicate_by_hand(counted, demo, found):
    """The plain way, as the issue measured it before the console prepared anything."""
    page = counted.page
    open_case(counted, found.case)
    later = found.facts["later"]
    counted.click(on_page(page, f'#stripe-panel a[data-refund="{later}"]', "refund link"))
    counted.choose(on_page(page, "#id_stripe_reason", "Stripe reason"), value="duplicate")
    counted.choose(on_page(page, "#id_reason_code", "internal reason"), value="duplicate_charge")
    counted.choose(on_page(page, 'select[data-reply-target="id_customer_reply"]',
                           "reply templates"), label="Refund issued")
    write_over(counted, "#id_note", PLAIN_NOTE)
    preview_and_confirm(counted)
    resolve_by_hand(counted, demo, found.case, code="refunded", summary=PLAIN_SUMMARY)


def find_overbilled_seat(demo, taken):
    """A plan change case whose customer's subscription has fewer seats now than its
    latest paid or open invoice billed."""
    for case in demo.open_cases("plan_change", taken):
        customer = case["stripe_customer_id"]
        for subscription in demo.stripe(f"/v1/subscriptions?customer={customer}"):
            item = subscription["items"]["data"][0]
            invoice = _latest_invoice(demo, customer, subscription["id"])
            line = invoice and _line_of_price(invoice, item["price"]["id"])
            if line and line["quantity"] > item["quantity"]:
                notes = demo.stripe(f"/v1/credit_notes?invoice={invoice['id']}")
                return _found(demo, case, invoice=invoice["id"],
                              seat=line["amount"] // line["quantity"],
                              notes={note["id"] for note in notes})
    return None


def _latest_invoice(demo, customer, subscription_id):
    invoices = [invoice for invoice in demo.stripe(f"/v1/invoices?customer={customer}")
                if _subscription_of(invoice) == subscription_id
                and invoice["status"] in ("paid", "open")]
    return max(invoices, key=lambda invoice: invoice["created"], default=None)


def _subscription_of(invoice):
    """The id of the subscription that billed `invoice`, where Stripe's API of 2025 and
    later says it, or its older field."""
    details = (invoice.get("parent") or {}).get("subscription_details") or {}
    return details.get("subscription") or invoice.get("subscription")


def _line_of_price(invoice, price_id):
    for line in invoice["lines"]["data"]:
        details = (line.get("pricing") or {}).get("price_details") or {}
        if details.get("price") == price_id:
            return line
    return None


def seat_credited(demo, found):
    """One credit note, of one seat's amount, on the invoice."""
    notes = [note for note in demo.stripe(f"/v1/credit_notes?invoice={found.facts['invoice']}")
             if note["id"] not in found.facts["notes"]]
    lacking = resolved_with_one_reply(demo, found)
    if [note["subtotal"] for note in notes] != [found.facts["seat"]]:
        lacking.insert(0, "not one credit note of one seat's amount on the invoice")
    return lacking


def credit_the_seat(counted, demo, found):
    open_case(counted, found.case)
    open_action(counted, "overbilled seat", "suggested credit of the overbilled seat")
    keep_or_choose(counted, "#id_reason_code", "billing_error")
    keep_or_write(counted, "#id_note", "Seat removed after it was billed.")
    preview_and_confirm(counted)
    resolve(counted, demo, found.case, code="credited", summary="Credited the overbilled seat.",
            template="Credit applied")


def find_cancellation(demo, taken):
    """A cancellation case whose customer's subscription runs on a paid invoice."""
    for case in demo.open_cases("cancellation", taken):
        customer = case["stripe_customer_id"]
        for subscription in demo.stripe(f"/v1/subscriptions?customer={customer}"):
            invoice = _latest_invoice(demo, customer, subscription["id"])
            if subscription["status"] == "active" and invoice and invoice["status"] == "paid":
                charges = demo.stripe(f"/v1/charges?customer={customer}")
                return _found(demo, case, subscription=subscription["id"], invoice=invoice,
                              refunded={c["id"]: c["amount_refunded"] for c in charges})
    return None


def canceled_and_unused_refunded(demo, found):
    """The subscription canceled, and one charge refunded by the unused part of the last
    invoice: prorated by the seconds left of its period, of the invoice's total with or
    without its tax (whichever the console refunds), give or take a cent."""
    subscription = demo.stripe(
        f"/v1/subscriptions?customer={found.case['stripe_customer_id']}&status=all")
    subscription = next(s for s in subscription if s["id"] == found.facts["subscription"])
    lacking = resolved_with_one_reply(demo, found)
    if subscription["status"] != "canceled":
        return ["the subscription is not canceled", *lacking]
    item = subscription["items"]["data"][0]
    start, end = item["current_period_start"], item["current_period_end"]
    unused = (end - subscription["canceled_at"]) / (end - start)
    invoice = found.facts["invoice"]
    low, high = invoice["total_excluding_tax"] * unused - 1, invoice["amount_paid"] * unused + 1
    charges = demo.stripe(f"/v1/charges?customer={found.case['stripe_customer_id']}")
    given_back = [charge["amount_refunded"] - found.facts["refunded"].get(charge["id"], 0)
                  for charge in charges]
    given_back = [amount for amount in given_back if amount]
    if len(given_back) != 1 or not low <= given_back[0] <= high:
        lacking.insert(0, f"not one refund of the unused part ({low + 1:.0f} to {high - 1:.0f} "
                          f"cents): {given_back}")
    return lacking


def cancel_and_refund(counted, demo, found):
    open_case(counted, found.case)
    open_action(counted, r"cancel.*refund|refund.*unused",
                "cancellation with a refund of the unused period")
    keep_or_choose(counted, "#id_reason_code", "cancellation")
    keep_or_write(counted, "#id_note", "Canceled as asked; unused period refunded.")
    keep_or_template(counted, "id_customer_reply", "Subscription changed")
    preview_and_confirm(counted)
    resolve(counted, demo, found.case, code="subscription_changed",
            summary="Canceled; refunded the unused period.", template="Subscription changed")


@dataclass(frozen=True)
class Job:
    name: str
    goal: Goal | None  # None: the baseline
    find: object  # (Demo, customer ids taken) -> Found, or None
    do: object  # (Counted, Demo, Found)
    done: object  # (Demo, Found) -> what the end state lacks, in words


DUPLICATE = Job("duplicate charge", Goal(7, typed=10), find_charged_twice,
                refund_the_duplicate, duplicate_refunded)
PLAIN_DUPLICATE = Job("duplicate charge, the plain way", None, find_charged_twice,
                      refund_the_duplicate_by_hand, duplicate_refunded)
CANCEL = Job("cancel with a refund of the unused period", Goal(9), find_cancellation,
             cancel_and_refund, canceled_and_unused_refunded)
SEAT = Job("credit memo for one overbilled seat", Goal(9), find_overbilled_seat,
           credit_the_seat, seat_credited)
JOBS = (DUPLICATE, PLAIN_DUPLICATE, CANCEL, SEAT)


# The run --------------------------------------------------------------------------------------


def run(banner, database):
    """The jobs on the running demo of `banner`, whose SQLite database is at `database`;
    prints a line for each."""
    if os.environ.get("BENCH_SKIP_EXPERT_JOBS"):
        print("expert jobs: skipped (BENCH_SKIP_EXPERT_JOBS is set)")
        return
    from playwright.sync_api import sync_playwright

    demo = Demo(banner, database)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM,
                                             args=["--no-sandbox", "--disable-gpu"])
        context = browser.new_context(base_url=demo.url, viewport={"width": 1280, "height": 900})
        sign_in(context.new_page(), demo)
        taken = set()
        results = [do_job(context, demo, job, taken) for job in JOBS]
        browser.close()
    print_results(results)


def sign_in(page, demo):
    """As the demo specialist, through the sign-in page."""
    page.goto("/accounts/login/")
    page.fill("#id_username", "specialist")
    page.fill("#id_password", demo.password)
    page.press("#id_password", "Enter")
    on_page(page, "#queue-rows", "queue after signing in")
    page.close()


def do_job(context, demo, job, taken):
    found = job.find(demo, taken)
    if found is None:
        return Result(job.name, job.goal, stuck="the demo has no case for it")
    taken.add(found.case["stripe_customer_id"])
    page = context.new_page()
    page.set_default_timeout(STEP_TIMEOUT_MS)
    page.goto("/cases/")
    counted = Counted(page)
    started = time.monotonic()
    try:
        job.do(counted, demo, found)
    except Stuck as stuck:
        page.close()
        return Result(job.name, job.goal, stuck=str(stuck))
    seconds = time.monotonic() - started
    # What the console does after the last page: Stripe's answer, Zendesk's reply.
    wait_while(demo.money_on_its_way, found.case["id"])
    wait_while(demo.words_on_their_way, found.case["id"])
    page.close()
    return Result(job.name, job.goal, counted, seconds, not_done=job.done(demo, found))


def print_results(results):
    print("expert jobs (Chromium on the demo, from the queue, as the demo specialist)")
    print(f"  {'job':<42}{'interactions':>14}{'page loads':>12}{'typed':>8}{'seconds':>9}")
    for result in results:
        counted = result.counted
        figures = (f"{counted.interactions:>14}{counted.page_loads:>12}{counted.typed:>8}"
                   f"{result.seconds:>9.1f}") if counted and not result.stuck else " " * 43
        print(f"  {result.name:<42}{figures}  {result.verdict()}")
        if result.name == PLAIN_DUPLICATE.name:
            print(ratio(next(r for r in results if r.name == DUPLICATE.name), result))


def ratio(expert, plain):
    """The expert's duplicate job as a fraction of the plain way's, figure by figure."""
    if any(result.stuck or result.not_done for result in (expert, plain)):
        return "    expert / plain way: not measured, one of the two was not done"
    figures = [("interactions", expert.counted.interactions, plain.counted.interactions),
               ("page loads", expert.counted.page_loads, plain.counted.page_loads),
               ("characters typed", expert.counted.typed, plain.counted.typed),
               ("seconds", expert.seconds, plain.seconds)]
    return "    expert / plain way: " + ", ".join(
        f"{mine / theirs:.2f} of the {what}" if theirs else f"{what} {mine} / 0"
        for what, mine, theirs in figures)


def main():
    """The jobs alone, on a demo of their own."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billing_console.settings")
    django.setup()
    with tempfile.TemporaryDirectory() as var_dir, \
            demo_ready.demo(Path(var_dir)) as (banner, database):
        run(banner, database)


if __name__ == "__main__":
    sys.exit(main())

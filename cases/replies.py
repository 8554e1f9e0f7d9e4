"""What the console drafts for a case from the money moved on it: the customer's reply,
filled in from a template with the facts, and the resolution (its code and summary); and
the one place a case's public reply waits.

- `MoneyFacts` is one money action as replies and resolutions speak of it; money actions
  live above cases, so the app that keeps them registers its reader and the writer of a
  held reply here from its AppConfig.ready (`register_money_replies`): cases ask here,
  never there.
- `reply_words` fills a template's placeholders (`PLACEHOLDERS`) for a case and a money
  action: `cases.models.ReplyTemplate.render_for`.
- One reply per case: a money action holds the reply written with it until it succeeds
  (`money_actions.services` sends it then), and resolving with a reply while one is held
  replaces it rather than sending a second; once the action's reply has gone, resolving
  refuses another (`cases.services.case_resolve`).
"""

import re
from dataclasses import dataclass

from django.utils.text import capfirst

from billing_console.access import Capability, has_capability
from billing_console.money import REFUND_ARRIVAL, format_amount

# Each placeholder a reply template may hold, and what it says (for the admins' form).
PLACEHOLDERS = {
    "{first_name}": "the requester's first name, or “there”",
    "{requester_name}": "the requester's full name, or “there”",
    "{ticket_id}": "the Zendesk ticket's number",
    "{amount}": "the money action's amount and currency: “17.50 USD”",
    "{charge}": "which charge: “the charge of 17.50 USD on 30 Nov 2026”",
    "{card}": "“your card ending 4242” to billing specialists where the charge was read, "
              "else “your card”",
    "{invoice}": "the invoice by its number: “invoice W9GW-0002”",
    "{arrival}": f"how long a refund takes to reach the card: “{REFUND_ARRIVAL}”",
}


@dataclass(frozen=True)
class MoneyFacts:
    """A money action on a case, or the one a form is about to request, in the words
    replies and resolutions use.

    `amount` is in minor units of `currency`; `target_name` is how people name what it
    acts on (`billing_console.names.stripe_name`) and `target_noun` what that is
    ("charge", "invoice", "subscription"); `resolution_code` is the
    `cases.models.ResolutionCode` value its kind resolves a case with ("" for none);
    `card_last4` the paying card's last four digits, known only where the charge was read;
    `charge_name` the charge it refunds as people name it, where that is not its target (a
    cancellation's refund), else "".
    Of a requested action: `action_id`; `kind`, its kind's slug, by which a reply template
    may be chosen for it (`cases.selectors.reply_template_for`); `label`, its kind and
    amount ("Refund of 17.50 USD"); `name`, how people name it (`MoneyAction.name`: "Plan
    change of 49.00 USD (Console Team monthly × 5 → Console Pro annual × 3)"); `note`, why;
    `settled`, whether Stripe has done it (succeeded); `reply`, the public reply it holds
    until then, or sent then.
    """

    resolution_code: str
    amount: int
    currency: str
    target_name: str
    target_noun: str
    card_last4: str | None = None
    charge_name: str = ""
    action_id: str = ""
    kind: str = ""
    label: str = ""
    name: str = ""
    note: str = ""
    settled: bool = False
    reply: str = ""

    @property
    def reply_sent(self):
        return self.settled and bool(self.reply)


# The money actions' reader and the writer of a held reply, once their app registered them.
_MONEY = {}


def register_money_replies(*, read, hold):
    """`read(case_id, since, lock=False)` → [MoneyFacts] of the case's money actions
    requested since `since` (an aware datetime, or None for all), newest first, none
    withdrawn, rejected or failed; with `lock`, those not settled are locked first
    (select_for_update) in the caller's transaction.
    `hold(action_id, text)` makes `text` the reply that action sends when it succeeds;
    call it only for one `read` gave as not settled, in the same transaction."""
    _MONEY.update(read=read, hold=hold)


def money_facts(case, *, lock=False):
    """[MoneyFacts] of the money actions requested on `case` since it was last resolved,
    newest first ([] before a reader is registered); with `lock` (in a transaction, before
    the case is locked), those not settled are locked, so what they hold stays as read."""
    return _MONEY["read"](case.pk, case.resolved_at, lock=lock) if _MONEY else []


def reply_held(facts):
    """The newest of `facts` not yet settled, whose reply waits for it, or None."""
    return next((fact for fact in facts if not fact.settled), None)


def reply_sent(facts):
    """The newest of `facts` whose reply went to the customer when it succeeded, or None."""
    return next((fact for fact in facts if fact.reply_sent), None)


def hold_reply(fact, text):
    """Make `text` the reply that `fact`'s action (from `money_facts`, not settled, in this
    transaction) sends when it succeeds, instead of the one it held."""
    _MONEY["hold"](fact.action_id, text)


# Words -------------------------------------------------------------------------------------


def may_see_card(user):
    """The card's last four digits are for billing specialists, who match them with what
    the customer says; Tier 2, finance and admins never see them."""
    return has_capability(user, Capability.WORK_CASES)


# A card's last four digits as replies write them: "card ending 4242", "ending in 4242".
CARD_DIGITS = re.compile(r"(\bending(?:\s+in)?\s+)\d{4}\b", re.IGNORECASE)


def reply_as_seen_by(text, user):
    """A held or sent reply `text` as `user` may read it: whole for billing specialists
    (`may_see_card`), else with the card's last four digits as "••••"."""
    return text if may_see_card(user) else CARD_DIGITS.sub(r"\1••••", text)


def first_name(requester_name):
    """What a reply greets the requester by: the first word of their name, "there" when
    Zendesk has none, or only an email address, for them."""
    words = (requester_name or "").split()
    return words[0] if words and "@" not in words[0] else "there"


def reply_words(case, money=None, *, sees_card=False):
    """{placeholder: its words} for a reply on `case` about `money` (a `MoneyFacts`, or
    None: the words then say "the amount", "your card"); the card's digits only when
    `sees_card` (`may_see_card`)."""
    noun = money.target_noun if money else ""
    last4 = money.card_last4 if money and sees_card else None
    return {
        "{first_name}": first_name(case.requester_name),
        "{requester_name}": case.requester_name or "there",
        "{ticket_id}": str(case.zendesk_ticket_id),
        "{amount}": format_amount(money.amount, money.currency) if money else "the amount",
        "{charge}": _charge_words(money),
        "{card}": f"your card ending {last4}" if last4 else "your card",
        "{invoice}": money.target_name if noun == "invoice" else "your invoice",
        "{arrival}": REFUND_ARRIVAL,
    }


def _charge_words(money):
    """Which charge a reply speaks of: the one the action refunds, as people name it, else
    "the charge you asked about"."""
    if money is None:
        return "the charge you asked about"
    if money.charge_name:
        return money.charge_name
    return money.target_name if money.target_noun == "charge" else "the charge you asked about"


# Each brace pair in a template, with the braces doubled around it ("{{first_name}}"), and
# each lone brace: all that is not exactly a placeholder would reach the customer as written.
BRACES = re.compile(r"\{+[^{}]*\}+|[{}]")
# The placeholders themselves, for filling them in all at once.
PLACEHOLDER = re.compile("|".join(re.escape(placeholder) for placeholder in PLACEHOLDERS))


def unknown_placeholders(body):
    """The braces in `body` that are not exactly a placeholder ("{first_nme}",
    "{ first_name }", "{{first_name}}", "{0}", "{}", a lone "{"), which the console would
    not fill in and the customer would read as written; in order, once each."""
    return list(dict.fromkeys(found for found in BRACES.findall(body)
                              if found not in PLACEHOLDERS))


def fill(body, words):
    """`body` with each placeholder replaced by its words from `words` ({placeholder:
    text}), in one pass over `body` alone: the words come from Zendesk and Stripe, and a
    "{amount}" in a requester's name is left as written, never filled in. Other braces
    are left as written (a template is admins' text, not a format string)."""
    return PLACEHOLDER.sub(lambda found: words.get(found.group(), found.group()), body)


def resolution_draft(facts):
    """(resolution code, summary) drafted from `facts` (newest first): the newest's code,
    and a line per action, oldest first, by its name: "Refund of 17.50 USD on the charge
    of 17.50 USD on 30 Nov 2026. Duplicate of …". ("", "") for no facts."""
    if not facts:
        return "", ""
    lines = [f"{capfirst(fact.name)}." + _sentence(fact.note) for fact in reversed(facts)]
    return facts[0].resolution_code, "\n".join(lines)


def _sentence(note):
    """" Why it was done." from a note, a full stop added when it has none."""
    note = note.strip()
    if not note:
        return ""
    return f" {capfirst(note)}" + ("" if note[-1] in ".!?" else ".")

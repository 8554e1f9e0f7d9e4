"""Money that holds a case's state: the money actions on a case that wait for finance's
approval, or are approved and on their way to Stripe.

While money waits, the case cannot be resolved or closed, nor taken off "waiting on
finance" by hand while finance has yet to decide (`cases.services`), and the note that
tells Zendesk the case waits on finance names what it waits for. Money actions live above
cases, so the app that keeps them registers its reader here from its AppConfig.ready
(`register_money_waiting`); cases ask here, never there.
"""

from dataclasses import dataclass

from django.utils.text import capfirst


@dataclass(frozen=True)
class MoneyWaiting:
    """One money action on a case, not yet through. `name` is how it reads inside a
    sentence ("a refund of 1,188.00 USD"); `for_finance` says it waits for finance's
    approval, and otherwise it is approved and on its way to Stripe."""

    name: str
    for_finance: bool


# The reader of the money actions' app, once it has registered it.
_READERS = []


def register_money_waiting(read):
    """`read(case_id)` → [MoneyWaiting] of the case, oldest first."""
    _READERS[:] = [read]


def money_waiting_on(case):
    """[MoneyWaiting] of `case`, oldest first ([] before a reader is registered)."""
    return _READERS[0](case.pk) if _READERS else []


def names_of(waiting):
    """"a refund of 1,188.00 USD and a credit memo of 30.00 USD": the names in a list,
    inside a sentence."""
    names = [item.name for item in waiting]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def refusal(waiting, to_do):
    """Why the money in `waiting` (not empty) keeps the case from `to_do` now ("resolve
    the case"), and what to do instead, in a sentence: "A refund of 1,188.00 USD waits for
    finance; resolve the case once it is decided, or withdraw it." What waits for finance
    is named first: a person can have it decided, or withdraw it."""
    for_finance = [item for item in waiting if item.for_finance]
    one = len(for_finance or waiting) == 1
    it, verb_s = ("it", "s") if one else ("them", "")
    if for_finance:
        return (f"{capfirst(names_of(for_finance))} wait{verb_s} for finance; {to_do} once "
                f"{'it is' if one else 'they are'} decided, or withdraw {it}.")
    return (f"{capfirst(names_of(waiting))} {'is' if one else 'are'} on "
            f"{'its' if one else 'their'} way to Stripe; {to_do} once Stripe has taken {it}.")

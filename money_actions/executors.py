"""What each kind of money action does in Stripe, registered by kind.

The mechanism calls an executor outside any transaction:
- `submit(action)` makes the Stripe call with `action.idempotency_key` and the row's own
  parameters, the same on every retry, and returns an `Outcome`;
- `find(action)` looks the action up in Stripe by its metadata, for the reconciler, and
  returns an `Outcome` or None when Stripe never saw it;
- `success_note(action)` and `success_tags` say what the Zendesk ticket hears.
"""

from dataclasses import dataclass

from money_actions.models import State

_executors = {}


@dataclass(frozen=True)
class Outcome:
    """What Stripe says about an action: the state it maps to and the object it made."""

    state: State
    stripe_object_id: str = ""
    stripe_request_id: str = ""
    failure_reason: str = ""


def register(kind):
    """Class decorator: an instance of the class executes actions of `kind`."""
    def decorate(executor_class):
        add_executor(kind, executor_class())
        return executor_class

    return decorate


def add_executor(kind, executor):
    """For executors that are configured instances rather than one class per kind."""
    _executors[kind] = executor


def executor_for(kind):
    return _executors[kind]


# Enough to find an action's object among its target's; a charge or an invoice rarely has
# more than a few refunds or credit notes.
MAX_PAGES_SEARCHED = 10


def find_in_pages(list_page, matches):
    """The first item that `matches` in a paged Stripe list, for the reconciler.
    `list_page(cursor)` returns one page (items, next_cursor); None when not found."""
    cursor = None
    for _ in range(MAX_PAGES_SEARCHED):
        page = list_page(cursor)
        found = next((item for item in page.items if matches(item)), None)
        if found is not None or page.next_cursor is None:
            return found
        cursor = page.next_cursor
    return None

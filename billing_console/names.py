"""What people read instead of codes: the label of every reason code, a case's name, and
the names of Stripe objects.

Reason codes come from two vocabularies:
- Stripe's, fixed by Stripe: a refund's reason, a credit note's reason, a dispute's reason,
  why a refund failed;
- the console's own (`money_actions.ReasonCode`, which admins edit): the app that keeps
  them registers its reader here from its AppConfig.ready, so that every layer, the
  lowest included, labels a code the same way.

People are named by `person_name` (their full name, else their username) and the console
itself, where it acted, by `actor_name` (`CONSOLE_NAME`); pages use the `person` and
`actor` filters.

Pages use the `reason` template filter (`billing_console.templatetags.console`), Python
code `reason_label`; both show a code nobody named as its words ("a_b" → "A b"), and a
reason already written out (a failure's message) as it is.

A Stripe object is named as people know it (`stripe_name`): an invoice by its number, a
charge by its amount and day, a subscription by its plans, and a plan change by both its
sides (`plan_change_name`: "Console Team monthly × 5 → Console Pro annual × 3", on its
preview and wherever the change is read after). Its id stays in a Stripe-id
column or a link's address; text written with ids in it is read with them named
(`stripe_ids_named`). Stripe's statuses have words too (`stripe_status`, the `status`
filter), and a label set inside a sentence keeps its proper names (`in_sentence`).

The audit trail's actions (`<kind>.<event>`: "auth.login", "refund.auto_approved") are
named here as well (`action_label`, `audit_kinds`, `audit_actions`): the console's own
below, and those of the money actions' kinds by the app that keeps the kinds, which
registers them from its AppConfig.ready (`register_audit_actions`).
"""

import re
from datetime import UTC, datetime

from billing_console.integrations.stripe import types
from billing_console.money import format_amount

# Stripe's refund reasons (`refund.reason`), in the order the refund form offers them.
REFUND_REASONS = {
    "requested_by_customer": "Requested by the customer",
    "duplicate": "Duplicate",
    "fraudulent": "Fraudulent",
}
# Stripe's credit note reasons (`credit_note.reason`).
CREDIT_NOTE_REASONS = {
    "duplicate": "Duplicate",
    "fraudulent": "Fraudulent",
    "order_change": "Order change",
    "product_unsatisfactory": "Product unsatisfactory",
}
# Stripe's dispute reasons (`dispute.reason`): what the customer told their bank.
DISPUTE_REASONS = {
    "bank_cannot_process": "Bank cannot process",
    "check_returned": "Check returned",
    "credit_not_processed": "Credit not processed",
    "customer_initiated": "Customer initiated",
    "debit_not_authorized": "Debit not authorized",
    "duplicate": "Duplicate",
    "fraudulent": "Fraudulent",
    "general": "General",
    "incorrect_account_details": "Incorrect account details",
    "insufficient_funds": "Insufficient funds",
    "noncompliant": "Noncompliant",
    "product_not_received": "Product not received",
    "product_unacceptable": "Product unacceptable",
    "subscription_canceled": "Subscription canceled",
    "unrecognized": "Unrecognized",
}
# Stripe's reasons a refund failed (`refund.failure_reason`).
REFUND_FAILURE_REASONS = {
    "charge_for_pending_refund_disputed": "The charge was disputed while the refund waited",
    "declined": "Declined by the card's bank",
    "expired_or_canceled_card": "Expired or canceled card",
    "insufficient_funds": "Insufficient funds",
    "lost_or_stolen_card": "Lost or stolen card",
    "merchant_request": "Canceled at the merchant's request",
    "unknown": "Unknown",
}
STRIPE_REASONS = {**REFUND_REASONS, **CREDIT_NOTE_REASONS, **DISPUTE_REASONS,
                  **REFUND_FAILURE_REASONS}
# Stripe's statuses, of every object the console shows: a charge's, a refund's, an
# invoice's, a subscription's, a credit note's and a dispute's.
STRIPE_STATUSES = {
    "succeeded": "Succeeded",
    "pending": "Pending",
    "failed": "Failed",
    "requires_action": "Needs action",
    "canceled": "Canceled",
    "draft": "Draft",
    "open": "Open",
    "paid": "Paid",
    "uncollectible": "Uncollectible",
    "void": "Void",
    "incomplete": "Incomplete",
    "incomplete_expired": "Expired before its first payment",
    "trialing": "On trial",
    "active": "Active",
    "past_due": "Past due",
    "unpaid": "Unpaid",
    "paused": "Paused",
    "issued": "Issued",
    "warning_needs_response": "Inquiry: needs a response",
    "warning_under_review": "Inquiry under review",
    "warning_closed": "Inquiry closed",
    "needs_response": "Needs a response",
    "under_review": "Under review",
    "won": "Won",
    "lost": "Lost",
    "prevented": "Prevented",
}
# What a code looks like, as against a reason written out in words.
CODE = re.compile(r"[a-z0-9]+(?:_[a-z0-9]+)*")

# The reader of the console's own reason codes, once its app has registered it.
_READERS = []


def register_console_reasons(read):
    """`read()` → {code: label} of the console's reason codes, read when a label is asked."""
    _READERS[:] = [read]


def console_reasons():
    """{code: label} of the console's own reason codes ({} before they are registered)."""
    return _READERS[0]() if _READERS else {}


def reason_label(code, *, console=None):
    """"requested_by_customer" → "Requested by the customer"; "courtesy" → its admin-set
    label; a reason written out in words (a failure's message) as it is. `console` spares
    a read when the caller labels many codes, or none ({}); "" for no code."""
    if not code:
        return ""
    labels = console if console is not None else console_reasons()
    named = labels.get(code) or STRIPE_REASONS.get(code)
    return named or (in_words(code) if CODE.fullmatch(code) else code)


def in_words(code):
    """"currency_limit" → "Currency limit": a code with no label of its own, readable."""
    return str(code).replace("_", " ").capitalize()


def stripe_status(status):
    """"past_due" → "Past due": a Stripe status in words; "" for none."""
    return STRIPE_STATUSES.get(status) or (in_words(status) if status else "")


# Words a label keeps capitalised when it goes inside a sentence.
PROPER_STARTS = ("Stripe", "Zendesk", "Tier 2", "API", "SLA", "Billing Console")


def in_sentence(label):
    """A label set inside a sentence: "Submitting to Stripe" → "submitting to Stripe",
    "Waiting for approval" → "waiting for approval"; a label that starts with a proper
    name or an abbreviation ("Stripe event", "SLA targets") stays as it is."""
    text = str(label)
    if not text or text.startswith(PROPER_STARTS) or text[:2].isupper():
        return text
    return text[0].lower() + text[1:]


# The console itself, where it is the one that acted: its sync and tasks, its notes on a
# ticket, an event of the trail no person caused.
CONSOLE_NAME = "Billing Console"


def person_name(user):
    """A person as others read them: their full name, or their username when they have
    none ("" for no one). A username is what a person signs in with, not their name."""
    if user is None:
        return ""
    return name_from(user.first_name, user.last_name, user.get_username())


def name_from(first_name, last_name, username):
    """`person_name` of a user read as columns (a row of values): "Sam Specialist", or the
    username when both names are blank."""
    return f"{first_name} {last_name}".strip() or username


def actor_name(user):
    """Who did something: the person (`person_name`), or the console itself when no one
    did (`user` is None)."""
    return person_name(user) or CONSOLE_NAME


def ticket_name(ticket_id):
    """A case's name for people, its Zendesk ticket number: "Ticket #6". The case's row id
    stays in its address only (`/cases/<id>/`)."""
    return f"Ticket #{ticket_id}"


def day_name(timestamp):
    """Unix seconds as the day people say: "30 Nov 2026" (UTC)."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%-d %b %Y")


def date_time_name(timestamp):
    """Unix seconds as a date and time people read without knowing the year: "30 Nov 2026
    10:51 UTC"."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%-d %b %Y %H:%M UTC")


def moment_name(timestamp, *, day=True, seconds=False):
    """Unix seconds as people say a moment of a recent day: "30 Nov 10:52" (UTC), which
    tells apart two charges of one day; "10:52" without its day, and "10:52:07" with its
    seconds, for moments of one minute (`seconds_needed`)."""
    said = "%H:%M:%S" if seconds else "%H:%M"
    return datetime.fromtimestamp(timestamp, UTC).strftime(f"%-d %b {said}" if day else said)


def seconds_needed(timestamps):
    """Whether moments said to the minute would make two different ones (Unix seconds) one."""
    return len({timestamp // 60 for timestamp in timestamps}) < len(set(timestamps))


def stripe_name(obj):
    """How people name a gateway object (`integrations.stripe.types`), lower case to go
    inside a sentence: "invoice ACME-0012", "the draft invoice of 30 Nov 2026 · 162.50 USD",
    "the charge of 30.00 USD on 30 Nov 2026", "credit note ACME-0012-CN-01", "the
    subscription to Console Pro monthly × 3", the customer's name or email. A page's
    field or cell names it with a capital (`capfirst`; the `stripe_name` filter)."""
    if isinstance(obj, types.Charge):
        return f"the charge of {format_amount(obj.amount, obj.currency)} on " \
               f"{day_name(obj.created)}"
    if isinstance(obj, types.Invoice):
        # Stripe numbers an invoice when it is finalized: a draft has none yet, so its day
        # and total tell it from the customer's other drafts.
        return f"invoice {obj.number}" if obj.number else \
            f"the draft invoice of {day_name(obj.created)} · " \
            f"{format_amount(obj.total, obj.currency)}"
    if isinstance(obj, types.CreditNote):
        return f"credit note {obj.number}"
    if isinstance(obj, types.Subscription):
        plans = ", ".join(f"{item.plan_name}{f' × {item.quantity}' if item.quantity > 1 else ''}"
                          for item in obj.items)
        return f"the subscription to {plans}" if plans else "the subscription"
    if isinstance(obj, types.Customer):
        return obj.name or obj.email or "the customer"
    raise TypeError(f"No name for a {type(obj).__name__}.")


def plan_change_name(item, price=None, quantity=None):
    """A plan change as people say it, each side with its quantity: "Console Team monthly ×
    5 → Console Pro annual × 3". `item` is the `types.SubscriptionItem` that changes,
    `price` the `types.Price` (or the item, after) it moves to and `quantity` its new
    quantity; None keeps the item's own."""
    plan = price.plan_name if price is not None else item.plan_name
    return f"{item.plan_name} × {item.quantity} → {plan} × {quantity or item.quantity}"


def plan_changes_name(before, after):
    """The plan changes between two states of a subscription's items (`before` and `after`,
    `types.SubscriptionItem`s named by their products), each as `plan_change_name` says
    it, joined by "; "; "" when no item changed its plan or quantity. An item is matched
    by its id, or, one replaced by one other, to that one."""
    after_by_id = {item.id: item for item in after}
    pairs = [(old, after_by_id[old.id]) for old in before if old.id in after_by_id]
    gone = [item for item in before if item.id not in after_by_id]
    added = [item for item in after if item.id not in {old.id for old in before}]
    if len(gone) == len(added) == 1:
        pairs.append((gone[0], added[0]))
    return "; ".join(plan_change_name(old, new, new.quantity) for old, new in pairs
                     if (old.plan_name, old.quantity) != (new.plan_name, new.quantity))


# Stripe ids in text ---------------------------------------------------------------------

# A Stripe id, by the prefix of each kind of object the console meets, and what it is.
STRIPE_ID_NOUNS = {
    "cus": "customer", "ch": "charge", "py": "charge", "re": "refund", "pyr": "refund",
    "in": "invoice", "il": "invoice line", "ii": "invoice item", "cn": "credit note",
    "cnli": "credit note line", "sub": "subscription", "si": "subscription item",
    "price": "price", "prod": "product", "pi": "payment", "pm": "payment method",
    "txr": "tax rate", "cbtxn": "balance transaction", "dp": "dispute", "du": "dispute",
    "evt": "Stripe event", "req": "Stripe request",
}
# Stripe's ids mix in capitals or digits, which keeps a word such as "in_progress" out.
STRIPE_ID = re.compile(rf"\b({'|'.join(sorted(STRIPE_ID_NOUNS, key=len, reverse=True))})"
                       r"_(?=[a-z]*[A-Z0-9])[A-Za-z0-9]{6,}\b")


# A change made outside the console, as the ledger noted it before it named its objects:
# "(in_…, uncollectible)".
_ID_AND_STATUS = re.compile(rf"\((?:{STRIPE_ID.pattern}), (?P<status>[a-z_]+)\)")


def stripe_ids_in(text):
    """The Stripe ids written in `text`, in order."""
    return [match.group(0) for match in STRIPE_ID.finditer(text or "")]


def stripe_ids_named(text, names=None):
    """`text` with each Stripe id in it named: by `names` ({id: name}, a customer's name or
    email) where known, otherwise by what it is ("a refund"). For text written before it
    named its objects (the trail's summaries, the timeline); new text names them itself."""
    names = names or {}
    text = _ID_AND_STATUS.sub(lambda match: f"({stripe_status(match['status'])})", text or "")

    def name(match):
        if match.group(0) in names:
            return names[match.group(0)]
        noun = STRIPE_ID_NOUNS[match.group(1)]
        return f"{'an' if noun[0] in 'aeiou' else 'a'} {noun}"

    return STRIPE_ID.sub(name, text)


# The audit trail's actions ----------------------------------------------------------------

# The kinds of the console's own actions (the part of an action before its dot).
AUDIT_KINDS = {
    "auth": "Sign-in",
    "access": "Access",
    "audit": "Audit trail",
    "case": "Case",
    "integrations": "Zendesk and Stripe",
    "policy": "Money policy",
    "replies": "Reply templates",
    "user": "User",
    "intake": "Intake",
    "sla": "SLA",
    "handover": "Shift handover",
    "reconciliation": "Reconciliation",
    "second_factor": "Second factor",
}
# The console's own actions, each as a person says what happened.
AUDIT_ACTIONS = {
    "auth.login": "Signed in",
    "auth.logout": "Signed out",
    "auth.login_failed": "Sign-in failed",
    "auth.locked_out": "Locked out after failed sign-ins",
    # Single sign-on's (oidc.services).
    "auth.sso_refused": "Single sign-on refused",
    "auth.roles_from_provider": "Roles set from the identity provider",
    "auth.password_refused": "Password sign-in refused: single sign-on only",
    "auth.break_glass_sign_in": "Break-glass password sign-in",
    "access.denied": "Page or call refused",
    "audit.exported": "Audit trail exported",
    "case.assigned": "Case assigned",
    "case.category_changed": "Case category changed",
    "case.merged": "Case merged in Zendesk",
    "case.note_added": "Console note added",
    "case.priority_changed": "Case priority changed",
    "case.resolved": "Case resolved",
    "case.state_changed": "Case state changed",
    "case.stripe_customer_confirmed": "Stripe customer confirmed",
    "case.stripe_link_changed": "Stripe customer link changed",
    "case.write_back_followed_up": "Zendesk note sent again",
    "case.write_back_undeliverable": "Zendesk note could not be delivered",
    "integrations.inbound_event_retried": "Webhook event retried",
    "integrations.set_aside_retried": "Set-aside ticket retried",
    "integrations.text_cleaned": "Text the database refuses cleaned",
    "policy.currency_limit_set": "Currency limits set",
    "policy.reason_code_added": "Reason added",
    "policy.reason_code_changed": "Reason changed",
    "policy.role_limit_set": "Role limit set",
    "policy.rules_set": "Money policy rules set",
    "replies.template_added": "Reply template added",
    "replies.template_changed": "Reply template changed",
    "user.created": "User added",
    "user.changed": "User changed",
    "user.password_set": "Password set",
    "user.unlocked": "User unlocked",
    "intake.rule_set": "Intake rule set",
    "sla.targets_set": "SLA targets set",
    "handover.note_left": "Handover note left",
    "reconciliation.requested": "Reconciliation requested",
    "reconciliation.run": "Reconciliation done",
    "reconciliation.failed": "Reconciliation failed",
    "reconciliation.explained": "Difference explained",
    "reconciliation.exported": "Reconciliation report exported",
    "second_factor.enrolled": "Authenticator app set up",
    "second_factor.verified": "Second factor given",
    "second_factor.failed": "Wrong second factor code",
    "second_factor.recovery_code_used": "Recovery code used",
    "second_factor.recovery_codes_issued": "Recovery codes issued",
    "second_factor.reset": "Second factor reset",
}

# Readers of the actions other apps name: each `read()` → ({kind: label}, {action: label}).
_ACTION_READERS = []


def register_audit_actions(read):
    """`read()` → ({kind: label}, {action: label}) of an app's own audit actions, read when
    a label is asked (the money actions' kinds are declared by their apps at import)."""
    if read not in _ACTION_READERS:
        _ACTION_READERS.append(read)


def _vocabulary():
    kinds, actions = dict(AUDIT_KINDS), dict(AUDIT_ACTIONS)
    for read in _ACTION_READERS:
        more_kinds, more_actions = read()
        kinds.update(more_kinds)
        actions.update(more_actions)
    return kinds, actions


def audit_kinds():
    """{kind: label} of every kind of audit action, the console's and the money kinds'."""
    return _vocabulary()[0]


def audit_actions():
    """{action: label} of every audit action the console records."""
    return _vocabulary()[1]


def action_label(action, *, actions=None):
    """"refund.auto_approved" → "Refund approved by the policy", "auth.login" → "Signed
    in"; an action nobody named reads as its kind and event in words ("Bench: record").
    `actions` ({action: label}) spares a read when the caller labels many."""
    named = (actions if actions is not None else audit_actions()).get(action)
    if named:
        return named
    kind, _, event = str(action).partition(".")
    return f"{in_words(kind)}: {event.replace('_', ' ')}" if event else in_words(kind)

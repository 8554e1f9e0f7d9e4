"""Reads for refunds: the charge from Stripe, what it can still give back, duplicates,
and the preview shown before confirming. Stripe reads happen here, outside transactions."""

from billing_console.integrations.stripe import gateway
from billing_console.money import REFUND_ARRIVAL, format_amount
from billing_console.names import moment_name, seconds_needed
from money_actions import policy
from money_actions.kinds import Family, kind_leaving
from money_actions.models import IN_FLIGHT_STATES
from money_actions.policy import needs_approval
from money_actions.selectors import read_from_stripe, refund_left_on
from money_actions.services import committed_amount
from refunds.models import StripeReason


def _refund_slug():
    """The refund kind's slug, from the registry (the kind is declared in `refunds.kinds`,
    which reads charges through this module)."""
    return kind_leaving("refund", "").slug


def read_charge(charge_id):
    """The charge as Stripe has it now, as a refund of it needs it
    (`gateway.charge_to_refund`)."""
    return read_from_stripe(lambda found: gateway.charge_to_refund(charge_id=found),
                            charge_id, noun="charge", missing="Choose a charge to refund.")


# What the case page's suggestion to refund a duplicate is called in its address
# (`money_actions.pages.SUGGESTED`), and the internal reason such a refund gives (seeded by
# `refunds/migrations/0002_seed_policy.py`).
SUGGEST_DUPLICATE = "duplicate"
DUPLICATE_REASON_CODE = "duplicate_charge"


def duplicate_charges(charge):
    """The ids of the customer's charges that look like duplicates of this one (the
    policy's rule), newest first. Network: one list of the customer's charges."""
    return [each.id for each in duplicate_run(charge) if each.id != charge.id]


def duplicate_run(charge):
    """The likely duplicates `charge` is one of, itself included as just read, in the
    policy's order (`policy.likely_duplicates`: newest first); [] when it is none, or no
    longer one: no other charge of its run is still kept (`policy.kept_besides`), so that
    the charge kept is never refunded as a duplicate. Network: one list of the customer's
    charges."""
    run = _run_of(charge)
    return run if policy.kept_besides(run, charge) else []


def _run_of(charge):
    """The run of likely duplicates (`policy.likely_duplicates`) `charge` is in, whether or
    not another of it is still kept; [] for none. Network: one list of the customer's
    charges."""
    if not charge.customer:
        return []
    listed = gateway.list_charges(customer_id=charge.customer).items
    charges = [charge if each.id == charge.id else each for each in listed]
    if charge.id not in {each.id for each in listed}:
        charges.insert(0, charge)  # made since the list was read: the newest
    for run in policy.likely_duplicates(charges, policy.duplicate_window()):
        if any(each.id == charge.id for each in run):
            return run
    return []


def charge_kept(run, charge=None):
    """Of a run of likely duplicates (newest first), the charge to keep: the oldest still
    kept (`policy.still_kept`) other than `charge`, the one refunded; the oldest other when
    none is."""
    others = [each for each in run if charge is None or each.id != charge.id]
    kept = [each for each in others if policy.still_kept(each)]
    return (kept or others)[-1]


def duplicate_run_emptied(charge):
    """The warning, in words, when refunding `charge` would leave no charge of its run of
    likely duplicates kept, the others refunded already: "The other charge of this pair,
    the 15.00 USD charge of 1 Dec 03:11, was refunded already: this would give back both."
    None otherwise. Network: one list of the customer's charges."""
    run = _run_of(charge)
    if not run or policy.kept_besides(run, charge):
        return None
    others = [name for each, name in zip(run, duplicate_names(run), strict=True)
              if each.id != charge.id]
    if len(others) == 1:
        return (f"The other charge of this pair, {others[0]}, was refunded already: this "
                "would give back both.")
    return (f"The other charges of this run, {', '.join(others)}, were refunded already: "
            "this would give back all of them.")


def refund_in_flight(charge):
    """Whether a refund of `charge` is on its way: the console's, not yet settled, or one
    Stripe has not finished."""
    return (any(refund.status in ("pending", "requires_action") for refund in charge.refunds)
            or committed_amount(kind=_refund_slug(), stripe_target_id=charge.id,
                                states=IN_FLIGHT_STATES) > 0)


def duplicate_note(charge, kept, amount):
    """The note drafted for refunding `amount` (minor units) of `charge`, a duplicate of
    `kept`: "Duplicate of the 17.50 USD charge of 30 Nov 10:51, which is kept; refunded in
    full." The refund page fills it in; the specialist may change it."""
    whole = "refunded in full" if amount == charge.amount_captured else \
        f"{format_amount(amount, charge.currency)} refunded, all that was left of it"
    return (f"Duplicate of {duplicate_names([charge, kept])[1]}, which is kept; "
            f"{whole}.")


def duplicate_names(charges):
    """Likely duplicates as people tell them apart, each by its amount and moment, to the
    second where two fall in one minute: ["the 17.50 USD charge of 30 Nov 10:51", …], in
    the order of `charges`."""
    seconds = seconds_needed([each.created for each in charges])
    return [f"the {format_amount(each.amount, each.currency)} charge of "
            f"{moment_name(each.created, seconds=seconds)}" for each in charges]


def refund_verdicts(*, charge, amount, stripe_reason, requester, excluding=None):
    """The policy on a refund of `amount` on `charge`: money given back, and the charge's
    age. `excluding`: a money action left out of the customer's total (the one amended)."""
    return [*policy.verdicts_for(family=Family.GIVES_BACK, amount=amount,
                                 currency=charge.currency, customer_id=charge.customer,
                                 stripe_reason=stripe_reason, requester=requester,
                                 excluding=excluding),
            policy.charge_age_verdict(charge)]


def refund_preview(*, charge, amount, stripe_reason, requester):
    """What confirming would do: the remainder, each rule's verdict, what the customer gets."""
    verdicts = refund_verdicts(charge=charge, amount=amount, stripe_reason=stripe_reason,
                               requester=requester)
    duplicates = duplicate_charges(charge)
    return {
        "charge_id": charge.id,
        "currency": charge.currency,
        "captured": charge.amount_captured,
        "refundable_remainder": refund_left_on(charge),
        "amount": amount,
        "customer_gets": f"{format_amount(amount, charge.currency)} back on the card used "
                         f"for this charge, in {REFUND_ARRIVAL}.",
        "needs_approval": needs_approval(verdicts),
        "verdicts": [verdict.as_json() for verdict in verdicts],
        "warnings": [verdict.explanation for verdict in verdicts if verdict.warning]
        + [warning for warning in [duplicate_run_emptied(charge)] if warning],
        "duplicate_charges": duplicates,
        "suggested_stripe_reason": StripeReason.DUPLICATE if duplicates else None,
    }

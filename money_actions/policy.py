"""The money policy: each rule returns a `Verdict` that says, in words a specialist can
read, whether an action needs a second person and why.

The rules a kind gets follow from its family (`money_actions.kinds.Family`):
- money given back (refunds, credits, voids, write-offs): the currency's auto-approve
  limit, the requester's role limit, the customer's total in the window (read from the
  ledger, so money given back outside the console counts too) and the fraud rule; a
  refund adds the charge's age;
- money taken (balance debits, items added to a draft, a credit taken back): the
  currency's approval limit for taking, and a cap no request can pass (`check_take_cap`);
- a plan change by what it moves (`money_actions.kinds.Moves`): invoiced at once, the
  invoice's total (an upgrade to annual takes the year less the unused time, though its
  proration is a credit); prorated on the next invoice, its proration. A credit is money
  given back, a charge is money taken.

The limits are admins' (`MoneyPolicy`, `CurrencyLimit`, `RoleLimit`), in minor units.
"""

from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

from django.utils import timezone

from billing_console.access import roles_of
from billing_console.exceptions import ApplicationError
from billing_console.money import ABSURD_AMOUNT, format_amount
from billing_console.notes import check_note_length
from billing_console.text import quoted
from money_actions.kinds import Family
from money_actions.ledger import customer_given_back
from money_actions.models import (
    IN_FLIGHT_STATES,
    CurrencyLimit,
    MoneyAction,
    MoneyPolicy,
    ReasonCode,
    RoleLimit,
)

# Stripe's reason, on refunds and credit notes alike, that always needs approval.
FRAUDULENT = "fraudulent"


@dataclass(frozen=True)
class Verdict:
    rule: str
    needs_approval: bool
    explanation: str
    warning: bool = False

    def as_json(self):
        return asdict(self)


def needs_approval(verdicts):
    return any(verdict.needs_approval for verdict in verdicts)


# Checks every request makes before any Stripe call -------------------------------------


def validate_amount(amount):
    """An amount as the API and the services take it: a positive int of minor units."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise ApplicationError("The amount must be a whole number of the currency's minor "
                               "units (cents for USD), for example 1250 for 12.50.", "amount")
    if amount <= 0:
        raise ApplicationError("The amount must be more than zero.", "amount")
    if amount >= ABSURD_AMOUNT:
        raise ApplicationError("That amount is not plausible for one action.", "amount")


def validate_reason(*, reason_code, note):
    """The console's reason code, and the note every money action carries."""
    if not ReasonCode.objects.filter(code=reason_code, active=True).exists():
        raise ApplicationError(f"{quoted(reason_code)} is not an internal reason code.",
                               "reason_code")
    if not (note or "").strip():
        raise ApplicationError("A note is required.", "note_required")
    check_note_length(note)


# The verdicts --------------------------------------------------------------------------


def verdicts_for(*, family, amount, currency, customer_id, requester, stripe_reason=None,
                 gives_back=None, excluding=None):
    """The policy's verdicts on an action of `family` moving `amount` (minor units).
    `gives_back` overrides the family for a plan change, which moves money either way;
    `excluding` leaves a money action out of the customer's total (one being amended).
    Raises ApplicationError when money taken is above the currency's cap."""
    if family == Family.CHANGES_PLAN:
        if not amount:
            return [Verdict("moves_no_money", False,
                            "It moves no money by itself, so no limit applies.")]
        family = Family.GIVES_BACK if gives_back else Family.TAKES
    if family == Family.TAKES:
        return take_verdicts(amount=amount, currency=currency)
    return give_back_verdicts(amount=amount, currency=currency, customer_id=customer_id,
                              stripe_reason=stripe_reason, requester=requester,
                              excluding=excluding)


def give_back_verdicts(*, amount, currency, customer_id, stripe_reason, requester,
                       excluding=None):
    policy = MoneyPolicy.current()
    limit = CurrencyLimit.objects.filter(currency=currency.lower()).first()
    return [
        currency_limit_verdict(limit, amount, currency),
        role_limit_verdict(requester, amount, currency),
        customer_total_verdict(policy, limit, customer_id, currency, amount, excluding),
        fraud_verdict(policy, stripe_reason),
    ]


def take_verdicts(*, amount, currency):
    """Money taken from the customer: refused above the cap, approved above the limit."""
    limit = check_take_cap(amount=amount, currency=currency)
    if limit is None:
        return [Verdict("take_limit", True, f"{currency.upper()} has no limit for money "
                                            "taken, so taking it needs approval.")]
    shown = format_amount(limit.take_approval_limit, currency)
    if amount > limit.take_approval_limit:
        return [Verdict("take_limit", True, f"Takes more than {shown} from the customer.")]
    return [Verdict("take_limit", False, f"Takes at most {shown} from the customer.")]


def check_take_cap(*, amount, currency):
    """Refuse money taken above the currency's cap. Returns the currency's limits row."""
    limit = CurrencyLimit.objects.filter(currency=currency.lower()).first()
    if limit is not None and amount > limit.take_cap:
        raise ApplicationError(
            f"{format_amount(amount, currency)} is more than the "
            f"{format_amount(limit.take_cap, currency)} the console takes from a customer in "
            "one action; check the amount, or ask an admin about the cap.", "above_take_cap")
    return limit


def currency_limit_verdict(limit, amount, currency):
    if limit is None:
        return Verdict("currency_limit", True,
                       f"{currency.upper()} has no auto-approve limit, so everything given "
                       "back in it needs approval.")
    shown = format_amount(limit.auto_approve_limit, currency)
    if amount > limit.auto_approve_limit:
        return Verdict("currency_limit", True, f"Above the auto-approve limit of {shown}.")
    return Verdict("currency_limit", False, f"Within the auto-approve limit of {shown}.")


def role_limit_verdict(requester, amount, currency):
    roles = [role.value for role in roles_of(requester)]
    limits = RoleLimit.objects.filter(role__in=roles, currency=currency.lower())
    highest = max((limit.limit for limit in limits), default=None)
    if highest is None:
        return Verdict("role_limit", False,
                       f"No role limit is set for your role in {currency.upper()}.")
    shown = format_amount(highest, currency)
    if amount > highest:
        return Verdict("role_limit", True, f"Above your role's limit of {shown}.")
    return Verdict("role_limit", False, f"Within your role's limit of {shown}.")


def charge_age_verdict(charge):
    policy = MoneyPolicy.current()
    age = timezone.now() - datetime.fromtimestamp(charge.created, tz=UTC)
    if age > timedelta(days=policy.charge_age_days):
        return Verdict("charge_age", True,
                       f"The charge is {age.days} days old, more than "
                       f"{policy.charge_age_days}: check the card can still take a refund.",
                       warning=True)
    return Verdict("charge_age", False, f"The charge is {age.days} days old, within "
                                        f"{policy.charge_age_days}.")


def customer_total_verdict(policy, limit, customer_id, currency, amount, excluding=None):
    days = policy.customer_window_days
    if limit is None:
        return Verdict("customer_total", False,
                       f"No {days}-day customer limit is set in {currency.upper()}.")
    total = customer_given_back(customer_id, currency, days, excluding=excluding) + amount
    shown_total = format_amount(total, currency)
    shown_limit = format_amount(limit.customer_window_limit, currency)
    within = total <= limit.customer_window_limit
    return Verdict("customer_total", not within,
                   f"With this one, what the customer got back in {days} days comes to "
                   f"{shown_total}, {'within' if within else 'above'} {shown_limit}.")


def fraud_verdict(policy, stripe_reason):
    if stripe_reason == FRAUDULENT and policy.fraudulent_needs_approval:
        return Verdict("fraud", True, "Money given back for fraud always needs approval.")
    return Verdict("fraud", False, "Not marked as fraudulent.")


# Likely duplicate charges --------------------------------------------------------------


def duplicate_window():
    return timedelta(hours=MoneyPolicy.current().duplicate_window_hours)


def same_amount_runs(charges, window):
    """Succeeded charges of one amount and currency, oldest first, in runs that each fit in
    `window` from the run's first charge; a run of two or more is a likely duplicate.
    Measuring from the first, not the previous, keeps a daily charge under a 24-hour window
    from chaining into one endless run. The one rule for duplicates: the refund page, Tier
    2's billing facts and the case page's suggestions all read it, through
    `likely_duplicates`."""
    succeeded = sorted((charge for charge in charges if charge.status == "succeeded"),
                       key=lambda charge: (charge.currency, charge.amount, charge.created))
    runs, run = [], []
    for charge in succeeded:
        if run and ((charge.currency, charge.amount) != (run[0].currency, run[0].amount)
                    or charge.created - run[0].created > window.total_seconds()):
            runs.append(run)
            run = []
        run.append(charge)
    if run:
        runs.append(run)
    return runs


def likely_duplicates(charges, window):
    """The runs of `same_amount_runs` with two charges or more of which one at least is
    still kept (`still_kept`), in the one order every page shows them in: the newest run
    first, and in each run the newest charge first, so its last charge is the oldest, the
    one to keep. `charges` as Stripe lists them, newest first: charges made in the same
    second keep the order they were made in. A run all given back is no duplicate any more:
    a charge of a run is a likely duplicate only while another of it is kept
    (`kept_besides`)."""
    runs = [run[::-1] for run in same_amount_runs(list(reversed(charges)), window)
            if len(run) > 1]
    return sorted((run for run in runs if any(still_kept(charge) for charge in run)),
                  key=lambda run: run[0].created, reverse=True)


def still_kept(charge):
    """Whether the customer still pays `charge` (a Stripe charge as read): it succeeded,
    is not refunded in full, and no refund of it is on its way, neither Stripe's nor a
    console money action on it not yet settled. Database: one query."""
    return (charge.status == "succeeded" and charge.amount_refunded < charge.amount_captured
            and not any(refund.status in ("pending", "requires_action")
                        for refund in charge.refunds)
            and not MoneyAction.objects.filter(stripe_target_id=charge.id,
                                               state__in=IN_FLIGHT_STATES).exists())


def kept_besides(run, charge):
    """The charges of `run` (newest first) other than `charge` still kept: while there is
    one, `charge` is a likely duplicate of it; the last is the one to keep."""
    return [each for each in run if each.id != charge.id and still_kept(each)]


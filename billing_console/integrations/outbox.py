"""The one outbox rule: a row that carries work for Stripe or Zendesk is claimed, by a state
change under a row lock, before any network call.

Such a row is its own outbox; a queue message naming it is only a nudge, and several may
name the same row at once (a task's retry, a sweeper's re-queue, the broker redelivering
the message of a lost worker). So a worker first *claims* the row, in a short transaction
of its own: it locks the row (`select_for_update`), finds it claimable, moves it to the
claimed status with the claim's time, counts an attempt, and commits. Only then does it
call out, outside any transaction; afterwards a new transaction records the outcome, if
the claim is still its own. A second worker that arrives meanwhile finds the row claimed
and leaves it alone, so the same comment or handler never runs twice at once.

A worker can die holding a claim. A claim older than the outbox's timeout is therefore
claimable again, and the sweepers re-queue only claimable rows: unclaimed ones and
expired claims. The timeout must outlast the slowest call a claim covers; a call that
outlives it may, rarely, be made twice.

Money actions follow the same rule with their own states: `money_action_begin_submission`
moves an approved action to `submitting` under its row lock before Stripe is called. They
need no expiry, as Stripe's idempotency key makes a second submission harmless and the
reconciler settles actions left `submitting`.

A model using an `Outbox` has `status`, `claimed_at` (null) and `attempts` fields.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone


@dataclass(frozen=True)
class Outbox:
    model: type[models.Model]
    # The status a claim moves a row to.
    claimed: str
    # How long a claim holds before the row may be claimed again.
    claim_timeout: timedelta
    # The unclaimed rows that may be claimed at a given time, e.g. pending ones.
    ready: Callable[[datetime], Q]

    def claimable(self, now=None) -> Q:
        """Rows a worker may claim now: ready ones, and claims left by a lost worker."""
        now = now or timezone.now()
        return self.ready(now) | Q(status=self.claimed,
                                   claimed_at__lt=now - self.claim_timeout)

    def claim(self, pk, *, now=None):
        """Claim row `pk`: returns it, claimed, with `attempts` counted; or None when it is
        gone, done, not yet due, or claimed by another worker whose claim still holds."""
        now = now or timezone.now()
        with transaction.atomic():
            # A worker that waited for the lock gets the row only if it still matches:
            # PostgreSQL re-checks the condition on the version the lock holder committed.
            row = (self.model.objects.select_for_update()
                   .filter(self.claimable(now), pk=pk).first())
            if row is None:
                return None
            row.status, row.claimed_at = self.claimed, now
            row.attempts += 1
            row.save(update_fields=["status", "claimed_at", "attempts"])
        return row

    def settle(self, row, **changes) -> bool:
        """Record the outcome of `row`'s claim (`changes` set the new status and the rest)
        and end the claim. Returns False, changing nothing, when the claim expired and
        another worker holds the row now: the outcome is that worker's to record."""
        return bool(self.model.objects.filter(
            pk=row.pk, status=self.claimed, claimed_at=row.claimed_at,
        ).update(claimed_at=None, **changes))

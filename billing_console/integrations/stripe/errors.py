"""The few errors the Stripe gateway raises, whatever the SDK raised underneath.

- `TransientStripeError`: a connection failure, a 429 or a 5xx. The gateway has already
  retried with the same idempotency key; the caller may retry later (`retry_after`).
- `PermanentStripeError`: Stripe refused the request. Show `message`; `code`, `param` and
  `request_id` say what and where.
- `DeclinedError` (alias `CardDeclined`): a card decline (a permanent error with a
  `decline_code`).
- `IdempotencyConflict`: the idempotency key was used before with other parameters, which
  is a bug in the caller, never something to retry.
"""


class StripeGatewayError(Exception):
    def __init__(self, message, *, code=None, param=None, request_id=None, http_status=None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.param = param
        self.request_id = request_id
        self.http_status = http_status


class TransientStripeError(StripeGatewayError):
    """Worth retrying later with the same idempotency key and parameters."""

    def __init__(self, message, *, attempts, retry_after=None, **details):
        super().__init__(message, **details)
        # How many times the gateway tried, and how long Stripe asked us to wait (seconds).
        self.attempts = attempts
        self.retry_after = retry_after


class PermanentStripeError(StripeGatewayError):
    """Stripe refused the request; retrying the same request gives the same answer."""


class DeclinedError(PermanentStripeError):
    def __init__(self, message, *, decline_code=None, **details):
        super().__init__(message, **details)
        self.decline_code = decline_code


CardDeclined = DeclinedError


class IdempotencyConflict(PermanentStripeError):
    """The same idempotency key was sent before with different parameters."""


def in_words(error, *, unavailable, refused="Stripe refused"):
    """What a person reads when a Stripe call failed: while Stripe is down, `unavailable`
    says what cannot happen now, and to try again; when Stripe refused, its own words."""
    if isinstance(error, TransientStripeError):
        return f"Stripe is not answering right now, so {unavailable}. Try again in a minute."
    return f"{refused}: {error.message}"

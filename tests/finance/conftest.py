"""Finance's pages decide on the money actions specialists request: they borrow the refund
tests' charged customer and their refund waiting for approval."""

from tests.refunds.conftest import (  # noqa: F401 (fixtures, registered by being imported)
    charged,
    default_refund_policy,
    pending,
)

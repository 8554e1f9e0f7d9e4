"""Fixtures shared with the refunds tests: a charged case, the policy."""

from tests.refunds.conftest import (  # noqa: F401 (fixtures shared with the refunds tests)
    charged,
    default_refund_policy,
)

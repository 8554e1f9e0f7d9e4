"""Fixtures shared with the refunds and credit memo tests: a charged case, the policy, a
case's customer and its invoices, plans and a subscription paid 12 days ago."""

from tests.credit_memos.conftest import (  # noqa: F401 (fixtures shared with those tests)
    case,
    customer,
    invoices,
)
from tests.credit_memos.test_cancel_with_refund import (  # noqa: F401 (fixtures)
    plans,
    subscription,
)
from tests.refunds.conftest import (  # noqa: F401 (fixtures shared with the refunds tests)
    charged,
    default_refund_policy,
    pending,
)

"""Finance's pages: approvals, reconciliation with Stripe, and the summary of money given
back."""

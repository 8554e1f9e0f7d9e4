"""The playbooks every console starts with (a data migration seeds them once): what Tier 2
tells customers about the billing questions that come up most."""

PLAYBOOKS = [
    ("how-a-proration-appears-on-an-invoice", "How a proration appears on an invoice",
     "plan_change", """\
When a customer changes plan or seats in the middle of a billing period, Stripe works out
the difference for the days left and shows it as **proration lines** on an invoice.

- An **upgrade** adds a charge for the rest of the period at the new price, and a credit
  for the unused time at the old price. The customer pays the difference.
- A **downgrade** gives a credit for the unused time; it lowers the next invoice, or sits
  on the customer's balance until then.
- The lines say *"Remaining time on …"* and *"Unused time on …"* with the dates covered.

**What to tell the customer:** the two lines cancel out except for the difference, which is
fair to the day. Nobody is charged twice for the same days.
"""),
    ("duplicate-charges", "Duplicate charges", "duplicate_charge", """\
Two charges of the same amount close together are usually a double submission or a retry.

1. Check the case's billing facts: *"2 charges of … within … minutes: likely duplicate"*.
2. Billing refunds the extra charge; the case shows when it is done.
3. Until then, do **not** promise a date: say billing is checking and will refund any
   duplicate in full.

**What to tell the customer:** the duplicate is refunded to the same card; it shows in
5–10 business days, sometimes as a reversal of the original charge rather than a refund.
"""),
    ("when-a-refund-arrives", "When a refund arrives", "refund_request", """\
Refunds go back to the card or account that paid.

- Stripe sends it at once; the customer's bank shows it in **5–10 business days**.
- Some banks show it as the original charge disappearing rather than a new credit.
- If the card was cancelled or expired, the bank still routes it to the account; a refund
  that fails is retried or handled by billing, and the case says so.

**What to tell the customer:** the date the refund was issued (it is in the billing facts)
and the 5–10 business days. Do not give a bank-specific date.
"""),
    ("tax-and-vat-questions", "Tax and VAT questions", "tax", """\
Tax is worked out from the billing address and, for businesses, the VAT number.

- A **VAT number** added after an invoice was issued does not change that invoice; billing
  can issue a credit memo and a corrected invoice.
- **Reverse charge** applies to businesses in another EU country with a valid VAT number:
  the invoice shows no VAT and says so.
- We never give tax advice: for what the customer can reclaim, they ask their accountant.

**What to tell the customer:** which address and VAT number the invoice used, and that
billing can correct an invoice if either was wrong at the time.
"""),
    ("failed-payment-retries", "Failed payment retries", "failed_payment", """\
When a renewal payment fails, Stripe retries it on a schedule over about two weeks and
emails the customer each time.

- The subscription stays active while retries are pending (*past due*).
- Updating the card in the billing portal retries the open invoice at once.
- After the last retry the subscription may be cancelled or the invoice left unpaid.

**What to tell the customer:** update the payment method; the open invoice is then paid
automatically and nothing else is needed.
"""),
    ("cancellations", "Cancellations", "plan_change", """\
A customer can cancel **at the end of the period** (they keep access until then and are not
charged again) or **now** (access ends at once).

- Cancelling at period end can be undone until that date.
- Cancelling now does not refund the current period by itself; billing decides on a
  prorated credit or refund case by case.

**What to tell the customer:** the date access ends (in the billing facts: *"subscription
cancels at period end on …"*) and that they will not be charged after it.
"""),
]

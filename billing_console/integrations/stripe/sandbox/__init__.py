"""A Stripe sandbox: a stateful HTTP server that speaks Stripe's wire format well enough
that the real `stripe` SDK, and the gateway built on it, work against it unchanged.

    server = build_server("127.0.0.1", 12111, state_path="var/stripe.json",
                          webhook_url="http://127.0.0.1:8000/webhooks/stripe/",
                          webhook_secret="whsec_...")
    server.serve_forever()

- Requests are form-encoded with bracketed nesting; responses are Stripe's JSON objects,
  lists (`has_more`, `starting_after`) and error bodies (`type`, `code`, `param`,
  `message`) with Stripe's HTTP statuses. Every response has a `Request-Id` header.
- Any `sk_test_...` key is accepted; anything else gets a 401.
- An `Idempotency-Key` replays the first response for the same request
  (`Idempotent-Replayed: true`) and answers 400 `idempotency_error` for a different one.
- Resources: customers (and search), balance transactions, products, prices, tax rates,
  payment intents, charges, refunds, disputes, invoices, invoice items, invoice payments,
  credit notes, subscriptions, the invoice preview and events. See each module for Stripe's
  rules; invoices, previews and credit notes are taxed as Stripe taxes them (`tax_rates.py`).
- Every change records an event; with a webhook URL, events are POSTed there signed with
  `Stripe-Signature` and retried with capped exponential backoff (`delivery.py`).
- With a state path, state is saved to that JSON file after each change and reloaded on
  start; without one it lives in memory.

Test-only control endpoints (no API key needed), described in `control.py`:

- `POST /_sandbox/faults` `{"path": "/v1/refunds", "status": 429|500, "count": N,
  "retry_after": seconds}` makes the next N requests to that path fail that way;
- `DELETE /_sandbox/faults` clears them;
- `GET /_sandbox/requests?path=/v1/refunds` lists the requests received, with headers.
"""

from .server import build_server

__all__ = ["build_server"]

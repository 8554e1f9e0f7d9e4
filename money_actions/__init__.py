"""The shared mechanism behind every action that moves money: refunds now, credit memos and
invoice adjustments next. See `services.py` for the state machine and `tasks.py` for the
exactly-once submission to Stripe."""

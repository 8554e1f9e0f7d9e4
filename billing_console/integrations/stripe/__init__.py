"""Stripe: the typed gateway (`gateway`, `types`, `errors`) and a sandbox that behaves like
Stripe's test mode (`sandbox`). Only this package imports the `stripe` SDK."""

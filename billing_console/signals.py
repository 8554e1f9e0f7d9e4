"""What the core tells the apps above it, so that it never imports them: an app that cares
connects a receiver from its AppConfig.ready."""

from django.dispatch import Signal

# A signed-in person (or an API caller) was refused a page or a call. Sent with `request`
# and `reason`; the audit trail records it.
access_denied = Signal()

# Untrusted text was stored with characters the database refuses replaced
# (`billing_console.text.report`). Sent with `reason`, and optionally `object_type`,
# `object_id`, `case_id`, `zendesk_ticket_id`; the audit trail records it.
text_cleaned = Signal()

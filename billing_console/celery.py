"""The Celery app. Settings come from Django's (CELERY_*); tasks are found in each app."""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billing_console.settings")

# Tasks treat a lock conflict as transient and retry it (billing_console/locks.py).
app = Celery("billing_console", task_cls="billing_console.locks:RetryLockConflictsTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# The beat schedule lives here, in code, so that every deployment runs the same jobs.
app.conf.beat_schedule = {
    "verify-audit-chain-nightly": {
        "task": "audit.tasks.verify_audit_chain_task",
        "schedule": crontab(hour=2, minute=30),
    },
    # Yesterday is whole once the day has ended in UTC; an hour later, refunds and notes
    # made at midnight have settled in the console too.
    "reconcile-with-stripe-daily": {
        "task": "finance.tasks.reconcile_yesterday",
        "schedule": crontab(hour=1, minute=15),
    },
    "sync-zendesk-every-minute": {
        "task": "cases.tasks.sync_zendesk",
        "schedule": 60.0,
        # A run still waiting when the next one is due is dropped rather than piled up.
        "options": {"expires": 60},
    },
    "resend-unsent-write-backs": {
        "task": "cases.tasks.resend_unsent_write_backs",
        "schedule": 120.0,
    },
    "requeue-stale-inbound-events": {
        "task": "billing_console.integrations.tasks.requeue_stale_inbound_events",
        "schedule": 300.0,
    },
    # Warns of money actions stuck on their way to Stripe within a minute of their becoming
    # stuck (MONEY_ACTION_STUCK_MINUTES), and settles or resends those no worker is sending.
    "reconcile-money-actions": {
        "task": "money_actions.tasks.reconcile_money_actions",
        "schedule": 60.0,
        "options": {"expires": 60},
    },
    "sweep-approved-money-actions": {
        "task": "money_actions.tasks.sweep_approved_money_actions",
        "schedule": 120.0,
    },
}

from django.core.management.base import BaseCommand

from billing_console.integrations import inbox
from billing_console.integrations.models import InboundEvent

UNSETTLED = (InboundEvent.Status.FAILED, InboundEvent.Status.GAVE_UP)


class Command(BaseCommand):
    help = ("Run stored Stripe events again now: every one not processed (failed, given up "
            "or pending), or those named.")

    def add_arguments(self, parser):
        parser.add_argument("event_ids", nargs="*", help="Stripe event ids (evt_...)")
        parser.add_argument("--include-processed", action="store_true",
                            help="also re-run events that were processed already")

    def handle(self, *args, **options):
        events = inbox.replay(source=InboundEvent.Source.STRIPE, event_ids=options["event_ids"],
                              include_processed=options["include_processed"])
        failed = [event for event in events if event.status in UNSETTLED]
        for event in failed:
            self.stderr.write(f"{event.event_id} {event.event_type}: {event.last_error}")
        self.stdout.write(f"Replayed {len(events)} events; {len(failed)} failed.")

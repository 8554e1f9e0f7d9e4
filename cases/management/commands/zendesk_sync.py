"""`manage.py zendesk_sync`: run the Zendesk intake now, to the end of the export, as beat
runs it every minute. The demo runs it once before the console starts, so that every
escalated ticket is a case, tied to its Stripe customer, before Stripe's events arrive."""

from django.core.management.base import BaseCommand, CommandError

from cases import sync


class Command(BaseCommand):
    help = "Run the Zendesk intake once, to the end of the export."

    def handle(self, *args, **options):
        try:
            run = sync.sync_zendesk_once(max_pages=None)
        except sync.SyncAlreadyRunning as error:
            raise CommandError("Another Zendesk sync is running; try again shortly.") from error
        self.stdout.write(f"Zendesk intake: {run.tickets} tickets read, {run.created} cases "
                          f"made, {run.updated} updated.")

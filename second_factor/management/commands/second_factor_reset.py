"""For a person who lost both their authenticator app and their recovery codes: removes
their second-factor devices, so that they enrol again at their next admin page.

Run from the server (it is not a page: a page for it would itself need the second factor
the person has lost). The reason goes into the audit trail.
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from second_factor.services import second_factor_reset


class Command(BaseCommand):
    help = "Remove a person's second-factor devices (lost phone and recovery codes)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--reason", required=True,
                            help="Why, for the audit trail (a ticket, who asked).")

    def handle(self, *args, username, reason, **options):
        if not reason.strip():
            raise CommandError("Say why, for the audit trail: --reason.")
        try:
            user = get_user_model().objects.get_by_natural_key(username)
        except get_user_model().DoesNotExist as missing:
            raise CommandError(f"No user is named {username!r}.") from missing
        removed = second_factor_reset(user=user, reason=reason.strip())
        self.stdout.write(f"Removed {removed} device(s) of {username}; they enrol again at "
                          "their next admin page.")

"""Demo accounts for `make run`: an admin and one user for each role."""

import secrets

from django.contrib.auth.models import Group, User
from django.db import transaction

from billing_console.access import Role
from billing_console.models import ZendeskIdentity

DEMO_USERS = (
    ("admin", Role.ADMIN, "Ada", "Admin"),
    ("specialist", Role.SPECIALIST, "Sam", "Specialist"),
    ("specialist2", Role.SPECIALIST, "Sky", "Second"),
    ("tier2", Role.TIER2, "Tia", "Tiertwo"),
    ("finance", Role.FINANCE, "Fin", "Ance"),
)


@transaction.atomic
def ensure_demo_users():
    """Create the demo users if missing and give each a fresh password.

    Returns (username, role, password) for the banner. Passwords are new on every start, so
    no demo password outlives the terminal that printed it.
    """
    credentials = []
    for username, role, first_name, last_name in DEMO_USERS:
        user, _ = User.objects.get_or_create(
            username=username,
            defaults={"first_name": first_name, "last_name": last_name,
                      "email": f"{username}@console.example.com"},
        )
        password = secrets.token_urlsafe(12)
        user.set_password(password)
        user.is_active = True
        user.save()
        user.groups.set([Group.objects.get(name=role.value)])
        credentials.append((username, role, password))
    return credentials


def tie_tier2_to_zendesk(zendesk_user_id):
    """The demo Tier 2 user is the Zendesk agent who escalated half the demo tickets, so
    they see those cases and no others."""
    user = User.objects.get(username="tier2")
    ZendeskIdentity.objects.update_or_create(user=user,
                                             defaults={"zendesk_user_id": zendesk_user_id})

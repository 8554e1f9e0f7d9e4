"""Who a console user is in Zendesk.

A Tier 2 agent sees the cases they, or their Zendesk group, escalated; the console knows
which those are by the agent's Zendesk user id and group id, which admins set on the
user's admin page.
"""

from django.conf import settings
from django.db import models


class ZendeskIdentity(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="zendesk_identity")
    zendesk_user_id = models.BigIntegerField(
        null=True, blank=True, db_index=True, verbose_name="Zendesk user id",
        help_text="The agent's user id in Zendesk: they see the cases they escalated.")
    zendesk_group_id = models.BigIntegerField(
        null=True, blank=True, verbose_name="Zendesk group id",
        help_text="The agent's group in Zendesk: they also see the cases escalated from it.")

    class Meta:
        verbose_name = "Zendesk identity"

    def __str__(self):
        return (f"{self.user} in Zendesk (user {self.zendesk_user_id}, "
                f"group {self.zendesk_group_id})")

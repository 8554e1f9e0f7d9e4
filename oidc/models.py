"""Which console user each person of the identity provider is."""

from django.conf import settings
from django.db import models


class ProviderIdentity(models.Model):
    """A console user's identity at the provider: the ID token's `iss` and `sub`, which
    the provider never reassigns (a username or an email can change hands). Made at the
    person's first sign-in; a user without one signs in with a password, if at all."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="provider_identity")
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["issuer", "subject"],
                                               name="one_user_per_provider_identity")]

    def __str__(self):
        return f"{self.subject} at {self.issuer}"

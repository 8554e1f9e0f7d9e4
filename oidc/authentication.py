"""API tokens while single sign-on is on (settings.REST_FRAMEWORK's authentication)."""

from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from oidc.config import enabled
from oidc.models import ProviderIdentity

PROVIDER_USER_REFUSED = (
    "This token belongs to someone who signs in through the identity provider, and is "
    "refused: the provider, not the console, says whether they still work here. Programs "
    "use the token of a service user an admin made in the console.")


class TokenOfServiceUsers(TokenAuthentication):
    """DRF's token authentication, refusing (401) while single sign-on is on the token of
    anyone with a provider identity (`ProviderIdentity`): their roles follow the provider
    only at a sign-in or renewal, which a token never makes, so someone removed at the
    provider would keep their token and their roles. Tokens are for local service users."""

    def authenticate_credentials(self, key):
        user, token = super().authenticate_credentials(key)
        if enabled() and ProviderIdentity.objects.filter(user_id=user.pk).exists():
            raise AuthenticationFailed(PROVIDER_USER_REFUSED)
        return user, token

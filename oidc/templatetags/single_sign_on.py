"""`{% single_sign_on as sso %}` on the sign-in page: where the company sign-in starts and
what the provider is called, or None while single sign-on is off."""

from urllib.parse import urlencode

from django import template
from django.conf import settings
from django.urls import reverse

from oidc.config import enabled

register = template.Library()


@register.simple_tag(takes_context=True)
def single_sign_on(context):
    if not enabled():
        return None
    url = reverse("oidc:sign_in")
    if context.get("next"):
        url += "?" + urlencode({"next": context["next"]})
    return {"url": url, "provider_name": settings.OIDC_PROVIDER_NAME}

"""The API's own views: who am I, the OpenAPI document and its offline docs page."""

from csp.decorators import csp_update
from django.utils.decorators import method_decorator
from drf_spectacular.utils import extend_schema, inline_serializer
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from billing_console.access import SIGNED_IN, CapabilityPermission, capabilities_of, roles_of


class MeApi(APIView):
    required_capability = SIGNED_IN

    @extend_schema(
        responses=inline_serializer(
            "Me",
            {
                "id": serializers.IntegerField(),
                "username": serializers.CharField(),
                "name": serializers.CharField(),
                "email": serializers.EmailField(),
                "roles": serializers.ListField(child=serializers.CharField()),
                "capabilities": serializers.ListField(child=serializers.CharField()),
            },
        )
    )
    def get(self, request):
        user = request.user
        return Response(
            {
                "id": user.pk,
                "username": user.get_username(),
                "name": user.get_full_name(),
                "email": user.email,
                "roles": sorted(roles_of(user)),
                "capabilities": sorted(capabilities_of(user)),
            }
        )


class SchemaApi(SpectacularAPIView):
    required_capability = SIGNED_IN
    permission_classes = [CapabilityPermission]


# drf-spectacular's Swagger page carries one small inline <style>; this is its hash, so
# the page's CSP allows exactly that block (the browser test fails if it changes).
SWAGGER_INLINE_STYLE_HASH = "'sha256-MMpT0iDxyjALd9PdfepImGX3DBfJPXZ4IlDWdPAgtn0='"


@method_decorator(csp_update({"style-src": [SWAGGER_INLINE_STYLE_HASH]}), name="dispatch")
class DocsPage(SpectacularSwaggerSplitView):
    """Swagger UI from the vendored sidecar; its script is served apart, so CSP holds."""

    required_capability = SIGNED_IN
    permission_classes = [CapabilityPermission]

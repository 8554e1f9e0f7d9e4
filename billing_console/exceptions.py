"""Domain errors, and how the API turns any error into `{"message": ..., "code": ...}`."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, JsonResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler

from billing_console.signals import access_denied


class ApplicationError(Exception):
    """A rule of the domain refused the request: shown to the user as it is.

    `status` is 400 for bad input and 409 for a conflict with the current state. The API
    answers either with 409 (see `api_exception_handler`).
    """

    def __init__(self, message, code="invalid", *, status=400):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status


class UnknownCursor(ApplicationError):
    """A cursor that is not one this list gave (`billing_console.parsing.cursor_values`),
    or holds what its fields cannot: refused by the API, while a page starts from its
    first page."""

    def __init__(self):
        super().__init__("That cursor is not one this list gave; start from the first page.",
                         "cursor")


def error_body(message, code):
    return {"message": str(message), "code": code}


def _flatten(detail):
    """First human message out of DRF's nested validation details."""
    if isinstance(detail, dict):
        field, value = next(iter(detail.items()))
        text = _flatten(value)
        return text if field == "non_field_errors" else f"{field}: {text}"
    if isinstance(detail, list) and detail:
        return _flatten(detail[0])
    return str(detail)


def api_exception_handler(exc, context):
    """Every error as `{"message", "code"}`. A 400 is a request that does not match its
    schema (DRF's validation, with `errors` per field); a rule of the console refusing a
    request that does (`ApplicationError`) is a 409, whatever status a page would use: a
    program learns the shape of a valid request from the schema, and the rules from the
    409s' codes."""
    if isinstance(exc, ApplicationError):
        return Response(error_body(exc.message, exc.code),
                        status=409 if exc.status == 400 else exc.status)
    stripe_answer = _stripe_error_response(exc)
    if stripe_answer is not None:
        return stripe_answer
    exc = _as_api_exception(exc)
    response = exception_handler(exc, context)
    if response is None:
        return None  # an unexpected error: Django's 500 handler answers it
    if isinstance(exc, drf_exceptions.PermissionDenied) and not getattr(exc, "recorded", False):
        access_denied.send(sender=api_exception_handler, request=context["request"],
                           reason=str(exc.detail))
    if isinstance(exc, drf_exceptions.ValidationError):
        body = error_body(_flatten(exc.detail), "invalid")
        body["errors"] = exc.detail
    else:
        body = error_body(_flatten(exc.detail), getattr(exc.detail, "code", None)
                          or exc.default_code)
    response.data = body
    return response


def _stripe_error_response(exc):
    """Stripe down is a 503 to try again; an object Stripe does not have is a 404; Stripe
    refusing is a 409 with its words."""
    from billing_console.integrations.stripe.errors import (
        StripeGatewayError,
        TransientStripeError,
        in_words,
    )

    if not isinstance(exc, StripeGatewayError):
        return None
    message = in_words(exc, unavailable="nothing has changed")
    if isinstance(exc, TransientStripeError):
        return Response(error_body(message, "stripe_unavailable"), status=503)
    if exc.http_status == 404 or exc.code == "resource_missing":
        return Response(error_body(message, "not_found"), status=404)
    return Response(error_body(message, "stripe_refused"), status=409)


def _as_api_exception(exc):
    """Django's own 404 and 403 as DRF's, so they get the same body."""
    if isinstance(exc, Http404):
        return drf_exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        return drf_exceptions.PermissionDenied(str(exc) or None)
    return exc


class ApiNotFound:
    """Middleware: under `/api/`, a path that names no endpoint (`/api/v1/refunds/zzz/`,
    whose id is no UUID) is the API's 404 body, with DEBUG on too, where Django would
    answer its HTML page of the URL patterns."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code == 404 and request.path_info.startswith("/api/") \
                and response.get("Content-Type", "").split(";")[0] != "application/json":
            return JsonResponse(error_body("Not found.", "not_found"), status=404)
        return response

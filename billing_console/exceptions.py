"""Domain errors, and how the API turns any error into `{"message": ..., "code": ...}`."""

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.forms.utils import pretty_name
from django.http import Http404
from django.urls import Resolver404, get_resolver, get_urlconf
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
    """First human message out of DRF's nested validation details, its field named as
    people read it ("Amount: …", "Lines: item 2: …"), never by the name it is sent under
    ("reason_code"), which keys `errors`. The API's fields have no label of their own: DRF
    labels a field by its name in words, as Django does a form's."""
    if isinstance(detail, dict):
        field, value = next(iter(detail.items()))
        text = _flatten(value)
        if field == "non_field_errors":
            return text
        if isinstance(field, int) or str(field).isdigit():
            return f"item {int(field) + 1}: {text}"
        return f"{pretty_name(str(field))}: {text}"
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


class PageNotFound(Http404):
    """What a page names is not there, or not the viewer's to see, said for the person who
    followed the link: the console's 404 page shows the message. A plain `Http404`'s
    message (`get_object_or_404`'s "No Case matches the given query.") is for developers,
    and the page never shows it."""


class ConsoleNotFound:
    """Middleware: with DEBUG on too, a path that names no page and an `Http404` a view
    raises answer the console's own 404 (`handler404`: the page with the console's
    navigation, saying what to do; under `/api/` the API's JSON body), where Django would
    answer its technical page for developers (the URL patterns, the query's model). With
    DEBUG off Django calls the same handler, and this changes nothing."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        # No view was resolved: Django's resolver raised before any view could answer.
        if settings.DEBUG and response.status_code == 404 and request.resolver_match is None:
            return _console_not_found(request, Resolver404())
        return response

    def process_exception(self, request, exception):
        if isinstance(exception, Http404):
            return _console_not_found(request, exception)
        return None


def _console_not_found(request, exception):
    return get_resolver(get_urlconf()).resolve_error_handler(404)(request, exception=exception)

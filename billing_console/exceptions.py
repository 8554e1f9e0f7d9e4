"""Domain errors, and how the API turns any error into `{"message": ..., "code": ...}`."""

from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler


class ApplicationError(Exception):
    """A rule of the domain refused the request: shown to the user as it is.

    `status` is 400 for bad input and 409 for a conflict with the current state.
    """

    def __init__(self, message, code="invalid", *, status=400):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status


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
    if isinstance(exc, ApplicationError):
        return Response(error_body(exc.message, exc.code), status=exc.status)
    response = exception_handler(exc, context)
    if response is None:
        return None  # an unexpected error: Django's 500 handler answers it
    if isinstance(exc, drf_exceptions.PermissionDenied):
        from audit.services import record_denial

        record_denial(context["request"], str(exc.detail))
    code = getattr(exc, "default_code", "error")
    if isinstance(exc, drf_exceptions.ValidationError):
        body = error_body(_flatten(exc.detail), "invalid")
        body["errors"] = exc.detail
    else:
        detail = exc.detail
        body = error_body(_flatten(detail), getattr(detail, "code", None) or code)
    response.data = body
    return response

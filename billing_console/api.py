"""The API's shared shape (its own views, who am I and the OpenAPI document, are in `apis.py`).

Every endpoint is written with the pieces here, so that all of them read alike:

- `InputSerializer`, the base of every request body: typed strictly (a string field refuses
  a number, an integer field a string or a float, a boolean field anything but true and
  false) and refusing text the database cannot store (NUL, lone surrogates).
- `ErrorSerializer` and `error_responses(...)`: the error body `{"message", "code"}` and the
  documented error responses of an endpoint. `ApiSchema` adds to every operation the errors
  every endpoint shares (401; 403 for a role-bound endpoint; 404 with a path parameter;
  400 with a request body), so an endpoint names only its own (409, 503…).
- `page_of(Serializer)`, `paged(...)` and `keyset_page(...)`: the one shape of every list,
  `{"results": [...], "next": <absolute URL or null>}`, keyset-paged.
"""

import base64
import functools
import json

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.response import Response

from billing_console.access import SIGNED_IN
from billing_console.exceptions import ApplicationError
from billing_console.text import REFUSED_IN_WORDS, storable

# --- errors ----------------------------------------------------------------------------------


class ErrorSerializer(serializers.Serializer):
    """Every error's body (`billing_console.exceptions.api_exception_handler`)."""

    message = serializers.CharField(help_text="In words, for a person.")
    code = serializers.CharField(help_text="For a program: `invalid`, `not_found`, "
                                           "`permission_denied`, or the rule that refused.")
    errors = serializers.JSONField(
        required=False,
        help_text="With code `invalid`: the messages of each field of the request body.")

    class Meta:
        ref_name = "Error"


ERROR_DESCRIPTIONS = {
    400: "The request is invalid, or a rule refused it (`code` says which).",
    401: "No valid token or session.",
    403: "The role does not include this part of the console.",
    404: "Nothing of that id, or nothing this role may see.",
    409: "It conflicts with the current state (it changed since it was read).",
    413: "The request is too large.",
    429: "Too many requests; try again later.",
    503: "Stripe, Zendesk or the database is busy or unavailable; nothing has changed, try "
         "again.",
}


def error_responses(*statuses):
    """The documented error responses for `statuses`, for `extend_schema(responses=…)`:
    `responses={200: X, **error_responses(409, 503)}`."""
    return {status: OpenApiResponse(ErrorSerializer, description=ERROR_DESCRIPTIONS[status])
            for status in statuses}


class ApiSchema(AutoSchema):
    """drf-spectacular's schema with the error responses every endpoint shares."""

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        responses = operation["responses"]
        error = {"content": {"application/json": {
            "schema": self.resolve_serializer(ErrorSerializer, "response").ref}}}
        for status in self._shared_errors(operation):
            responses.setdefault(str(status), {"description": ERROR_DESCRIPTIONS[status],
                                               **error})
        return operation

    def _shared_errors(self, operation):
        statuses = [401]
        if getattr(self.view, "required_capability", SIGNED_IN) != SIGNED_IN:
            statuses.append(403)
        parameters = operation.get("parameters", [])
        if "requestBody" in operation or any(p["in"] == "query" for p in parameters):
            statuses.append(400)
        if any(p["in"] == "path" for p in parameters):
            statuses.append(404)
        return statuses


# --- request bodies --------------------------------------------------------------------------


class InputSerializer(serializers.Serializer):
    """The base of every request body: each value must already have its field's JSON type.
    DRF coerces (0 to "0", "12" to 12, "yes" to True); a program that sends the wrong type
    has a bug it should hear of, and the OpenAPI document promises the type."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            errors = {name: [message] for name, field in self.fields.items()
                      if not field.read_only and name in data
                      and (message := _type_error(field, data[name]))}
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


def _type_error(field, value):
    """Why `value` does not fit `field`'s JSON type, or None."""
    if value is None:
        return None  # the field's allow_null decides
    if isinstance(field, serializers.ListField) and isinstance(value, list):
        return next(filter(None, (_type_error(field.child, item) for item in value)), None)
    expected = _json_type(field)
    if expected is not None and not expected[1](value):
        return f"Must be {expected[0]}."
    if storable(value)[1]:
        return f"Holds a character no record can contain ({REFUSED_IN_WORDS})."
    return None


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _json_type(field):
    """(what to say, check) for the fields whose JSON type DRF would coerce into."""
    if isinstance(field, serializers.BooleanField):
        return "true or false", lambda value: isinstance(value, bool)
    if isinstance(field, serializers.IntegerField):
        return "a whole number", _is_int
    if isinstance(field, serializers.CharField | serializers.ChoiceField
                  | serializers.DateTimeField | serializers.DateField):
        return "a string", lambda value: isinstance(value, str)
    return None


# --- lists -----------------------------------------------------------------------------------

PAGE_SIZE = 50


@functools.cache
def page_of(serializer_class):
    """The schema of one page of `serializer_class`: `{"results": [...], "next": url|null}`."""
    name = serializer_class.__name__.removesuffix("Serializer")
    return inline_serializer(f"{name}Page", {
        "results": serializer_class(many=True),
        "next": serializers.URLField(
            allow_null=True, help_text="The next page, with every filter kept; null on the "
                                       "last page."),
    })


def cursor_parameter(name="after"):
    """The cursor's query parameter, as documented on every list."""
    return OpenApiParameter(name, str, description="The cursor from the previous page's "
                                                   "`next`; leave it out for the first page.")


def next_url(request, name, cursor):
    """The absolute URL of the page after this one: this request's query with the cursor
    parameter `name` set to `cursor`; None when there is no next page."""
    if cursor is None:
        return None
    query = request.query_params.copy()
    query[name] = cursor
    return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")


def paged(request, results, *, name="after", cursor):
    """The response of every list: `results` (serialized) and the URL of the next page."""
    return Response({"results": results, "next": next_url(request, name, cursor)})


def keyset_list(request, rows, serializer_class, *, order, size=PAGE_SIZE):
    """The response of a list of the queryset `rows` in `order` (see `keyset_page`), at the
    cursor `after` of this request."""
    page, cursor = keyset_page(rows, order=order, cursor=request.query_params.get("after"),
                               size=size)
    return paged(request, serializer_class(page, many=True).data, cursor=cursor)


def keyset_page(rows, *, order, cursor, size):
    """(rows of one page, cursor of the next or None) of the queryset `rows` in `order`
    (field names, "-" for descending; the last one unique, such as "id"). A page costs the
    same however deep it is. A cursor that is not one of ours is a 400."""
    if cursor:
        try:
            rows = rows.filter(_after(order, _decode(cursor)))
        except (DjangoValidationError, ValueError, TypeError) as error:
            raise _bad_cursor() from error  # values that do not fit the fields
    page = list(rows.order_by(*order)[: size + 1])
    if len(page) <= size:
        return page, None
    last = page[size - 1]
    return page[:size], _encode([_cursor_value(getattr(last, field.lstrip("-")))
                                 for field in order])


def _after(order, values):
    """Rows after `values` in `order`: the first field beyond it, or equal and the rest
    beyond."""
    if not isinstance(values, list) or len(values) != len(order) or not all(
            isinstance(value, str | int) and not isinstance(value, bool) for value in values):
        raise _bad_cursor()
    field, *rest = order
    name = field.lstrip("-")
    beyond = Q(**{f"{name}__{'lt' if field.startswith('-') else 'gt'}": values[0]})
    if rest:
        beyond |= Q(**{name: values[0]}) & _after(rest, values[1:])
    return beyond


def _cursor_value(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


def _encode(values):
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode()


def _decode(cursor):
    try:
        return json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, TypeError) as error:
        raise _bad_cursor() from error


def _bad_cursor():
    return ApplicationError("That cursor is not one this list gave; start from the first "
                            "page.", "cursor")

"""The API's shared shape (its own views, who am I and the OpenAPI document, are in `apis.py`).

Every endpoint is written with the pieces here, so that all of them read alike:

- `InputSerializer`, the base of every request body (JSON only): typed strictly (a string
  field refuses a number, an integer field a string or a float, a boolean field anything
  but true and false), strings taken as sent (not trimmed: "" is the only blank) and
  refused when they hold text the database cannot store (NUL, lone surrogates); and
  `amount_field()`, an amount in minor units. `QuerySerializer` reads query parameters.
- `ErrorSerializer` and `error_responses(...)`: the error body `{"message", "code"}` and the
  documented error responses of an endpoint. 400 is a request that does not match its
  schema; 409 one that does, but that a rule of the console refuses as things stand
  (`api_exception_handler` answers every `ApplicationError` so). `ApiSchema` adds to every
  operation the errors every endpoint shares (401; 403, for a role or an admin's second
  factor; 404 with a path parameter; 400 with query parameters; 400, 409 and 415 with a
  request body), so an endpoint names only its own (409 for a read a rule can refuse; 503
  when it reads Stripe).
- `page_of(Serializer)`, `paged(...)` and `keyset_page(...)`: the one shape of every list,
  `{"results": [...], "next": <absolute URL or null>}`, keyset-paged, with cursors that
  only their own list reads.
- `IDEMPOTENCY_KEY_PARAMETER`: the `Idempotency-Key` header of a create of a money action
  (`money_actions.idempotency` keeps the answers).
"""

import functools
import re
import uuid
from datetime import date, datetime

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.response import Response

from billing_console.dates import DAY_FORMAT
from billing_console.exceptions import UnknownCursor
from billing_console.money import ABSURD_AMOUNT
from billing_console.parsing import (
    BIGINT_MAX,
    WHOLE_NUMBER_MAX_DIGITS,
    cursor_for,
    cursor_values,
    is_bigint,
    too_many_digits,
    whole_number,
)
from billing_console.text import REFUSED_IN_WORDS, refuses

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
    400: "The request does not match its schema (`errors` says, for each field of a body, "
         "why), or its body is not JSON nested at most 64 deep (code `parse_error`).",
    401: "No valid token or session.",
    403: "The role does not include this part of the console, or the caller is an admin "
         "without their second factor: a session that has not given it, or an API token "
         "(which cannot carry one).",
    404: "Nothing of that id, or nothing this role may see (in the console or in Stripe).",
    409: "A rule of the console refuses it as things stand (the amount left, the state of the "
         "case or of the Stripe object, a reason code…); `code` names the rule.",
    406: "The `Accept` header asks for a type this endpoint does not answer in.",
    415: "The body is not JSON.",
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
        if any(p["in"] == "header" and p["name"] == IDEMPOTENCY_KEY
               for p in operation.get("parameters", [])):
            for status, response in responses.items():
                if status.startswith("2"):
                    response["headers"] = {IDEMPOTENT_REPLAYED: {
                        "description": f"`true` when this is the answer kept for the "
                                       f"{IDEMPOTENCY_KEY} of an earlier request.",
                        "schema": {"type": "string", "enum": ["true"]}}}
        return operation

    def get_operation_id(self):
        """`…_list` for an endpoint answering with a page (`page_of`): drf-spectacular
        names an APIView's GET `…_retrieve` unless it answers with a bare array, so a list
        and its item's endpoint (`/cases/`, `/cases/{id}/`) would share one id."""
        operation_id = super().get_operation_id()
        responses = self.get_response_serializers()
        if isinstance(responses, dict):
            responses = responses.get(200)
        if self.method == "GET" and getattr(responses, "keyset_page", False):
            return operation_id.removesuffix("_retrieve") + "_list"
        return operation_id

    def _shared_errors(self, operation):
        # 403 even where every role may call: an admin calls only with their second factor.
        statuses = [401, 403, 406]
        parameters = operation.get("parameters", [])
        if any(p["in"] == "path" for p in parameters):
            statuses.append(404)
        if "requestBody" in operation:
            statuses += [400, 409, 415]
        elif any(p["in"] == "query" for p in parameters):
            statuses.append(400)
        return statuses

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        """A request's strings as `InputSerializer` takes them: no NUL, and not empty
        unless the field allows a blank."""
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        has_pattern = any(isinstance(v, RegexValidator) for v in field.validators)
        if direction == "request" and schema.get("type") == "string" and not has_pattern \
                and "enum" not in schema and "format" not in schema:
            schema["pattern"] = NO_NUL
            if not getattr(field, "allow_blank", True):
                schema.setdefault("minLength", 1)
        return schema


    def _insert_field_validators(self, field, schema):
        """A blank-allowed string is `oneOf: [its schema, {maxLength: 0}]` to
        drf-spectacular, under which "" is invalid, since it matches both: the blank is
        folded into the field's schema when that accepts "" already (a pattern of no NUL),
        or else offered by `anyOf`."""
        super()._insert_field_validators(field, schema)
        if schema.get("oneOf", [])[1:] != [BLANK]:
            return
        inner = schema["oneOf"][0]
        if "minLength" not in inner and re.search(inner.get("pattern", ""), ""):
            del schema["oneOf"]
            schema.update(inner)
        else:
            schema["anyOf"] = schema.pop("oneOf")


NO_NUL = "^[^\\u0000]*$"
BLANK = {"type": "string", "maxLength": 0}


# --- request bodies --------------------------------------------------------------------------

# The header of an idempotent create (`money_actions.idempotency` keeps the answers), and
# the one that says an answer is a replay.
IDEMPOTENCY_KEY = "Idempotency-Key"
IDEMPOTENCY_KEY_MAX_LENGTH = 255
IDEMPOTENT_REPLAYED = "Idempotent-Replayed"
IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    IDEMPOTENCY_KEY, {"type": "string", "maxLength": IDEMPOTENCY_KEY_MAX_LENGTH},
    OpenApiParameter.HEADER, required=False,
    description="Any printable text of yours, such as a UUID: a request sent again with "
                "the same key and body gets the first answer (with `Idempotent-Replayed: "
                "true`) and does nothing more; with another body, a 409. A request refused "
                "(400, 404, 409) keeps nothing: the same key may try again.")


class InputSerializer(serializers.Serializer):
    # The base of every request body (no docstring: the schema would show it for each).
    # Each value must already have its field's JSON type: DRF coerces (0 to "0", "12" to
    # 12, "yes" to True), and a program that sends the wrong type has a bug it should hear
    # of. Strings are kept as sent, so that "" is the one blank the schema says; a rule
    # refuses one of only spaces in its own words (409).

    def get_fields(self):
        fields = super().get_fields()
        for field in fields.values():
            if isinstance(field, serializers.CharField):
                field.trim_whitespace = False
            _within_bigint(getattr(field, "child", field))
        return fields

    def to_internal_value(self, data):
        _choices_in_words(self.fields)
        if isinstance(data, dict):
            errors = {name: [message] for name, field in self.fields.items()
                      if not field.read_only and name in data
                      and (message := _type_error(field, data[name]))}
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


def _within_bigint(field):
    """An integer field without a bound is given the database's: a larger number could
    only be refused by the database, as a 500."""
    if not isinstance(field, serializers.IntegerField):
        return
    if field.max_value is None:
        field.max_value = BIGINT_MAX
        field.validators.append(MaxValueValidator(BIGINT_MAX))
    if field.min_value is None:
        field.min_value = -BIGINT_MAX - 1
        field.validators.append(MinValueValidator(-BIGINT_MAX - 1))


def _choices_in_words(fields):
    """Each choice field of `fields` (a serializer's, as validation finds them: some set
    their choices after `get_fields`) refuses a value by naming the values it takes: DRF's
    words quote the value sent, whatever its length (a 10 kB string came back whole)."""
    for field in fields.values():
        field = getattr(field, "child", field)
        if isinstance(field, serializers.ChoiceField):
            values = [f'"{value}"' for value in field.choices]
            field.error_messages["invalid_choice"] = (
                f"Must be one of {', '.join(values)}." if len(values) <= MAX_CHOICES_NAMED
                else "Must be one of the values the schema lists.")


# Every list of choices of the API's is shorter; a longer one is left to its schema.
MAX_CHOICES_NAMED = 20


def _type_error(field, value):
    """Why `value` does not fit `field`'s JSON type, or None."""
    if value is None:
        return None  # the field's allow_null decides
    if isinstance(field, serializers.ListField) and isinstance(value, list):
        return next(filter(None, (_type_error(field.child, item) for item in value)), None)
    expected = _json_type(field)
    if expected is not None and not expected[1](value):
        # An integer field's own words for it (an amount's say what a minor unit is).
        return field.error_messages["invalid"] if isinstance(field, serializers.IntegerField) \
            else f"Must be {expected[0]}."
    if isinstance(value, str) and refuses(value):
        return f"Holds a character no record can contain ({REFUSED_IN_WORDS})."
    if isinstance(value, str) and isinstance(field, serializers.DateField
                                             | serializers.DateTimeField):
        return _loosely_spelt(field, value)
    return None


def amount_field(**options):
    """An amount in the currency's minor unit (cents for USD): a whole number above zero."""
    options.setdefault("help_text", "In the currency's minor unit (cents for USD).")
    return serializers.IntegerField(min_value=1, max_value=ABSURD_AMOUNT - 1, error_messages={
        "invalid": "The amount must be a whole number of the currency's minor units (cents "
                   "for USD), for example 1250 for 12.50.",
        "min_value": "The amount must be more than zero.",
        "max_value": "That amount is not plausible for one action."}, **options)


# An ISO 4217 code as a request gives it (either case); whether the console knows it is a
# rule (409).
# \A and \Z, never ^ and $: Python's $ also matches before a final newline, so "usd\n" would
# pass (the schema says ^ and $, which mean the same in its regular expressions).
CURRENCY_CODE = RegexValidator(r"\A[A-Za-z]{3}\Z", "An ISO 4217 currency code has three letters.")


class QuerySerializer(serializers.Serializer):
    # The base of the query parameters a read takes (`parameters=[TheQuery]` documents
    # them): read with DRF's coercion, since a query holds only text.

    @classmethod
    def read(cls, request):
        """The validated parameters of `request`; a 400 naming the bad ones otherwise. An
        empty value is a value (a form's empty field would be absent): `since=` is not a
        date."""
        query = cls(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        return query.validated_data

    def to_internal_value(self, data):
        _choices_in_words(self.fields)
        errors = {name: [message] for name, field in self.fields.items()
                  if isinstance(data.get(name), str)
                  and (message := _loosely_spelt(field, data[name]))}
        if errors:
            raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


def _loosely_spelt(field, text):
    """Why `text` is not how `field`'s value is written, or None. DRF reads "١٣", "1_3",
    "13.0" and " 13 " as 13, and Python's parsers read "２０２６-1-5" as a day and a
    moment with a final newline: a program that sends them has a bug it should hear of."""
    if isinstance(field, serializers.IntegerField) and too_many_digits(text):
        # A number all the same: what is wrong is its size.
        return (f"Must be at most {field.max_value}." if field.max_value is not None
                else f"Must have at most {WHOLE_NUMBER_MAX_DIGITS} digits.")
    if isinstance(field, serializers.IntegerField) and whole_number(text) is None:
        return "Must be a whole number in the digits 0-9."
    if isinstance(field, serializers.DateField) and not DAY_FORMAT.fullmatch(text):
        return "Must be a day, YYYY-MM-DD."
    if isinstance(field, serializers.DateTimeField) and not (
            text.isascii() and text.isprintable() and text == text.strip()):
        return "Must be a moment in ISO 8601, such as 2026-11-30T10:00:00Z."
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
    page = inline_serializer(f"{name}Page", {
        "results": serializer_class(many=True),
        "next": serializers.URLField(
            allow_null=True, help_text="The next page, with every filter kept; null on the "
                                       "last page."),
    })
    page.keyset_page = True  # named a list by `ApiSchema.get_operation_id`
    return page


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
    same however deep it is. A cursor this list did not give, or whose values do not fit
    its fields, is refused (`UnknownCursor`, a 409) before any query."""
    list_name = f"{rows.model._meta.label_lower}:{','.join(order)}"
    if cursor:
        values = cursor_values(cursor, list_name)
        if values is None or len(values) != len(order):
            raise UnknownCursor()
        rows = rows.filter(_after(order, [_key_value(rows.model, field.lstrip("-"), value)
                                          for field, value in zip(order, values, strict=True)]))
    page = list(rows.order_by(*order)[: size + 1])
    if len(page) <= size:
        return page, None
    last = page[size - 1]
    return page[:size], cursor_for(list_name, [_cursor_value(getattr(last, field.lstrip("-")))
                                               for field in order])


def _after(order, values):
    """Rows after `values` in `order`: the first field beyond it, or equal and the rest
    beyond."""
    field, *rest = order
    name = field.lstrip("-")
    descending = field.startswith("-")
    beyond = Q(**{f"{name}__{'lt' if descending else 'gt'}": values[0]})
    if rest:
        beyond |= Q(**{name: values[0]}) & _after(rest, values[1:])
        # The same rows, with a bound an index can start from: under the OR alone,
        # PostgreSQL reads the index from its first row and filters out every row before
        # the cursor, so a page cost as much as all the pages before it.
        beyond &= Q(**{f"{name}__{'lte' if descending else 'gte'}": values[0]})
    return beyond


def _cursor_value(value):
    """A keyset value as JSON holds it: a time in ISO 8601, a UUID as text."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value) if isinstance(value, uuid.UUID) else value


def _key_value(model, name, value):
    """The value of the field `name` a cursor's `value` spells (as `_cursor_value` wrote
    it); `UnknownCursor` for one that does not fit the field: text the database refuses
    (NUL, a lone surrogate), a number for text, a time without its zone or a number beyond
    bigint would each fail in the query, or be read as something else (50 as a UUID)."""
    field = model._meta.get_field(name)
    if isinstance(field, models.IntegerField):  # ids too
        if is_bigint(value):
            return value
        raise UnknownCursor()
    if not isinstance(value, str) or refuses(value):
        raise UnknownCursor()
    try:
        return _text_key(field, value)
    except ValueError as error:
        raise UnknownCursor() from error


def _text_key(field, text):
    if isinstance(field, models.CharField | models.TextField):
        return text
    if isinstance(field, models.UUIDField):
        return uuid.UUID(text)
    if isinstance(field, models.DateTimeField):
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            raise ValueError("A time without its zone.")
        return moment
    if isinstance(field, models.DateField):
        return date.fromisoformat(text)
    raise TypeError(f"No keyset reads a {type(field).__name__} ({field}).")

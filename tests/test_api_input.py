"""What the API does with input a program should not send: cursors that are not this list's
or hold what no column can, bodies nested past any sense, numbers spelt loosely, text with
a trailing newline, and paths no endpoint has. Each is a 400 or a 409 in the error shape
(or a 404 for a path), never a 500 or an HTML page; and the schema accepts the "" the
server accepts."""

import base64
import json
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import jsonschema
import pytest
from django.core.exceptions import ValidationError
from rest_framework import serializers

from audit.apis import AMOUNT as AUDIT_AMOUNT
from billing_console.api import CURRENCY_CODE, InputSerializer, QuerySerializer, keyset_page
from cases.models import StripeLink
from guidance import services as guidance_services
from guidance.models import Question
from guidance.selectors import open_questions, playbooks
from money_actions.models import MoneyAction, State
from tests.cases.factories import make_case
from tests.conftest import api_client, signed_in


def _cursor(value):
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


def _opened(cursor):
    return json.loads(base64.urlsafe_b64decode(cursor.encode()))


def _after(body):
    """The cursor in a page's `next`."""
    return parse_qs(urlsplit(body["next"]).query)["after"][0]


def _refused_as_a_cursor(response):
    assert response.status_code == 409, response.content[:300]
    assert response.json()["code"] == "cursor"
    assert response.json()["message"] == ("That cursor is not one this list gave; start "
                                          "from the first page.")


def _playbooks(author, count=2):
    for number in range(count):
        guidance_services.playbook_save(title=f"Refunds {number}", category="refund_request",
                                        body="Refunds take 5-10 days.", author=author)


def _money_actions(requester, count=2):
    case = make_case(stripe_customer_id="cus_Ava", stripe_link=StripeLink.VERIFIED)
    for _ in range(count):
        MoneyAction.objects.create(
            kind="refund", state=State.SUCCEEDED, case=case, stripe_customer_id="cus_Ava",
            stripe_target_id="ch_Target", amount=2_500, currency="usd",
            reason_code="duplicate", note="Charged twice.", requested_by=requester)


def _questions(asker, count=2):
    for number in range(count):
        guidance_services.question_ask(asker=asker, case=None, body=f"Question {number}?")


# Cursors -----------------------------------------------------------------------------------

# ["\u0000", "a", 1] and ["\ud800", "a", 1]: the shape of the playbooks' key, holding a NUL
# and a lone surrogate, which PostgreSQL refuses in text (each was a 500).
@pytest.mark.parametrize("cursor", ["WyJcdTAwMDAiLCAiYSIsIDFd", "WyJcdWQ4MDAiLCAiYSIsIDFd"],
                         ids=["nul", "lone-surrogate"])
def test_a_cursor_holding_text_no_column_can_is_refused_as_a_cursor(specialist, cursor):
    _playbooks(specialist)
    _refused_as_a_cursor(api_client(specialist).get("/api/v1/playbooks/", {"after": cursor}))


# What each value of a real cursor of the playbooks (category, title, id) is replaced with.
@pytest.mark.parametrize("position, value", [
    (0, "refund\u0000request"),
    (1, "\udfff"),
    (1, 12),  # a number for a title
    (2, "12"),  # text for an id
    (2, 2**63),  # an id beyond bigint
    (2, 1.5),
    (2, None),
], ids=["nul", "lone-surrogate", "number-for-text", "text-for-id", "beyond-bigint",
        "fraction", "null"])
def test_each_value_of_a_cursor_is_checked_against_its_field(specialist, position, value):
    _playbooks(specialist, count=3)
    _, real = keyset_page(playbooks(query=""), order=("category", "title", "id"),
                          cursor=None, size=1)
    api = api_client(specialist)
    assert api.get("/api/v1/playbooks/", {"after": real}).status_code == 200
    cursor = _opened(real)
    cursor["after"][position] = value

    _refused_as_a_cursor(api.get("/api/v1/playbooks/", {"after": _cursor(cursor)}))


@pytest.mark.parametrize("value", [50, "not a uuid", "2026-11-30T10:00:00+00:00"],
                         ids=["number", "text", "a-time"])
def test_a_money_action_cursor_holds_a_time_and_a_uuid_only(finance, specialist, value):
    _money_actions(specialist, count=3)
    api = api_client(finance)
    cursor = _opened(_after(api.get("/api/v1/money-actions/", {"limit": 1}).json()))
    cursor["after"][1] = value

    _refused_as_a_cursor(api.get("/api/v1/money-actions/", {"after": _cursor(cursor)}))


def test_a_time_in_a_cursor_must_say_its_zone(finance, specialist):
    _money_actions(specialist, count=3)
    api = api_client(finance)
    cursor = _opened(_after(api.get("/api/v1/money-actions/", {"limit": 1}).json()))
    cursor["after"][0] = datetime.now(UTC).replace(tzinfo=None).isoformat()

    _refused_as_a_cursor(api.get("/api/v1/money-actions/", {"after": _cursor(cursor)}))


def test_a_cursor_works_on_its_own_list_only(specialist, finance):
    """The open questions' cursor holds (a time, a number), which the money actions read as
    (a time, UUID(int=the number)): it served a page of the wrong list."""
    _questions(specialist, count=3)
    _money_actions(specialist, count=3)
    _, cursor = keyset_page(open_questions(), order=("created_at", "id"), cursor=None, size=1)

    _refused_as_a_cursor(api_client(finance).get("/api/v1/money-actions/", {"after": cursor}))
    own = api_client(specialist).get("/api/v1/questions/open/", {"after": cursor})
    assert own.status_code == 200 and len(own.json()["results"]) == 2


def test_a_cursor_of_one_list_is_refused_by_another_of_the_same_rows(tier2, specialist):
    """The caller's own questions are newest first, the open ones oldest first: each
    cursor reads only in its own order."""
    _questions(tier2, count=3)
    mine = api_client(tier2).get("/api/v1/questions/").json()
    assert mine["next"] is None  # a page of 50: the cursor of a page of one, then
    _, newest_first = keyset_page(Question.objects.all(), order=("-created_at", "-id"),
                                  cursor=None, size=1)

    assert api_client(tier2).get("/api/v1/questions/", {"after": newest_first}) \
        .status_code == 200
    _refused_as_a_cursor(api_client(specialist).get("/api/v1/questions/open/",
                                                    {"after": newest_first}))


@pytest.mark.parametrize("cursor", [
    "!!not-base64",
    _cursor({"a": 1}),
    _cursor([None, "abc"]),
    _cursor(["2026-11-30T10:00:00", 1]),
], ids=["not-base64", "an-object", "wrong-shape", "naive-time"])
def test_the_cases_api_refuses_a_cursor_it_never_gave_and_the_page_starts_over(
        specialist, client, cursor):
    case = make_case()
    _refused_as_a_cursor(api_client(specialist).get("/api/v1/cases/", {"after": cursor}))
    page = signed_in(specialist).get("/cases/", {"after": cursor})
    assert page.status_code == 200 and f"/cases/{case.pk}/" in page.content.decode()


def test_a_cases_cursor_is_its_sort_s(specialist):
    """The `updated` sort's key (a time, an id) also has the shape of the `sla` sort's."""
    make_case(), make_case(), make_case()
    api = api_client(specialist)
    updated = _after(api.get("/api/v1/cases/", {"sort": "updated", "limit": 1}).json())

    assert api.get("/api/v1/cases/", {"sort": "updated", "after": updated}).status_code == 200
    _refused_as_a_cursor(api.get("/api/v1/cases/", {"sort": "sla", "after": updated}))


# Bodies ------------------------------------------------------------------------------------

DEEP = "[" * 100_000 + "]" * 100_000
NESTED = json.dumps({"body": "x", "case_id": None, "deep": json.loads(
    "[" * 200 + "]" * 200)})


@pytest.mark.parametrize("path", ["/api/v1/handover/notes/", "/api/v1/refunds/",
                                  "/api/v1/playbook-versions/", "/api/v1/case-guidance/"])
@pytest.mark.parametrize("body", [DEEP, NESTED], ids=["100000-deep", "200-deep"])
def test_a_body_nested_past_any_sense_is_a_400_parse_error(specialist, path, body):
    response = api_client(specialist).post(path, body, content_type="application/json")

    assert response.status_code == 400, response.content[:300]
    assert response.json()["code"] == "parse_error"


def test_a_signed_stripe_webhook_nested_past_any_sense_is_refused(db, client, settings):
    from billing_console.integrations.stripe.sandbox.delivery import signature_header

    settings.STRIPE_WEBHOOK_SECRET = "whsec_deep"
    body = '{"id": "evt_deep", "type": "customer.updated", "data": ' + DEEP + "}"

    response = client.post("/webhooks/stripe/", data=body, content_type="application/json",
                           HTTP_STRIPE_SIGNATURE=signature_header(body, "whsec_deep"))

    assert response.status_code == 400 and response.json()["code"] == "bad_payload"


def test_a_signed_zendesk_webhook_nested_past_any_sense_is_refused(db, client, settings):
    from billing_console.integrations.zendesk.sandbox.notifier import sign

    settings.ZENDESK_WEBHOOK_SECRET = "zendesk-deep"
    body = ('{"event": "ticket_created", "id": 1, "deep": ' + DEEP + "}").encode()
    timestamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    response = client.post(
        "/webhooks/zendesk/", data=body, content_type="application/json",
        HTTP_X_ZENDESK_WEBHOOK_SIGNATURE=sign("zendesk-deep", timestamp, body),
        HTTP_X_ZENDESK_WEBHOOK_SIGNATURE_TIMESTAMP=timestamp,
        HTTP_X_ZENDESK_WEBHOOK_INVOCATION_ID="inv-deep-1")

    assert response.status_code == 400, response.content[:300]


# Numbers and codes -------------------------------------------------------------------------

# Each spells 13 (or 2) to Python's int(), not in ASCII digits alone.
LOOSE = ["١٣", "1_3", "13.0", " 13 ", "+13", "１３", "13\n"]


@pytest.mark.parametrize("value", LOOSE)
@pytest.mark.parametrize("path, name", [
    ("/api/v1/money-actions/", "case"),
    ("/api/v1/money-actions/", "limit"),
    ("/api/v1/audit-events/", "case"),
    ("/api/v1/audit-events/", "ticket"),
    ("/api/v1/audit-events/", "before"),
    ("/api/v1/cases/", "limit"),
])
def test_a_number_in_a_query_is_ascii_digits_or_a_400(finance, path, name, value):
    response = api_client(finance).get(path, {name: value})

    assert response.status_code == 400, response.content[:300]
    assert response.json()["code"] == "invalid" and name in response.json()["errors"]


@pytest.mark.parametrize("path, name", [("/api/v1/money-actions/", "case"),
                                        ("/api/v1/money-actions/", "limit"),
                                        ("/api/v1/audit-events/", "case"),
                                        ("/api/v1/cases/", "limit")])
def test_a_number_in_ascii_digits_is_read(finance, path, name):
    assert api_client(finance).get(path, {name: "13"}).status_code == 200


@pytest.mark.parametrize("field, value", [("currency", "usd\n"), ("currency", "usd ")])
def test_a_code_with_a_trailing_newline_is_a_400(specialist, field, value):
    body = {"case_id": 1, "charge_id": "ch_1", "amount": 100, "reason_code": "courtesy",
            "note": "Charged twice.", field: value}
    for path in ("/api/v1/refunds/preview/", "/api/v1/refunds/"):
        response = api_client(specialist).post(path, body, format="json")
        assert response.status_code == 400, response.content[:300]
        assert field in response.json()["errors"]


@pytest.mark.parametrize("validator, value", [
    (CURRENCY_CODE, "usd\n"), (AUDIT_AMOUNT, "12\n"), (AUDIT_AMOUNT, "12.50\n")])
def test_a_pattern_matches_the_whole_value_not_up_to_a_final_newline(validator, value):
    """Query parameters are trimmed before they are checked; a body's strings are not."""
    validator(value.rstrip("\n"))
    with pytest.raises(ValidationError):
        validator(value)


# Paths -------------------------------------------------------------------------------------


@pytest.mark.parametrize("debug", [True, False], ids=["debug", "production"])
@pytest.mark.parametrize("path", ["/api/v1/refunds/zzz/", "/api/v1/cases/abc/",
                                  "/api/v1/nothing-here/", "/api/nothing/"])
def test_a_path_under_the_api_that_matches_nothing_is_a_json_404(
        settings, specialist, debug, path):
    settings.DEBUG = debug
    response = api_client(specialist).get(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"message": "Not found.", "code": "not_found"}


def test_a_page_that_matches_nothing_is_still_a_page(settings, client, specialist):
    settings.DEBUG = False
    client.force_login(specialist)
    response = client.get("/cases/abc/")
    assert response.status_code == 404 and "text/html" in response["Content-Type"]


# The schema and "" -------------------------------------------------------------------------


def _schema():
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def _resolved(node, schema):
    """`node` with every `$ref` replaced by what it names."""
    if isinstance(node, dict):
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[1]
            return _resolved(schema["components"]["schemas"][name], schema)
        return {key: _resolved(value, schema) for key, value in node.items()}
    if isinstance(node, list):
        return [_resolved(value, schema) for value in node]
    return node


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _blank_fields(serializer_class):
    return [name for name, field in serializer_class().fields.items()
            if isinstance(field, serializers.CharField | serializers.ChoiceField)
            and getattr(field, "allow_blank", False) and not field.read_only]


def _blank_accepting_schemas(schema):
    """(where, the schema of each request field and query parameter the server takes ""
    for). The schema was generated: every endpoint, so every serializer, is loaded."""
    components = schema["components"]["schemas"]
    for serializer_class in set(_subclasses(InputSerializer)):
        name = serializer_class.__name__.removesuffix("Serializer")
        for field in _blank_fields(serializer_class):
            if name in components:
                yield f"{name}.{field}", components[name]["properties"][field]
    for query_class in set(_subclasses(QuerySerializer)):
        names = set(query_class().fields)
        for path, operations in schema["paths"].items():
            for method, operation in operations.items():
                parameters = {p["name"]: p for p in operation.get("parameters", [])
                              if p["in"] == "query"}
                if names <= set(parameters):
                    for field in _blank_fields(query_class):
                        yield f"{method} {path}?{field}", parameters[field]["schema"]


def test_the_schema_accepts_the_blank_the_server_accepts(db):
    schema = _schema()
    checked = 0
    refused = []
    for where, field_schema in _blank_accepting_schemas(schema):
        checked += 1
        if not jsonschema.Draft4Validator(_resolved(field_schema, schema)).is_valid(""):
            refused.append(where)

    assert checked >= 25
    assert refused == []


def test_the_schema_still_refuses_what_the_server_refuses(db):
    """Folding the blank in keeps each field's own rule: a currency is three letters."""
    schema = _schema()
    currency = _resolved(
        schema["components"]["schemas"]["InvoiceAdjustmentInput"]["properties"]["currency"],
        schema)
    validator = jsonschema.Draft4Validator(currency)

    assert validator.is_valid("") and validator.is_valid("usd")
    assert not validator.is_valid("dollars") and not validator.is_valid("us")

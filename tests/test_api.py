"""The API: who am I, token sign-in, the OpenAPI document, and the error shape."""

import pytest
from django.core.management import call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient


@pytest.fixture
def api():
    return APIClient()


def test_me_returns_the_user_and_their_roles(api, specialist):
    api.force_authenticate(specialist)
    body = api.get("/api/v1/me").json()
    assert body["username"] == "specialist"
    assert body["roles"] == ["billing_specialist"]
    assert "request_money_action" in body["capabilities"]
    assert "approve_money_action" not in body["capabilities"]


def test_token_from_drf_create_token_signs_in(api, finance, capsys):
    call_command("drf_create_token", "finance")
    token = Token.objects.get(user=finance).key
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get("/api/v1/me").json()["roles"] == ["finance"]


def test_anonymous_call_gets_401_in_the_error_shape(api, db):
    api.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = api.get("/api/v1/me")
    assert response.status_code == 401
    assert set(response.json()) == {"message", "code"}
    assert response.json()["code"] == "authentication_failed"


def test_refusal_comes_back_as_message_and_code(api, tier2):
    api.force_authenticate(tier2)
    response = api.get("/api/v1/unknown-endpoint")
    assert response.status_code == 404
    assert response.json() == {"message": "Not found.", "code": "not_found"}


def test_openapi_document_describes_the_api(api, specialist):
    api.force_authenticate(specialist)
    response = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    assert "/api/v1/me" in response.json()["paths"]


def test_docs_page_loads_its_assets_from_this_server(client, specialist):
    client.force_login(specialist)
    page = client.get("/api/docs/").content.decode()
    assert "swagger-ui" in page
    assert "https://" not in page.split("<body")[0]  # no CDN in the head
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200


def test_a_number_where_a_string_is_due_is_a_400_and_nothing_is_stored(api, tier2):
    from guidance.models import Question

    api.force_authenticate(tier2)
    response = api.post("/api/v1/questions/", {"body": 0}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid" and "body" in response.json()["errors"]
    assert not Question.objects.exists()


def test_a_body_that_is_not_json_is_a_415(api, tier2):
    api.force_authenticate(tier2)
    response = api.post("/api/v1/questions/", {"body": "Refund date?"}, format="multipart")

    assert response.status_code == 415 and set(response.json()) == {"message", "code"}


def test_every_list_answers_its_results_and_the_absolute_address_of_the_next_page(
        api, specialist):
    from tests.cases.factories import make_case

    make_case(), make_case()
    api.force_authenticate(specialist)

    first = api.get("/api/v1/cases/", {"limit": 1, "sort": "updated"}).json()
    second = api.get(first["next"]).json()

    assert first["next"].startswith("http://testserver/api/v1/cases/?")
    assert "sort=updated" in first["next"]
    assert len(first["results"]) == len(second["results"]) == 1
    assert first["results"][0]["id"] != second["results"][0]["id"]
    assert second["next"] is None


def test_a_cursor_this_list_never_gave_is_refused_in_words(api, tier2):
    api.force_authenticate(tier2)
    response = api.get("/api/v1/questions/", {"after": "not-a-cursor"})

    assert response.status_code == 409 and response.json()["code"] == "cursor"


def test_the_schema_says_which_fields_may_be_null_and_every_error_body(api, specialist):
    api.force_authenticate(specialist)
    schema = api.get("/api/schema/?format=json").json()
    components = schema["components"]["schemas"]

    assert components["CaseDetail"]["properties"]["assignee"]["nullable"] is True
    assert components["Question"]["properties"]["answered_by"]["nullable"] is True
    assert components["CasePage"]["properties"]["next"]["nullable"] is True
    refund = schema["paths"]["/api/v1/refunds/"]["post"]["responses"]
    assert {"201", "400", "401", "403", "404", "409", "415", "503"} <= set(refund)
    assert refund["409"]["content"]["application/json"]["schema"]["$ref"] \
        == "#/components/schemas/Error"


def test_every_operation_has_its_own_id_and_a_list_is_named_one(api, specialist):
    api.force_authenticate(specialist)
    schema = api.get("/api/schema/?format=json").json()
    operations = {(method, path): operation["operationId"]
                  for path, methods in schema["paths"].items()
                  for method, operation in methods.items()}

    assert len(set(operations.values())) == len(operations)
    assert operations["get", "/api/v1/cases/"] == "v1_cases_list"
    assert operations["get", "/api/v1/cases/{id}/"] == "v1_cases_retrieve"
    assert operations["get", "/api/v1/money-actions/"] == "v1_money_actions_list"


def test_every_answer_is_typed_in_the_schema(api, specialist):
    """No operation answers a free object: the previews and Tier 2's view of a case have
    their fields."""
    api.force_authenticate(specialist)
    schema = api.get("/api/schema/?format=json").json()
    free = []
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            for status, response in operation["responses"].items():
                for content in response.get("content", {}).values():
                    typed = content["schema"]
                    if "$ref" not in typed and typed.get("type") in ("object", None):
                        free.append((method, path, status))

    assert free == []
    components = schema["components"]["schemas"]
    assert {"proration_total", "lines"} <= set(components["SubscriptionChangePreview"]
                                               ["properties"])
    assert {"case", "guidance", "questions", "facts", "facts_error"} == set(
        components["CaseForTier2"]["properties"])


def test_the_schema_documents_the_idempotency_key_and_its_replay_header(api, specialist):
    api.force_authenticate(specialist)
    schema = api.get("/api/schema/?format=json").json()

    for path in ("/api/v1/refunds/", "/api/v1/credit-memos/", "/api/v1/invoice-adjustments/",
                 "/api/v1/subscription-changes/"):
        operation = schema["paths"][path]["post"]
        [key] = [p for p in operation["parameters"] if p["in"] == "header"]
        assert (key["name"], key["schema"]["maxLength"]) == ("Idempotency-Key", 255)
        assert "Idempotent-Replayed" in operation["responses"]["201"]["headers"]


def test_an_accept_header_the_api_cannot_answer_is_a_documented_406(api, specialist):
    api.force_authenticate(specialist)
    schema = api.get("/api/schema/?format=json").json()

    response = api.get("/api/v1/me", HTTP_ACCEPT="application/xml")

    assert response.status_code == 406
    assert response.json()["code"] == "not_acceptable"
    assert all("406" in operation["responses"] for methods in schema["paths"].values()
               for operation in methods.values())

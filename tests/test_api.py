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

import pytest
from django.test import override_settings

from billing_console import health


@pytest.mark.django_db
def test_healthz_answers_while_the_process_is_up(client):
    assert client.get("/healthz").json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_checks_the_database_and_the_broker(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}


@pytest.mark.django_db
def test_readyz_says_503_when_the_broker_is_down(client, monkeypatch):
    monkeypatch.setattr(health.celery_app.conf, "broker_url", "redis://127.0.0.1:9/0")
    with override_settings():
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["broker"] == "unavailable"

"""GET /health/ checks the database, the cache and the broker, and names what is down."""

import pytest
from django.db import connection

from config.celery import app as celery_app
from tests.utils import closed_port


@pytest.mark.django_db
def test_health_is_200_when_everything_answers(client):
    response = client.get("/health/")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "cache": "ok", "broker": "ok"},
        "failing": [],
    }
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db(transaction=True)
def test_health_is_503_naming_the_database_when_it_is_down(client):
    port = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = closed_port()
    try:
        response = client.get("/health/")
    finally:
        connection.close()
        connection.settings_dict["PORT"] = port
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "unavailable", "cache": "ok", "broker": "ok"}
    assert response.json()["failing"] == ["database"]


@pytest.mark.django_db
def test_health_is_503_naming_the_cache_when_it_is_down(client, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 1},
        }
    }
    response = client.get("/health/")
    assert response.status_code == 503
    assert response.json()["failing"] == ["cache"]


@pytest.mark.django_db
def test_health_is_503_naming_the_broker_when_it_is_down(client, monkeypatch):
    monkeypatch.setitem(celery_app.conf, "broker_url", f"redis://127.0.0.1:{closed_port()}/0")
    response = client.get("/health/")
    assert response.status_code == 503
    assert response.json()["failing"] == ["broker"]
    assert response.json()["status"] == "unavailable"


def test_health_refuses_other_methods(client):
    assert client.post("/health/").status_code == 405

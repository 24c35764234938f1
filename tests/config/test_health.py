"""GET /health/: 503 only when this instance cannot serve (its database); the rest degrades.

``?strict=1`` is for monitoring: 503 when any part fails.
"""

import time

import pytest
from django.db import connection

from config.celery import app as celery_app
from tests.utils import closed_port


def dead_cache() -> dict:
    from config.settings.base import redis_cache

    return {"default": redis_cache(f"redis://127.0.0.1:{closed_port()}/0", "haven-test")}


@pytest.fixture
def dead_broker(monkeypatch):
    monkeypatch.setitem(celery_app.conf, "broker_url", f"redis://127.0.0.1:{closed_port()}/0")
    monkeypatch.setattr(celery_app, "_pool", None)


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
    assert client.get("/health/?strict=1").status_code == 200


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
    assert response["Retry-After"] == "30"
    assert response.json() == {
        "status": "unavailable",
        "checks": {"database": "unavailable", "cache": "ok", "broker": "ok"},
        "failing": ["database"],
    }


@pytest.mark.django_db
def test_a_cache_outage_is_degraded_not_down(client, settings):
    settings.CACHES = dead_cache()
    response = client.get("/health/")
    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["failing"] == ["cache"]
    strict = client.get("/health/?strict=1")
    assert strict.status_code == 503
    assert strict.json()["failing"] == ["cache"]


@pytest.mark.django_db
def test_a_broker_outage_is_degraded_not_down_and_answers_fast(client, dead_broker):
    started = time.perf_counter()
    response = client.get("/health/")
    elapsed = time.perf_counter() - started
    assert response.status_code == 200
    assert response.json() == {
        "status": "degraded",
        "checks": {"database": "ok", "cache": "ok", "broker": "unavailable"},
        "failing": ["broker"],
    }
    assert elapsed < 0.5
    assert client.get("/health/?strict=1").status_code == 503


def test_health_refuses_other_methods(client):
    assert client.post("/health/").status_code == 405

"""Settings checks, /health, JSON error handlers, OpenAPI."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from t4site.checks import check_admin_token

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("token", ["", "   ", "CHANGE_ME_ADMIN_TOKEN", "change_me"])
def test_unsafe_admin_token_refused_outside_debug(settings, token):
    settings.DEBUG = False
    settings.T4_ADMIN_TOKEN = token
    settings.SECRET_KEY = "a-real-secret-key-for-this-test-0123456789"
    errors = check_admin_token(None)
    assert [e.id for e in errors] == ["t4site.E001"]
    with pytest.raises(SystemCheckError):
        call_command("check", fail_level="ERROR", verbosity=0)


def test_unsafe_admin_token_allowed_in_debug(settings):
    settings.DEBUG = True
    settings.T4_ADMIN_TOKEN = "CHANGE_ME_ADMIN_TOKEN"
    assert check_admin_token(None) == []


def test_safe_configuration_passes(settings):
    settings.DEBUG = False
    settings.T4_ADMIN_TOKEN = "9f2c-long-random-admin-token"
    settings.SECRET_KEY = "a-real-secret-key-for-this-test-0123456789"
    assert check_admin_token(None) == []


def test_health_ok(api_client):
    response = api_client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"] == {"database": "ok", "cache": "ok"}
    assert body["version"] and body["time"]


def test_health_503_when_cache_down(api_client, monkeypatch):
    from django.core.cache import cache

    def broken(*args, **kwargs):
        raise ConnectionError("down")

    monkeypatch.setattr(cache, "set", broken)
    response = api_client.get("/health")
    assert response.status_code == 503
    assert response.json()["checks"]["cache"] == "error"


def test_health_503_when_database_down(api_client, monkeypatch):
    from t4site import views

    class BrokenConnection:
        def cursor(self):
            raise views.connection.Database.OperationalError("db down")

    monkeypatch.setattr(views, "connection", BrokenConnection())
    response = api_client.get("/health")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "error", "cache": "ok"}


def test_openapi_schema_and_docs_are_served_without_cdn(api_client):
    schema = api_client.get("/api/schema", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    assert "/admin/api_keys" in schema.content.decode()
    docs = api_client.get("/api/docs")
    assert docs.status_code == 200
    assert "cdn.jsdelivr" not in docs.content.decode()

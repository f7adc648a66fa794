from __future__ import annotations

import pytest

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]


def test_121st_request_in_a_minute_is_429(api_client, issued_key):
    headers = {"HTTP_X_T4_API_KEY": issued_key.secret}
    for expected_remaining in range(119, -1, -1):
        response = api_client.get("/whoami", **headers)
        assert response.status_code == 200
        assert response.headers["X-RateLimit-Limit"] == "120"
        assert response.headers["X-RateLimit-Remaining"] == str(expected_remaining)
    response = api_client.get("/whoami", **headers)
    assert response.status_code == 429
    assert response.json()["error"] == "throttled"
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert response.headers["X-RateLimit-Remaining"] == "0"


def test_limit_is_per_key_and_uses_the_keys_rate(api_client, make_key):
    slow = make_key("slow", rate_per_minute=2)
    other = make_key("other")
    for _ in range(2):
        assert api_client.get("/whoami", HTTP_X_T4_API_KEY=slow.secret).status_code == 200
    assert api_client.get("/whoami", HTTP_X_T4_API_KEY=slow.secret).status_code == 429
    assert api_client.get("/whoami", HTTP_X_T4_API_KEY=other.secret).status_code == 200


def test_cache_outage_fails_closed_with_503(api_client, issued_key, monkeypatch):
    from django.core.cache import cache

    def broken(*args, **kwargs):
        raise ConnectionError("redis down")

    monkeypatch.setattr(cache, "add", broken)
    response = api_client.get("/whoami", HTTP_X_T4_API_KEY=issued_key.secret)
    assert response.status_code == 503
    assert response.json()["error"] == "rate_limiter_unavailable"

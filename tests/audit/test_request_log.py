"""The request-log middleware: one redacted row per request, whatever the outcome."""

from __future__ import annotations

import json

import pytest
from django.core.signals import request_finished
from django.db import close_old_connections
from django.http import JsonResponse, StreamingHttpResponse
from django.test import Client

from audit import middleware as audit_middleware
from audit.models import RequestLog

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.urls_with_errors")]


def only_row() -> RequestLog:
    rows = list(RequestLog.objects.all())
    assert len(rows) == 1, rows
    return rows[0]


def test_successful_authenticated_request(api_client, issued_key):
    api_client.get("/whoami?verbose=1", HTTP_X_T4_API_KEY=issued_key.secret,
                   HTTP_USER_AGENT="agent/1.0")  # fmt: skip
    row = only_row()
    assert (row.method, row.path, row.route, row.status) == ("GET", "/whoami", "/whoami", 200)
    assert row.query == "verbose=1"
    assert row.key_prefix == issued_key.api_key.display_prefix
    assert row.agent_id == "agent-1"
    assert row.client_ip == "127.0.0.1"
    assert row.duration_ms >= 0
    assert row.user_agent == "agent/1.0"


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        ("/whoami", {}, 401),
        ("/whoami", {"HTTP_X_T4_API_KEY": "t4_zzzzzzzz_" + "q" * 43}, 403),
        ("/no/such/path", {}, 404),
    ],
)
def test_refused_requests_are_logged(api_client, path, headers, status):
    response = api_client.get(path, **headers)
    assert response.status_code == status
    row = only_row()
    assert row.status == status
    if status == 403:
        assert row.key_prefix == "t4_zzzzzzzz"


def test_the_route_is_the_url_pattern_not_the_path(api_client, issued_key):
    headers = {"HTTP_X_T4_API_KEY": issued_key.secret}
    assert api_client.get("/intents/T4-nope", **headers).status_code == 404  # view's 404
    assert api_client.get("/intents/by_owner/@a/b", **headers).status_code == 200
    assert api_client.get("/no/such/path/T4-1", **headers).status_code == 404  # resolver's
    rows = RequestLog.objects.order_by("id").values_list("path", "route", "status")
    assert list(rows) == [
        ("/intents/T4-nope", "/intents/<str:intent_id>", 404),
        ("/intents/by_owner/@a/b", "/intents/by_owner/<path:owner>", 200),
        ("/no/such/path/T4-1", "<unmatched>", 404),
    ]


def test_throttled_request_is_logged(api_client, make_key, frozen_clock):
    issued = make_key(rate_per_minute=1)
    api_client.get("/whoami", HTTP_X_T4_API_KEY=issued.secret)
    api_client.get("/whoami", HTTP_X_T4_API_KEY=issued.secret)
    assert list(RequestLog.objects.order_by("id").values_list("status", flat=True)) == [200, 429]


def test_server_error_is_logged_as_json_500_without_the_secret(db):
    client = Client(raise_request_exception=False)
    response = client.get("/test/boom")
    assert response.status_code == 500
    assert response.json() == {"error": "server_error", "detail": "Internal server error."}
    assert (only_row().status, only_row().route) == (500, "/test/boom")


def test_a_request_answered_before_url_resolution_is_logged_under_its_route(
    admin_client_api, settings
):
    settings.T4_MAX_BODY_BYTES = 64
    response = admin_client_api.post("/intents", {"reason": "x" * 200}, format="json")
    assert response.status_code == 413
    assert (only_row().route, only_row().status) == ("/intents", 413)


def test_admin_regex_routes_are_stored_without_anchors(admin_client):
    assert admin_client.get("/admin/intents/").status_code == 200
    route = only_row().route
    assert route.startswith("/admin/(?P<app_label>") and route.endswith(")/")
    assert "^" not in route and "$" not in route


def test_body_and_query_are_redacted(api_client, admin_token, issued_key):
    body = {
        "agent_id": "a",
        "owner": f"pasted {issued_key.secret} by mistake",
        "nested": {"password": "hunter2", "api_key": "abc", "token": "t"},
    }
    api_client.post(
        f"/admin/api_keys?admin_token={admin_token}&page=2",
        json.dumps(body),
        content_type="application/json",
    )
    row = RequestLog.objects.get(path="/admin/api_keys")
    assert admin_token not in row.query
    assert "admin_token=%5BREDACTED%5D" in row.query and "page=2" in row.query
    stored = json.loads(row.body)
    assert stored["nested"] == {"password": "[REDACTED]", "api_key": "[REDACTED]",
                                "token": "[REDACTED]"}  # fmt: skip
    assert issued_key.secret not in row.body
    assert issued_key.api_key.display_prefix in row.body


def test_full_key_in_path_is_redacted(admin_client_api, issued_key):
    admin_client_api.delete(f"/admin/api_keys/{issued_key.secret}")
    row = only_row()
    assert issued_key.secret not in row.path
    assert row.path == f"/admin/api_keys/{issued_key.api_key.display_prefix}_[REDACTED]"


def test_body_is_capped(admin_client_api, settings):
    settings.T4_AUDIT_BODY_MAX_BYTES = 100
    admin_client_api.post("/admin/api_keys", {"agent_id": "a" * 90, "owner": "b" * 90},
                          format="json")  # fmt: skip
    row = only_row()
    assert row.body.endswith("…[truncated]")
    assert len(row.body.encode()) <= 100 + len("…[truncated]".encode())


def test_non_json_body_is_not_recorded(admin_client_api):
    admin_client_api.post("/admin/api_keys", "password=hunter2", content_type="text/plain")
    row = only_row()
    assert "hunter2" not in row.body
    assert "not recorded" in row.body


def test_forwarded_for_only_from_trusted_proxies(api_client, settings):
    api_client.get("/health", HTTP_X_FORWARDED_FOR="6.6.6.6")
    assert only_row().client_ip == "127.0.0.1"
    RequestLog.objects.all().delete()
    settings.T4_TRUSTED_PROXIES = ["127.0.0.1", "10.0.0.2"]
    api_client.get("/health", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9, 10.0.0.2")
    assert only_row().client_ip == "203.0.113.9"


def test_log_write_failure_never_fails_the_request(api_client, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(audit_middleware, "insert_row", broken)
    response = api_client.get("/health")
    assert response.status_code == 200
    assert "request log write failed" in caplog.text
    assert not RequestLog.objects.exists()


@pytest.fixture
def closing_like_a_server():
    """response.close() fires request_finished, whose close_old_connections would drop the
    test's database connection; Django's test client disconnects it the same way."""
    request_finished.disconnect(close_old_connections)
    yield
    request_finished.connect(close_old_connections)


def test_row_is_written_when_the_server_closes_the_response(rf, closing_like_a_server):
    """The insert happens in close(), after the server has sent the response: the row does
    not exist while the response is being delivered, and it exists once it is closed."""
    middleware = audit_middleware.RequestLogMiddleware(lambda request: JsonResponse({"ok": 1}))
    response = middleware(rf.get("/health", REMOTE_ADDR="127.0.0.1"))
    assert response.status_code == 200
    assert not RequestLog.objects.exists()
    response.close()
    row = only_row()
    assert (row.method, row.path, row.status) == ("GET", "/health", 200)
    assert row.duration_ms >= 0


def test_a_streaming_response_is_logged_when_its_stream_ends(rf, closing_like_a_server):
    chunks_seen = []

    def stream():
        for chunk in (b"a", b"b"):
            chunks_seen.append(RequestLog.objects.count())
            yield chunk

    middleware = audit_middleware.RequestLogMiddleware(
        lambda request: StreamingHttpResponse(stream(), content_type="text/event-stream")
    )
    response = middleware(rf.get("/v1/stream"))
    assert b"".join(response.streaming_content) == b"ab"
    assert chunks_seen == [0, 0]
    response.close()
    assert only_row().status == 200


def test_an_escaping_exception_is_logged_at_once_as_500(rf):
    def explode(request):
        raise RuntimeError("boom")

    middleware = audit_middleware.RequestLogMiddleware(explode)
    with pytest.raises(RuntimeError):
        middleware(rf.get("/explode"))
    row = only_row()
    assert (row.path, row.status) == ("/explode", 500)


def test_request_log_admin_is_read_only(admin_client):
    response = admin_client.get("/admin/audit/requestlog/")
    assert response.status_code == 200
    assert admin_client.get("/admin/audit/requestlog/add/").status_code == 403

"""Audit behaviours found missing in review: no receiver leak, nothing secret kept from a body
that cannot be parsed, NUL-safe rows, trusted addresses only, more credential names."""

from __future__ import annotations

import json

import pytest
from auditlog.models import LogEntry
from django.db.models.signals import pre_save
from django.test import RequestFactory

from audit.middleware import client_ip
from audit.models import RequestLog
from t4site.redaction import redact_data, redact_query_string, redact_text

pytestmark = pytest.mark.django_db


def _intent(n: int) -> dict[str, object]:
    return {"id": f"T4-leak-{n}", "code": "F401", "file": "a.py", "line": n, "owner": "@a",
            "ticket": "GH-1", "reason": "kept for the plugin API"}  # fmt: skip


def test_write_requests_leave_no_signal_receivers_behind(key_client) -> None:
    key_client.post("/intents", _intent(0), format="json")  # warm up lazily connected ones
    before = len(pre_save.receivers)
    for n in range(1, 6):
        assert key_client.post("/intents", _intent(n), format="json").status_code == 201
    assert len(pre_save.receivers) == before
    assert LogEntry.objects.filter(object_pk="T4-leak-5").exists()  # still audited


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "Application/JSON; charset=utf-8", "application/problem+json"],
)
def test_json_bodies_of_any_spelling_are_recorded_redacted(
    admin_client_api, content_type: str
) -> None:
    body = json.dumps({"agent_id": "a", "password": "hunter2"})
    admin_client_api.post("/admin/api_keys", body, content_type=content_type)
    row = RequestLog.objects.get()
    assert "hunter2" not in row.body
    assert json.loads(row.body)["password"] == "[REDACTED]"


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ('{"agent_id":"a","password":"hunter2","admin_token":"s3cr3t",}', "application/json"),
        ("password=hunter2&api_key=zzz", "application/x-www-form-urlencoded; x=json"),
    ],
)
def test_a_body_that_cannot_be_parsed_keeps_nothing(
    admin_client_api, body: str, content_type: str
) -> None:
    admin_client_api.post("/admin/api_keys", body, content_type=content_type)
    row = RequestLog.objects.get()
    assert "hunter2" not in row.body and "s3cr3t" not in row.body and "zzz" not in row.body
    assert "not recorded" in row.body


@pytest.mark.parametrize("path", ["/whoami%00", "/intents/T4-1%00", "/admin/api_keys/ab%00"])
def test_a_nul_in_the_path_is_refused_and_still_logged(api_client, path: str) -> None:
    response = api_client.get(path)
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"
    row = RequestLog.objects.get()
    assert "\x00" not in row.path and "\\x00" in row.path
    assert row.status == 400


def test_model_changes_record_only_a_trusted_forwarded_address(
    admin_client, settings, make_key
) -> None:
    from llmgate.models import ModelPrice

    settings.T4_TRUSTED_PROXIES = []
    price = ModelPrice.objects.create(model="m-1", prompt_per_1k="0.1", completion_per_1k="0.2")
    admin_client.post(
        f"/admin/llmgate/modelprice/{price.pk}/change/",
        {"model": "m-1", "prompt_per_1k": "0.3", "completion_per_1k": "0.2", "active": "on"},
        HTTP_X_FORWARDED_FOR="6.6.6.6",
    )
    entry = LogEntry.objects.filter(object_pk=str(price.pk)).latest("timestamp")
    assert entry.remote_addr == "127.0.0.1"


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "expected"),
    [
        ("10.0.0.10", "203.0.113.9:51000", ["10.0.0.10"], "203.0.113.9"),
        ("10.0.0.10", "[2001:db8::1]:443", ["10.0.0.10"], "2001:db8::1"),
        ("10.0.0.10", "203.0.113.9, unknown", ["10.0.0.10"], "10.0.0.10"),
        ("10.0.0.10", "203.0.113.9", ["10.0.0.0/8"], "203.0.113.9"),
        ("::ffff:10.0.0.10", "203.0.113.9", ["10.0.0.10"], "203.0.113.9"),
        ("10.0.0.10", "6.6.6.6, 203.0.113.9, 10.0.0.3", ["10.0.0.0/24"], "203.0.113.9"),
        ("198.51.100.7", "6.6.6.6", ["10.0.0.0/8"], "198.51.100.7"),  # untrusted peer
    ],
)
def test_client_ip_reads_what_proxies_write(
    settings, peer: str, forwarded: str, trusted: list[str], expected: str
) -> None:
    settings.T4_TRUSTED_PROXIES = trusted
    request = RequestFactory().get("/", REMOTE_ADDR=peer, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected


def test_more_credential_names_and_glued_keys_are_redacted(issued_key) -> None:
    data = {"pwd": "a", "passphrase": "b", "pass": "c", "auth": "d", "x_auth": "e",
            "author": "kept", "note": f"note_{issued_key.secret}"}  # fmt: skip
    cleaned = redact_data(data)
    assert [cleaned[k] for k in ("pwd", "passphrase", "pass", "auth", "x_auth")] == [
        "[REDACTED]"
    ] * 5
    assert cleaned["author"] == "kept"
    assert issued_key.secret not in cleaned["note"]
    assert "q3" not in redact_query_string("a=1;admin_token=q3")
    assert issued_key.secret not in redact_text(f"id:{issued_key.secret}")


def test_a_legacy_key_in_the_revoke_path_is_never_logged(admin_client_api, caplog) -> None:
    from apikeys.services import apikey_import_legacy
    from audit.actor import COMMAND_LINE

    legacy = "sk-legacy-A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8S9t0"
    apikey_import_legacy(secret=legacy, agent_id="old-agent", actor=COMMAND_LINE)
    assert admin_client_api.delete(f"/admin/api_keys/{legacy}").status_code == 200
    unknown = "sk-legacy-Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2H1g0"
    assert admin_client_api.delete(f"/admin/api_keys/{unknown}").status_code == 404
    paths = list(RequestLog.objects.order_by("id").values_list("path", flat=True))
    assert paths == ["/admin/api_keys/[REDACTED]"] * 2
    assert legacy not in caplog.text and unknown not in caplog.text
    # A prefix reference stays readable.
    assert redact_text("/admin/api_keys/t4_ab12cd34") == "/admin/api_keys/t4_ab12cd34"


def test_logged_tracebacks_are_scrubbed_too(issued_key) -> None:
    import io
    import logging

    from t4site.redaction import RedactSecretsFilter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactSecretsFilter())
    logger = logging.getLogger("t4.test.traceback")
    logger.addHandler(handler)
    try:
        try:
            raise ValueError(f"bad key {issued_key.secret}")
        except ValueError:
            logger.exception("lookup failed for %s", issued_key.secret)
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert "ValueError" in text and "lookup failed" in text
    assert issued_key.secret not in text

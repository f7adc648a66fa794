"""No secret in plain text: not in any table, not in captured logs (in-process)."""

from __future__ import annotations

import logging

import pytest
from django.db import connection

from apikeys.services import apikey_rotate
from audit.actor import Actor

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.urls_with_errors")]


def every_table_as_text() -> str:
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            chunks.extend(" ".join(str(value) for value in row) for row in cursor.fetchall())
    return "\n".join(chunks)


def test_keys_and_admin_token_never_stored_or_logged(api_client, admin_token, caplog, client):
    caplog.set_level(logging.DEBUG)
    created = api_client.post(
        f"/admin/api_keys?admin_token={admin_token}", {"agent_id": "a"}, format="json"
    ).json()["key"]
    secrets = [created, admin_token]
    api_client.get("/whoami", HTTP_X_T4_API_KEY=created)
    api_client.get("/whoami", HTTP_AUTHORIZATION=f"Bearer {created}")
    api_client.get(f"/whoami?api_key={created}")
    api_client.get(f"/no-such/{created}")
    api_client.post("/admin/api_keys", {"agent_id": "b", "owner": created}, format="json",
                    HTTP_X_T4_ADMIN_TOKEN=admin_token)  # fmt: skip
    api_client.get("/admin/api_keys", HTTP_X_T4_ADMIN_TOKEN="wrong-" + admin_token)
    rotated = apikey_rotate(
        api_key=__import__("apikeys.models").models.APIKey.objects.first(),
        actor=Actor.system("tests"),
    )
    secrets.append(rotated.secret)
    client.raise_request_exception = False
    client.get(f"/test/boom?admin_token={admin_token}")
    api_client.delete(f"/admin/api_keys/{created}?admin_token={admin_token}")

    stored = every_table_as_text()
    assert "/whoami" in stored  # the scan sees the request log
    for secret in secrets:
        assert secret not in stored
    logged = caplog.text + "\n".join(str(r.args) for r in caplog.records)
    assert "/no-such/" in logged
    for secret in secrets:
        assert secret not in logged

"""Registry behaviours found missing in review: what a report sync may change, what it must
refuse without failing the report, and which scopes the endpoints ask for."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from intents.models import Intent, QualityReport

pytestmark = pytest.mark.django_db


def _report(annotations: list[dict[str, Any]], stale: list[dict[str, Any]] | None = None):
    n = len(annotations)
    return {
        "status": "pass",
        "summary": {"total_findings": n, "annotated": n, "unannotated": 0, "legacy_format": 0,
                    "waived": 0, "quality_issues": 0},
        "metrics": {"annotation_quality_score": 100.0},
        "annotations": annotations,
        "stale_annotations": stale or [],
        "sync": True,
    }  # fmt: skip


def _ann(ident: str, line: int = 1, **data: Any) -> dict[str, Any]:
    annotation = {"id": ident, "owner": "@a", "ticket": "GH-1", "reason": "kept for plugins",
                  **data}  # fmt: skip
    return {"file": "a.py", "line": line, "code": "F401", "id": ident,
            "status": annotation.get("status", "planned"), "annotation": annotation}  # fmt: skip


def test_a_re_upload_does_not_renew_an_expired_waiver(key_client, make_intent) -> None:
    make_intent(id="T4-w", status="expired", owner="@a", reason="kept for plugins",
                expires_at=timezone.now() - timedelta(days=1))  # fmt: skip
    response = key_client.post(
        "/reports", _report([_ann("T4-w", status="accepted")]), format="json"
    )
    assert response.status_code == 201, response.content
    assert Intent.objects.get(pk="T4-w").status == "expired"


def test_an_annotation_still_live_for_one_code_is_not_implemented(key_client, make_intent) -> None:
    make_intent(id="T4-two", status="planned", owner="@a", ticket="GH-1", file="a.py", line=1)
    stale = [{"file": "a.py", "line": 1, "code": "F811", "id": "T4-two"}]
    for _ in range(2):
        response = key_client.post("/reports", _report([_ann("T4-two")], stale), format="json")
        assert response.status_code == 201, response.content
        assert response.json()["sync"]["implemented"] == []
    assert Intent.objects.get(pk="T4-two").status == "planned"


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (_ann("T4-bad", ticket="x" * 129), "ticket is longer than 128"),
        (_ann("T4-bad", reason_category="x" * 65), "reason_category is longer than 64"),
        ({**_ann("T4-bad"), "line": 2**31}, "no file and line"),
        ({**_ann("T4-bad"), "line": True}, "no file and line"),
        ({**_ann("T4-bad"), "file": "x" * 1025}, "file path too long"),
        (_ann("T4-bad", owner="a\x00b"), "NUL"),
    ],
)
def test_one_bad_annotation_is_skipped_and_the_rest_synced(
    key_client, bad: dict[str, Any], reason: str
) -> None:
    response = key_client.post("/reports", _report([bad, _ann("T4-good", line=2)]), format="json")
    assert response.status_code == 201, response.content
    sync = response.json()["sync"]
    assert sync["created"] == ["T4-good"]
    assert [s["id"] for s in sync["skipped"]] == ["T4-bad"]
    assert reason in sync["skipped"][0]["reason"]
    assert list(Intent.objects.values_list("pk", flat=True)) == ["T4-good"]


def test_an_api_key_in_a_report_is_never_stored(key_client, issued_key) -> None:
    secret = issued_key.secret
    body = _report([_ann("T4-leak", reason=f"pasted {secret}")])
    body["metrics"]["note"] = f"also {secret}"
    response = key_client.post("/reports", body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["sync"]["skipped"][0]["reason"] == "the annotation holds an API key"
    assert not Intent.objects.exists()
    assert secret not in str(QualityReport.objects.get().metrics)


@pytest.mark.parametrize(
    "change",
    [
        {"timestamp": "2026-13-45T10:00:00Z"},
        {
            "summary": {
                "total_findings": 2**31,
                "annotated": 2**31,
                "unannotated": 0,
                "legacy_format": 0,
                "waived": 0,
                "quality_issues": 0,
            }
        },
    ],
)
def test_report_values_no_column_holds_are_a_400(key_client, change: dict[str, Any]) -> None:
    response = key_client.post("/reports", {**_report([]), **change}, format="json")
    assert response.status_code == 400, response.content
    assert not QualityReport.objects.exists()


def test_an_absurd_quality_score_is_not_stored(key_client) -> None:
    body = _report([])
    body["metrics"] = {"annotation_quality_score": 10**400, "x": "a\x00b"}
    response = key_client.post("/reports", body, format="json")
    assert response.status_code == 201, response.content
    report = QualityReport.objects.get()
    assert report.quality_score is None and report.metrics["x"] == "ab"


def test_sync_needs_the_intents_write_scope(make_key, client_for) -> None:
    uploader = client_for(make_key("uploader", scopes=["reports:write"]))
    response = uploader.post("/reports", _report([_ann("T4-x")]), format="json")
    assert response.status_code == 403 and "intents:write" in response.json()["detail"]
    assert (
        uploader.post("/reports", {**_report([]), "sync": False}, format="json").status_code == 201
    )


def test_head_needs_the_scope_get_needs(nothing_client, make_intent) -> None:
    make_intent(id="T4-secret")
    assert nothing_client.head("/intents/T4-secret").status_code == 403
    assert nothing_client.head("/intents/nope").status_code == 403
    assert nothing_client.head("/intents").status_code == 403


def test_metrics_summary_takes_the_metrics_read_scope(make_key, client_for) -> None:
    metrics_only = client_for(make_key("metrics", scopes=["metrics:read"]))
    assert metrics_only.get("/metrics/summary").status_code == 200
    nothing = client_for(make_key("nothing", scopes=["llm:call"]))
    assert nothing.get("/metrics/summary").status_code == 403


def test_ruff_codes_with_five_letter_prefixes_are_valid(key_client) -> None:
    body = {"id": "T4-async", "code": "ASYNC100", "file": "a.py", "line": 3}
    response = key_client.post("/intents", body, format="json")
    assert response.status_code == 201, response.content
    assert Intent.objects.get(pk="T4-async").code == "ASYNC100"


def test_a_deeply_nested_body_is_a_400_and_still_logged(key_client) -> None:
    from audit.models import RequestLog

    body = '{"id": "T4-deep", "raw": ' + "[" * 5000 + "]" * 5000 + "}"
    response = key_client.post("/intents", body, content_type="application/json")
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["detail"]
    assert "nested too deeply" in RequestLog.objects.get(path="/intents").body


def test_raw_with_a_nul_is_a_400(key_client) -> None:
    body = {"id": "T4-nul", "code": "F401", "file": "a.py", "line": 1, "raw": {"k": "a\x00b"}}
    response = key_client.post("/intents", body, format="json")
    assert response.status_code == 400 and "raw" in response.json()["detail"]
    assert not Intent.objects.exists()


@pytest.mark.parametrize("status", ["reserved", "planned", "committed", "accepted", "expired"])
@pytest.mark.parametrize("ticket", ["", "GH-1"])
@pytest.mark.parametrize("reason", ["todo", "kept for the plugin API"])
def test_validator_and_registry_judge_quality_alike(
    make_intent, status: str, ticket: str, reason: str
) -> None:
    from t4client.annotations import Annotation, annotation_facts

    data = {"id": "T4-q", "code": "F401", "owner": "@a", "ticket": ticket, "reason": reason,
            "status": status}  # fmt: skip
    annotation = Annotation("T4-ISSUE", 1, 0, "", data=data, codes=["F401"])
    _, _, problems = annotation_facts(annotation)
    make_intent(id="T4-q", status=status, owner="@a", ticket=ticket, reason=reason)
    assert Intent.objects.get(pk="T4-q").quality_ok == (problems == [])


def test_creating_a_waiver_that_already_expired_is_refused_like_patch(key_client) -> None:
    body = {"id": "T4-old", "code": "F401", "file": "a.py", "line": 1, "status": "accepted",
            "owner": "@a", "reason": "kept for the plugin API",
            "expires_at": "2001-01-01T00:00:00Z"}  # fmt: skip
    response = key_client.post("/intents", body, format="json")
    assert response.status_code == 422, response.content
    assert "future" in response.json()["detail"]
    assert not Intent.objects.exists()

"""POST /reports: validator report snapshots and the optional intent sync."""

from __future__ import annotations

import copy

import pytest
from auditlog.models import LogEntry

from intents.models import Intent, QualityReport

pytestmark = pytest.mark.django_db

REPORT = {
    "status": "fail",
    "timestamp": "2026-11-24T10:00:00Z",
    "summary": {"total_findings": 6, "annotated": 3, "unannotated": 2, "legacy_format": 1,
                "waived": 0, "quality_issues": 1, "stale_annotations": 1},
    "metrics": {"annotation_quality_score": 66.7, "weighted_good": 4, "weighted_total": 6,
                "counts_by_code": {"F401": 4, "B008": 2}},
    "unannotated": [{"file": "a.py", "line": 3, "code": "F401"}],
    "annotations": [
        {"file": "pkg/new.py", "line": 4, "code": "B008", "id": "T4-new-1", "status": "planned",
         "annotation": {"id": "T4-new-1", "owner": "@api", "ticket": "GH-7",
                        "reason": "FastAPI DI pattern", "status": "planned"}},
        {"file": "pkg/moved.py", "line": 20, "code": "F401", "id": "T4-moved",
         "status": "reserved", "annotation": {"id": "T4-moved", "reason": "re-export"}},
        {"file": "pkg/bad.py", "line": 2, "code": "F401", "id": "T4-bad", "status": "planned",
         "annotation": {"id": "T4-bad", "reason": "todo"}},
    ],
    "stale_annotations": [{"file": "pkg/old.py", "line": 9, "code": "F821", "id": "T4-paid"}],
    "repository": "org/repo",
    "commit": "abc123",
}  # fmt: skip


def post(client, body):
    return client.post("/reports", body, format="json")


def test_report_is_stored_without_sync(key_client, issued_key):
    response = post(key_client, REPORT)
    assert response.status_code == 201, response.content
    body = response.json()
    report = QualityReport.objects.get()
    assert body["id"] == report.pk and body["sync"] is None
    assert (report.total_findings, report.annotated, report.unannotated) == (6, 3, 2)
    assert report.legacy_format == 1 and report.quality_issues == 1
    assert report.quality_score == pytest.approx(66.7)
    assert report.summary["stale_annotations"] == 1
    assert report.metrics["counts_by_code"] == {"F401": 4, "B008": 2}
    assert (report.repository, report.commit, report.status) == ("org/repo", "abc123", "fail")
    assert report.uploaded_by == issued_key.api_key
    assert not Intent.objects.exists()


def test_sync_upserts_intents_and_implements_stale_ones(key_client, make_intent):
    make_intent(id="T4-moved", file="pkg/old_place.py", line=1, status="reserved")
    make_intent(id="T4-paid", code="F821", status="planned")
    response = post(key_client, {**REPORT, "sync": True})
    assert response.status_code == 201, response.content
    sync = response.json()["sync"]
    assert sync["created"] == ["T4-new-1"]
    assert sync["updated"] == ["T4-moved"]
    assert sync["implemented"] == ["T4-paid"]
    assert [s["id"] for s in sync["skipped"]] == ["T4-bad"]
    new = Intent.objects.get(pk="T4-new-1")
    assert (new.status, new.owner, new.ticket, new.file, new.line) == (
        "planned", "@api", "GH-7", "pkg/new.py", 4,
    )  # fmt: skip
    moved = Intent.objects.get(pk="T4-moved")
    assert (moved.file, moved.line) == ("pkg/moved.py", 20)
    paid = Intent.objects.get(pk="T4-paid")
    assert paid.status == "implemented" and paid.resolved_at is not None
    assert not Intent.objects.filter(pk="T4-bad").exists()
    assert LogEntry.objects.filter(object_pk="T4-paid").exists()
    # A second upload of the same report changes nothing more.
    again = post(key_client, {**REPORT, "sync": True}).json()["sync"]
    assert again["created"] == [] and again["implemented"] == []
    assert again["unchanged"] == 2


def _unchanged_report(count: int) -> dict:
    annotations = [
        {"file": "pkg/mod.py", "line": n, "code": "F401", "id": f"T4-same-{n}",
         "status": "reserved", "annotation": {"id": f"T4-same-{n}"}}
        for n in range(1, count + 1)
    ]  # fmt: skip
    return {**REPORT, "annotations": annotations, "stale_annotations": [], "sync": True}


def test_sync_reads_the_named_intents_in_one_query(key_client, make_intent):
    """Unchanged annotations cost no query each: the intents are read once, in bulk."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for n in range(1, 7):
        make_intent(id=f"T4-same-{n}", line=n, reason="", owner="", ticket="")
    post(key_client, _unchanged_report(1))  # first use of the key records last_used_at
    counts = []
    for size in (2, 6):
        with CaptureQueriesContext(connection) as queries:
            response = post(key_client, _unchanged_report(size))
        assert response.status_code == 201, response.content
        assert response.json()["sync"]["unchanged"] == size
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_scope_reports_write_is_required(api_client, make_key):
    reader = make_key("reader", scopes=["intents:read"])
    response = api_client.post("/reports", REPORT, format="json",
                               HTTP_X_T4_API_KEY=reader.secret)  # fmt: skip
    assert response.status_code == 403
    assert response.json()["error"] == "missing_scope"
    assert api_client.post("/reports", REPORT, format="json").status_code == 401
    assert not QualityReport.objects.exists()


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda r: r.pop("summary"), "summary"),
        (lambda r: r["summary"].update(total_findings=99), "summary"),
        (lambda r: r["summary"].update(annotated=-1), "summary"),
        (lambda r: r.update(status="maybe"), "status"),
        (lambda r: r.update(annotations="x"), "annotations"),
        (lambda r: r.update(commit="c" * 65), "commit"),
    ],
)
def test_bad_reports_are_400(key_client, mutate, field):
    body = copy.deepcopy(REPORT)
    mutate(body)
    response = post(key_client, body)
    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert not QualityReport.objects.exists()


def test_report_admin_lists_reports(admin_client, key_client):
    post(key_client, REPORT)
    response = admin_client.get("/admin/intents/qualityreport/")
    assert response.status_code == 200
    assert "org/repo" in response.content.decode()

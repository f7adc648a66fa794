"""Quality reports: the uploaded validator reports (optional ``intents.QualityReport``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .common import Filters, optional_model


@dataclass(frozen=True)
class ReportPoint:
    created_at: datetime
    repository: str
    commit: str
    total_findings: int
    annotated: int
    unannotated: int
    quality_score: float | None


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _score(value: Any) -> float | None:
    try:
        return None if value is None else round(float(value), 2)
    except (TypeError, ValueError):
        return None


def quality_reports(*, filters: Filters, limit: int = 500) -> list[ReportPoint] | None:
    """The newest ``limit`` reports in the range, oldest first; None if the model is absent."""
    model = optional_model("intents", "QualityReport")
    if model is None:
        return None
    field_names = {f.name for f in model._meta.get_fields()}
    wanted = [
        name
        for name in ("created_at", "summary", "metrics", "repository", "commit")
        if name in field_names
    ]
    rows = (
        model._default_manager.filter(
            created_at__gte=filters.start_dt, created_at__lt=filters.end_dt
        )
        .order_by("-created_at")
        .values(*wanted)[:limit]
    )
    points = []
    for row in rows:
        summary = row.get("summary") if isinstance(row.get("summary"), dict) else {}
        metrics = row.get("metrics") if isinstance(row.get("metrics"), dict) else {}
        points.append(
            ReportPoint(
                created_at=row["created_at"],
                repository=str(row.get("repository") or ""),
                commit=str(row.get("commit") or ""),
                total_findings=_int(summary.get("total_findings")),
                annotated=_int(summary.get("annotated")),
                unannotated=_int(summary.get("unannotated")),
                quality_score=_score(metrics.get("annotation_quality_score")),
            )
        )
    points.reverse()
    return points

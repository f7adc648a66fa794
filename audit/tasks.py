from __future__ import annotations

from celery import shared_task

from .services import requestlog_prune


@shared_task(name="audit.tasks.prune_request_logs")
def prune_request_logs() -> dict[str, int]:
    result = requestlog_prune()
    return {"deleted": result.deleted, "batches": result.batches}

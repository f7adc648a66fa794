from __future__ import annotations

from celery import shared_task

from .services import requestlog_prune


@shared_task(name="audit.tasks.prune_request_logs")
def prune_request_logs() -> dict[str, int]:
    result = requestlog_prune()
    return {"deleted": result.deleted, "batches": result.batches}


@shared_task(name="audit.tasks.rollup_request_logs")
def rollup_request_logs() -> dict[str, object]:
    """Hourly (minute 2, UTC): roll completed hours of the request log into RequestHourly."""
    from .rollups import requesthourly_rollup

    result = requesthourly_rollup()
    return {
        "hours": len(result.hours),
        "rows": result.rows,
        "requests": result.requests,
        "caught_up": result.caught_up,
    }

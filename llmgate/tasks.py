"""Celery adapters for the gate's scheduled jobs (thin: they call services)."""

from __future__ import annotations

from datetime import date

from celery import shared_task

from .daily import llm_close_day


@shared_task(name="llmgate.tasks.close_day")
def close_day(day: str | None = None) -> dict[str, object]:
    result = llm_close_day(day=date.fromisoformat(day) if day else None)
    return {
        "days": [d.isoformat() for d in result.days],
        "rows": result.rows,
        "cost": str(result.cost),
        "released_reservations": result.released_reservations,
    }

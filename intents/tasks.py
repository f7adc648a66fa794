"""Celery adapters for the registry's scheduled jobs (thin: they call services)."""

from __future__ import annotations

from celery import shared_task

from .scheduled import intent_expire_waivers, intent_flag_stale


@shared_task(name="intents.tasks.expire_waivers")
def expire_waivers() -> dict[str, int]:
    result = intent_expire_waivers()
    return {"expired": len(result.expired), "skipped": len(result.skipped)}


@shared_task(name="intents.tasks.flag_stale_intents")
def flag_stale_intents() -> dict[str, int]:
    result = intent_flag_stale()
    return {"flagged": result.flagged, "cleared": result.cleared}

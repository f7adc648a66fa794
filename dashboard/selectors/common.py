"""Shared by every dashboard selector: the filter range, UTC days, optional models, access."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.apps import apps
from django.db.models import Model
from django.utils import timezone

TEAM_LEADS_GROUP = "team leads"


def optional_model(app_label: str, model_name: str) -> type[Model] | None:
    """The model class, or None while the app does not define it (yet)."""
    try:
        return apps.get_model(app_label, model_name)
    except LookupError:
        return None


def utc_today() -> date:
    return timezone.now().astimezone(UTC).date()


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


@dataclass(frozen=True)
class Filters:
    """Inclusive UTC date range and an optional owner (intent owner / key owner)."""

    start: date
    end: date
    owner: str = ""

    @property
    def start_dt(self) -> datetime:
        return day_start(self.start)

    @property
    def end_dt(self) -> datetime:
        """Exclusive upper bound: midnight after ``end``."""
        return day_start(self.end + timedelta(days=1))


# --- access -----------------------------------------------------------------------------


def is_team_lead(user: Any) -> bool:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return bool(user.is_staff or user.groups.filter(name__iexact=TEAM_LEADS_GROUP).exists())

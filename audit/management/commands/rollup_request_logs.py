from __future__ import annotations

from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.dateparse import parse_datetime

from audit.rollups import MAX_HOURS_PER_RUN, requesthourly_rollup


class Command(BaseCommand):
    help = (
        "Roll completed UTC hours of the request log into RequestHourly (idempotent; "
        "catches up every hour not rolled yet)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--until",
            default=None,
            help="ISO date-time (UTC if naive): roll hours ending at or before it "
            "(default: now; the current hour is never rolled).",
        )
        parser.add_argument(
            "--max-hours",
            type=int,
            default=MAX_HOURS_PER_RUN,
            help="Hours rolled per batch (each hour is its own transaction).",
        )
        parser.add_argument(
            "--once",
            action="store_true",
            help="Roll one batch only, like the scheduled task (default: loop until caught up).",
        )

    def handle(self, *args: object, **options: object) -> None:
        until = _parse_until(options["until"])  # type: ignore[arg-type]
        per_hour: dict[datetime, tuple[int, int]] = {}
        while True:
            batch = requesthourly_rollup(
                until=until,
                max_hours=options["max_hours"],  # type: ignore[arg-type]
            )
            per_hour.update(batch.per_hour)  # an hour rolled again counts once
            if batch.caught_up or options["once"]:
                break
        hours = sorted(per_hour)
        rows = sum(r for r, _ in per_hour.values())
        requests = sum(n for _, n in per_hour.values())
        span = f" ({hours[0]:%Y-%m-%d %H}h .. {hours[-1]:%Y-%m-%d %H}h)" if hours else ""
        self.stdout.write(
            f"rollup_request_logs: rolled {len(hours)} hour(s){span}, {requests} request(s) "
            f"into {rows} row(s){'' if batch.caught_up else '; more hours remain'}"
        )


def _parse_until(value: str | None) -> datetime | None:
    if not value:
        return None
    parsed = parse_datetime(value)
    if parsed is None:
        raise CommandError(f"--until: not an ISO date-time: {value!r}")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed

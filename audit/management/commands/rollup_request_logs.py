from __future__ import annotations

from datetime import datetime

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.dateparse import parse_datetime

from audit.rollups import MAX_HOURS_PER_RUN, RollupResult, requesthourly_rollup


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
        total = RollupResult()
        while True:
            batch = requesthourly_rollup(until=until, max_hours=options["max_hours"])  # type: ignore[arg-type]
            total.hours += batch.hours
            total.rows += batch.rows
            total.requests += batch.requests
            total.caught_up = batch.caught_up
            if batch.caught_up or options["once"] or not batch.hours:
                break
        span = f" ({total.hours[0]:%Y-%m-%d %H}h .. {total.hours[-1]:%Y-%m-%d %H}h)"
        self.stdout.write(
            f"rollup_request_logs: rolled {len(total.hours)} hour(s)"
            f"{span if total.hours else ''}, {total.requests} request(s) into "
            f"{total.rows} row(s){'' if total.caught_up else '; more hours remain'}"
        )


def _parse_until(value: str | None) -> datetime | None:
    if not value:
        return None
    parsed = parse_datetime(value)
    if parsed is None:
        raise CommandError(f"--until: not an ISO date-time: {value!r}")
    if parsed.tzinfo is None:
        from datetime import UTC

        parsed = parsed.replace(tzinfo=UTC)
    return parsed

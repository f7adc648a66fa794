from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError, CommandParser

from llmgate.daily import llm_close_day


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--date must be YYYY-MM-DD, got {value!r}") from exc


class Command(BaseCommand):
    help = (
        "Close UTC days: roll LLM usage into DailySpend per key and model and release "
        "leftover reservations. Without --date, every unclosed day before today."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", type=_date, default=None, help="one UTC day, YYYY-MM-DD")

    def handle(self, *args: object, **options: object) -> None:
        try:
            result = llm_close_day(day=options["date"])  # type: ignore[arg-type]
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        days = ", ".join(d.isoformat() for d in result.days) or "none"
        self.stdout.write(
            f"close_day: closed {len(result.days)} day(s) ({days}): {result.rows} row(s), "
            f"cost {result.cost:.6f} USD, {result.released_reservations} reservation(s) released"
        )

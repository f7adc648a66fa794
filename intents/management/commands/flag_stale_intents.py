from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from intents.scheduled import intent_flag_stale


class Command(BaseCommand):
    help = "Flag open intents untouched for T4_STALE_DAYS days (sets stale_since)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days", type=int, default=None, help=f"default {settings.T4_STALE_DAYS}"
        )

    def handle(self, *args: object, **options: object) -> None:
        result = intent_flag_stale(days=options["days"])  # type: ignore[arg-type]
        self.stdout.write(
            f"flag_stale_intents: {result.flagged} intent(s) flagged stale, "
            f"{result.cleared} flag(s) cleared (untouched since {result.cutoff:%Y-%m-%d})"
        )

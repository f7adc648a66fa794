from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from audit.services import PRUNE_BATCH_SIZE, requestlog_prune


class Command(BaseCommand):
    help = "Delete request-log rows older than T4_AUDIT_RETENTION_DAYS, in batches."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help="Retention in days (default: T4_AUDIT_RETENTION_DAYS, "
            f"now {settings.T4_AUDIT_RETENTION_DAYS}).",
        )
        parser.add_argument("--batch-size", type=int, default=PRUNE_BATCH_SIZE)

    def handle(self, *args: object, **options: object) -> None:
        result = requestlog_prune(
            older_than_days=options["days"],  # type: ignore[arg-type]
            batch_size=options["batch_size"],  # type: ignore[arg-type]
        )
        self.stdout.write(
            f"prune_request_logs: deleted {result.deleted} row(s) older than "
            f"{result.cutoff:%Y-%m-%d %H:%M} UTC in {result.batches} batch(es)"
        )

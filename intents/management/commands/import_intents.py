"""``manage.py import_intents PATH``: JSON Lines, or the legacy registry's SQLite database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.actor import COMMAND_LINE
from intents.imports import (
    ImportReport,
    import_api_keys,
    import_intents,
    is_sqlite,
    jsonl_rows,
    sqlite_tables,
)


class Command(BaseCommand):
    help = (
        "Import intents from JSON Lines (one intent object per line) or from the legacy "
        "FastAPI registry's SQLite file (tables intents and api_keys). Idempotent."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)

    def handle(self, *args: Any, path: Path, **options: Any) -> None:
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        report = ImportReport()
        if is_sqlite(path):
            intents, keys = sqlite_tables(path)
            if intents is None and keys is None:
                raise CommandError("The SQLite file has neither an intents nor an api_keys table.")
            if intents is not None:
                rows = ((f"intents row {n}", row) for n, row in enumerate(intents, start=1))
                import_intents(rows, actor=COMMAND_LINE, report=report)
            if keys is not None:
                rows = ((f"api_keys row {n}", row) for n, row in enumerate(keys, start=1))
                import_api_keys(rows, actor=COMMAND_LINE, report=report)
        else:
            import_intents(jsonl_rows(path), actor=COMMAND_LINE, report=report)

        out = self.stdout
        out.write(
            f"Imported {report.created['intents']} intent(s) and "
            f"{report.created['api_keys']} API key(s); skipped {len(report.skipped)}."
        )
        for what, reason in report.skipped:
            out.write(f"  skipped {what}: {reason}")
        for what, note in report.notes:
            out.write(f"  note {what}: {note}")

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apikeys.services import apikey_revoke_all
from audit.actor import COMMAND_LINE


class Command(BaseCommand):
    help = "Emergency rollback: revoke every active API key at once (audited)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--yes", action="store_true", help="Confirm; required.")

    def handle(self, *args: object, **options: object) -> None:
        if not options["yes"]:
            raise CommandError("Refusing to revoke every key without --yes.")
        count = apikey_revoke_all(actor=COMMAND_LINE)
        self.stdout.write(f"revoked {count} active key(s)")

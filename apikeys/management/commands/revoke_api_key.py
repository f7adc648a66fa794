from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apikeys.selectors import apikey_get_by_reference
from apikeys.services import apikey_revoke
from audit.actor import COMMAND_LINE


class Command(BaseCommand):
    help = "Revoke one API key, given its prefix (t4_xxxxxxxx or xxxxxxxx) or the full key."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("reference", help="Key prefix or full key.")

    def handle(self, *args: object, **options: object) -> None:
        api_key = apikey_get_by_reference(reference=str(options["reference"]))
        if api_key is None:
            raise CommandError("No API key matches that prefix.")
        already = api_key.revoked_at is not None
        api_key = apikey_revoke(api_key=api_key, actor=COMMAND_LINE)
        state = "was already revoked" if already else "revoked"
        self.stdout.write(f"{api_key.display_prefix} ({api_key.agent_id}) {state}")

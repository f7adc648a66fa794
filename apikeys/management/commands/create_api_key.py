from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apikeys.models import ALL_SCOPES
from apikeys.services import apikey_create
from audit.actor import COMMAND_LINE
from t4site.errors import DomainError


def _decimal(value: str) -> Decimal:
    try:
        return Decimal(value)
    except InvalidOperation as exc:
        raise CommandError(f"--daily_limit must be a number, got {value!r}") from exc


class Command(BaseCommand):
    help = (
        "Create an API key and print only the key on stdout (so KEY=$(manage.py "
        "create_api_key --agent_id A) works). The key is never shown again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--agent_id", required=True, help="Agent identifier.")
        parser.add_argument("--owner", default="", help="Team or person owning the agent.")
        parser.add_argument(
            "--expires_days", type=int, default=365, help="Days until expiry (default 365)."
        )
        parser.add_argument(
            "--daily_limit", type=_decimal, default=Decimal("100.0"), help="USD per UTC day."
        )
        parser.add_argument(
            "--rate_per_minute", type=int, default=120, help="Requests per minute (default 120)."
        )
        parser.add_argument(
            "--scopes",
            nargs="+",
            default=None,
            help=f"Scopes, space- or comma-separated (default: all of {', '.join(ALL_SCOPES)}).",
        )

    def handle(self, *args: object, **options: object) -> None:
        scopes = None
        if options["scopes"]:
            scopes = [s for item in options["scopes"] for s in str(item).split(",") if s]
        try:
            issued = apikey_create(
                agent_id=str(options["agent_id"]),
                owner=str(options["owner"]),
                scopes=scopes,
                expires_in_days=options["expires_days"],  # type: ignore[arg-type]
                daily_limit=options["daily_limit"],  # type: ignore[arg-type]
                rate_per_minute=options["rate_per_minute"],  # type: ignore[arg-type]
                actor=COMMAND_LINE,
            )
        except DomainError as exc:
            raise CommandError(exc.detail) from exc
        self.stdout.write(issued.secret)

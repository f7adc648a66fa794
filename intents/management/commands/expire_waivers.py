from __future__ import annotations

from django.core.management.base import BaseCommand

from intents.scheduled import intent_expire_waivers


class Command(BaseCommand):
    help = "Move accepted intents past their expires_at to expired (audited as 'scheduler')."

    def handle(self, *args: object, **options: object) -> None:
        result = intent_expire_waivers()
        self.stdout.write(
            f"expire_waivers: {len(result.expired)} waiver(s) expired, "
            f"{len(result.skipped)} skipped"
        )
        for item in result.skipped:
            self.stderr.write(f"  skipped {item['id']}: {item['reason']}")

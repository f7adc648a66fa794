"""A real browser (Debian's chromium, driven by Playwright) logs in through the admin login
page, opens every dashboard page, checks the seeded figures are visible and saves
screenshots under var/screenshots/."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.utils import timezone

from dashboard.selectors.common import utc_today

from .conftest import XSS

CHROMIUM = "/usr/bin/chromium"

# Playwright's sync API runs an event loop in this thread; the ORM calls the test makes
# around it are synchronous and safe (documented Django escape hatch for this case).
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason=f"{CHROMIUM} is missing (install Debian's chromium: scripts/ensure_chromium.sh)",
    ),
    pytest.mark.urls("tests.dashboard.urls"),
]


def test_every_page_in_a_real_browser(
    live_server: Any,
    settings_fixture_cookies: None,
    make_key: Callable[..., Any],
    usage_row: Callable[..., Any],
    intent_row: Callable[..., Any],
    request_row: Callable[..., Any],
) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    User.objects.create_user("browser-lead", password="browser-pw-4821", is_staff=True)
    now = timezone.now()
    for _ in range(3):
        intent_row(status="planned", owner="@alpha")
    intent_row(status="reserved", owner="@beta", modified_at=now - timedelta(days=60), reason=XSS)
    key = make_key("agent-browser", daily_limit=Decimal("5.00")).api_key
    usage_row(key, day=utc_today(), cost=Decimal("1.75"))
    usage_row(key, day=utc_today() - timedelta(days=1), cost=Decimal("0.50"))
    for status in (200, 200, 429, 500):
        request_row(status=status)

    shots = Path(settings.VAR_DIR) / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            headless=True,
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            external: list[str] = []
            page.on(
                "request",
                lambda r: (
                    external.append(r.url)
                    if not r.url.startswith(live_server.url) and not r.url.startswith("data:")
                    else None
                ),
            )
            alerts: list[str] = []
            page.on("dialog", lambda d: (alerts.append(d.message), d.dismiss()))

            page.goto(f"{live_server.url}/dashboard/")
            assert "/accounts/login/" in page.url
            page.fill("#id_username", "browser-lead")
            page.fill("#id_password", "browser-pw-4821")
            page.click("input[type=submit]")
            page.wait_for_url(f"{live_server.url}/dashboard/")
            assert page.locator("a", has_text="LLM spend").count() >= 1
            page.screenshot(path=str(shots / "dashboard-home.png"), full_page=True)

            page.goto(f"{live_server.url}/dashboard/overview/")
            assert (
                page.locator("#no-reports").is_visible() or page.locator("#fig-total").is_visible()
            )
            page.screenshot(path=str(shots / "dashboard-overview.png"), full_page=True)

            page.goto(f"{live_server.url}/dashboard/intents/")
            status_table = page.locator("table[data-table=by_status]")
            assert status_table.locator("tr", has_text="planned").inner_text().split()[-1] == "3"
            stale = page.locator("table[data-table=stale]")
            assert stale.is_visible()
            assert XSS in stale.inner_text()  # shown as text, never run
            assert page.locator("svg.chart").first.is_visible()
            page.screenshot(path=str(shots / "dashboard-intents.png"), full_page=True)

            page.goto(f"{live_server.url}/dashboard/llm/")
            assert page.locator("#fig-cost").inner_text() == "2.25"
            assert page.locator("#fig-calls").inner_text() == "2"
            assert "agent-browser" in page.locator("table[data-table=agent_day]").inner_text()
            page.screenshot(path=str(shots / "dashboard-llm.png"), full_page=True)

            page.goto(f"{live_server.url}/dashboard/api/")
            assert page.locator("#fig-429").inner_text() == "1"
            assert page.locator("#fig-5xx").inner_text() == "1"
            page.screenshot(path=str(shots / "dashboard-api.png"), full_page=True)

            assert alerts == []
            assert external == []
        finally:
            browser.close()
    for name in ("home", "overview", "intents", "llm", "api"):
        assert (shots / f"dashboard-{name}.png").stat().st_size > 1000


@pytest.fixture
def settings_fixture_cookies(settings: Any) -> None:
    # The live server speaks plain HTTP; production keeps secure cookies.
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False

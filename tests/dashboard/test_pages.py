"""Dashboard pages: access control, the figures shown for seeded data, CSV and escaping."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from audit.models import RequestLog
from audit.rollups import HOUR, hour_floor, requesthourly_rollup
from dashboard.selectors.activity import slowest_paths
from dashboard.selectors.common import Filters, utc_today
from llmgate.models import KeyDailyBudget

from .conftest import XSS

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.dashboard.urls")]

PAGES = ["/dashboard/", "/dashboard/overview/", "/dashboard/intents/", "/dashboard/llm/"]
PAGES.append("/dashboard/api/")


def rows_of(response: Any) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode("utf-8"))))


# --- access -----------------------------------------------------------------------------


@pytest.mark.parametrize("url", PAGES)
def test_anonymous_is_sent_to_the_login_page(client: Client, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={url}"


@pytest.mark.parametrize("url", PAGES)
def test_a_user_outside_team_leads_is_sent_to_the_login_page(plain_client: Client, url: str):
    response = plain_client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize("url", PAGES)
def test_team_leads_and_staff_see_every_page(
    lead_client: Client, staff_client: Client, url: str
) -> None:
    assert lead_client.get(url).status_code == 200
    assert staff_client.get(url).status_code == 200


def test_csv_export_is_protected_too(client: Client) -> None:
    response = client.get("/dashboard/intents/?format=csv&table=by_status")
    assert response.status_code == 302


def test_home_links_every_page(staff_client: Client) -> None:
    html = staff_client.get("/dashboard/").content.decode()
    for url in PAGES[1:]:
        assert f'href="{url}"' in html


def test_unknown_csv_table_is_404(staff_client: Client) -> None:
    assert staff_client.get("/dashboard/intents/?format=csv&table=nope").status_code == 404


# --- intents ----------------------------------------------------------------------------


def test_intents_page_shows_counts_stale_and_expiring(
    staff_client: Client, intent_row: Callable[..., Any]
) -> None:
    now = timezone.now()
    for _ in range(3):
        intent_row(status="planned", owner="@alpha", code="B008")
    intent_row(status="committed", owner="@beta", code="F821")
    old = intent_row(
        status="reserved", owner="@beta", modified_at=now - timedelta(days=45), reason=XSS
    )
    soon = intent_row(status="accepted", owner="@alpha", expires_at=now + timedelta(days=3))
    intent_row(status="accepted", owner="@alpha", expires_at=now + timedelta(days=60))
    intent_row(status="implemented", owner="@alpha")

    response = staff_client.get("/dashboard/intents/")
    assert response.status_code == 200
    ctx = response.context
    tables = ctx["tables"]
    by_status = dict(tables["by_status"].rows)
    assert by_status == {
        "reserved": 1,
        "planned": 3,
        "committed": 1,
        "accepted": 2,
        "expired": 0,
        "implemented": 1,
    }
    assert dict(tables["by_owner"].rows) == {"@alpha": 6, "@beta": 2}
    assert dict(tables["by_code"].rows)["B008"] == 3
    assert [str(r[0]) for r in tables["stale"].rows] == [old.pk]
    assert [str(r[0]) for r in tables["expiring"].rows] == [soon.pk]

    html = response.content.decode()
    # Each stale/expiring row links to its admin page.
    assert f'href="/admin/intents/intent/{old.pk}/change/"' in html
    # The hostile reason is text, not markup.
    assert XSS not in html
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html
    # The chart is inline SVG, and its numbers are in the table beside it.
    assert "<svg" in html
    assert "<script" not in html.lower()


def test_intents_owner_filter(staff_client: Client, intent_row: Callable[..., Any]) -> None:
    intent_row(owner="@alpha")
    intent_row(owner="@beta")
    intent_row(owner="@beta")
    response = staff_client.get("/dashboard/intents/", {"owner": "@beta"})
    assert dict(response.context["tables"]["by_owner"].rows) == {"@beta": 2}
    assert dict(response.context["tables"]["by_status"].rows)["planned"] == 2


def test_intents_date_range_counts_intents_created_in_it(
    staff_client: Client, intent_row: Callable[..., Any]
) -> None:
    now = timezone.now()
    intent_row(created_at=now - timedelta(days=40))
    intent_row(created_at=now)
    today = utc_today()
    response = staff_client.get(
        "/dashboard/intents/", {"start": (today - timedelta(days=7)).isoformat()}
    )
    assert dict(response.context["tables"]["by_status"].rows)["planned"] == 1
    assert (
        dict(staff_client.get("/dashboard/intents/").context["tables"]["by_status"].rows)["planned"]
        == 2
    )


def test_invalid_filters_fall_back_to_defaults_with_a_message(staff_client: Client) -> None:
    response = staff_client.get("/dashboard/intents/", {"start": "2025-02-10", "end": "2025-01-01"})
    assert response.status_code == 200
    assert "The start date is after the end date." in response.content.decode()
    response = staff_client.get("/dashboard/llm/", {"start": "not-a-date"})
    assert response.status_code == 200
    assert "Enter a valid date." in response.content.decode()


def test_intents_csv_quotes_and_neutralises_formulas(
    staff_client: Client, intent_row: Callable[..., Any]
) -> None:
    nasty = 'uses "quotes", commas\nand a newline'
    a = intent_row(status="reserved", modified_at=timezone.now() - timedelta(days=40), reason=nasty)
    b = intent_row(
        status="reserved",
        modified_at=timezone.now() - timedelta(days=39),
        reason="=HYPERLINK(1)",
        owner="@x",
    )
    response = staff_client.get("/dashboard/intents/?format=csv&table=stale")
    assert 'filename="intents-stale.csv"' in response["Content-Disposition"]
    body = response.content.decode()
    assert '"uses ""quotes"", commas\nand a newline"' in body
    rows = rows_of(response)
    assert rows[0] == [
        "id",
        "code",
        "file",
        "line",
        "owner",
        "ticket",
        "status",
        "reason",
        "modified",
    ]
    assert rows[1][0] == a.pk and rows[1][7] == nasty
    assert rows[2][0] == b.pk and rows[2][7] == "'=HYPERLINK(1)" and rows[2][4] == "'@x"


def test_csv_export_keeps_the_filters(staff_client: Client, intent_row: Callable[..., Any]):
    intent_row(owner="@alpha")
    intent_row(owner="@beta")
    html = staff_client.get("/dashboard/intents/", {"owner": "@beta"}).content.decode()
    assert "?owner=%40beta&amp;format=csv&amp;table=by_owner" in html
    rows = rows_of(
        staff_client.get(
            "/dashboard/intents/", {"owner": "@beta", "format": "csv", "table": "by_owner"}
        )
    )
    assert rows == [["owner", "intents"], ["'@beta", "1"]]


# --- LLM spend --------------------------------------------------------------------------


@pytest.fixture
def spend_seed(make_key: Callable[..., Any], usage_row: Callable[..., Any]) -> dict[str, Any]:
    today = utc_today()
    a = make_key("agent-a", owner="@alpha", daily_limit=Decimal("10.00"))
    b = make_key("agent-b", owner="@beta", daily_limit=Decimal("1.00"))
    ka, kb = a.api_key, b.api_key
    usage_row(ka, day=today, cost=Decimal("1.5"), prompt_tokens=1000, completion_tokens=500)
    usage_row(ka, day=today, cost=Decimal("0.5"), model="gpt-4o-mini")
    usage_row(ka, day=today - timedelta(days=2), cost=Decimal("2.0"))
    usage_row(kb, day=today, cost=Decimal("0.25"))
    usage_row(kb, day=today, status="refused", cost=Decimal("0"), prompt_tokens=0)
    usage_row(kb, day=today, status="refused", cost=Decimal("0"), prompt_tokens=0)
    usage_row(ka, day=today - timedelta(days=45), cost=Decimal("99"))  # outside 30 days
    KeyDailyBudget.objects.create(api_key=ka, day=today, spent=Decimal("2.0"), calls=2)
    KeyDailyBudget.objects.create(
        api_key=kb, day=today, spent=Decimal("0.25"), reserved=Decimal("0.50"), refusals=2
    )
    return {"a": ka, "b": kb, "today": today}


def test_llm_page_figures(staff_client: Client, spend_seed: dict[str, Any]) -> None:
    today = spend_seed["today"]
    response = staff_client.get("/dashboard/llm/")
    ctx = response.context
    assert ctx["total_cost"] == Decimal("4.25")
    assert ctx["total_calls"] == 4
    assert ctx["total_refused"] == 2
    tables = ctx["tables"]
    agent_day = {(r[0], r[1]): r[2:] for r in tables["agent_day"].rows}
    assert agent_day[(today, "agent-a")] == [2, 0, 1100, 550, Decimal("2.0000")]
    assert agent_day[(today, "agent-b")] == [1, 2, 100, 150, Decimal("0.2500")]
    assert agent_day[(today - timedelta(days=2), "agent-a")][4] == Decimal("2.0000")
    per_model = {r[0]: r[5] for r in tables["per_model"].rows}
    assert per_model == {"gpt-4o": Decimal("3.7500"), "gpt-4o-mini": Decimal("0.5000")}
    near = tables["near_limit"].rows
    assert [r[1] for r in near] == ["agent-b", "agent-a"]  # 75 % used before 20 %
    assert near[0][6] == 75.0 and near[1][6] == 20.0
    assert tables["refused"].rows == [[today, "agent-b", 2]]
    daily = {r[0]: r[1:] for r in tables["daily"].rows}
    assert len(daily) == 30
    assert daily[today] == [3, 2, Decimal("2.2500")]
    html = response.content.decode()
    assert 'id="fig-cost">4.25<' in html
    assert "<svg" in html


def test_near_limit_orders_whole_dollar_amounts_by_share(make_key: Callable[..., Any]) -> None:
    # SQLite keeps 5.00 and 10.00 as integers; the share must still be 0.5, not 5 // 10 = 0.
    from dashboard.selectors.common import Filters
    from dashboard.selectors.spend import keys_near_limit

    today = utc_today()
    a = make_key("agent-half", daily_limit=Decimal("10"))
    b = make_key("agent-little", daily_limit=Decimal("100"))
    KeyDailyBudget.objects.create(api_key=a.api_key, day=today, spent=Decimal("5"))
    KeyDailyBudget.objects.create(api_key=b.api_key, day=today, spent=Decimal("0.5"))
    rows = keys_near_limit(filters=Filters(start=today, end=today))
    assert [r["key_id"] for r in rows] == [a.api_key.pk, b.api_key.pk]


def test_llm_owner_filter_and_csv(staff_client: Client, spend_seed: dict[str, Any]) -> None:
    response = staff_client.get("/dashboard/llm/", {"owner": "@beta"})
    assert response.context["total_cost"] == Decimal("0.25")
    assert [r[1] for r in response.context["tables"]["near_limit"].rows] == ["agent-b"]
    rows = rows_of(staff_client.get("/dashboard/llm/", {"format": "csv", "table": "per_model"}))
    assert rows[0] == [
        "model",
        "calls",
        "refused",
        "prompt tokens",
        "completion tokens",
        "cost (USD)",
    ]
    assert rows[1] == ["gpt-4o", "3", "2", "1200", "700", "3.7500"]


def test_llm_page_reads_closed_days_from_daily_spend(
    staff_client: Client, spend_seed: dict[str, Any]
) -> None:
    """After the midnight job, days before today come from DailySpend: deleting their ledger
    rows changes nothing; today's rows are still aggregated live."""
    from llmgate.daily import llm_close_day
    from llmgate.models import LLMUsage

    today = spend_seed["today"]
    before = staff_client.get("/dashboard/llm/").context
    figures = {name: before["tables"][name].rows for name in ("agent_day", "per_model", "daily")}
    assert llm_close_day().days[-1] == today - timedelta(days=1)
    LLMUsage.objects.filter(day__lt=today).delete()

    after = staff_client.get("/dashboard/llm/")
    ctx = after.context
    # The latest roll-up row is the last closed day *with usage* (yesterday had none).
    assert ctx["rolled_until"] == today - timedelta(days=2)
    assert (ctx["total_cost"], ctx["total_calls"], ctx["total_refused"]) == (
        Decimal("4.25"),
        4,
        2,
    )
    assert {name: ctx["tables"][name].rows for name in figures} == figures
    assert "come from the daily roll-up" in after.content.decode()
    owner = staff_client.get("/dashboard/llm/", {"owner": "@alpha"}).context
    assert owner["total_cost"] == Decimal("4.00")  # 2.00 rolled + 2.00 today


def test_llm_page_query_count_does_not_grow_with_rows(
    staff_client: Client,
    spend_seed: dict[str, Any],
    usage_row: Callable[..., Any],
    django_assert_max_num_queries: Any,
) -> None:
    for _ in range(30):
        usage_row(spend_seed["a"], day=spend_seed["today"])
    with django_assert_max_num_queries(12):
        assert staff_client.get("/dashboard/llm/").status_code == 200


# --- API activity -----------------------------------------------------------------------


def test_api_activity_figures(staff_client: Client, request_row: Callable[..., Any]) -> None:
    now = timezone.now().replace(minute=30)
    for _ in range(5):
        request_row(time=now, status=200, duration_ms=5)
    request_row(time=now, status=404, path="/intents/nope", duration_ms=2)
    request_row(time=now, status=429, duration_ms=1)
    request_row(time=now - timedelta(hours=1), status=500, path="/llm/chat", duration_ms=900)
    request_row(time=now - timedelta(days=5), status=500)  # outside the default 2 days

    response = staff_client.get("/dashboard/api/")
    totals = response.context["totals"]
    assert (totals["n"], totals["c4xx"], totals["c5xx"], totals["c429"]) == (8, 2, 1, 1)
    hourly = response.context["tables"]["hourly"].rows
    assert [r[1:5] for r in hourly] == [[1, 0, 1, 0], [7, 2, 0, 1]]
    slow = response.context["tables"]["slowest"].rows
    assert slow[0][:3] == ["/llm/chat", 1, 900.0]
    html = response.content.decode()
    assert 'id="fig-429">1<' in html
    # The request log records the page view above as well.
    rows = rows_of(staff_client.get("/dashboard/api/?format=csv&table=totals"))
    assert rows[1][:4] == ["9", "2", "1", "1"]


def test_api_activity_owner_filter(
    staff_client: Client, make_key: Callable[..., Any], request_row: Callable[..., Any]
) -> None:
    key = make_key("agent-o", owner="@ops").api_key
    request_row(key_prefix=key.display_prefix, status=403)
    request_row(key_prefix="t4_other", status=200)
    response = staff_client.get("/dashboard/api/", {"owner": "@ops"})
    assert response.context["totals"]["n"] == 1
    assert response.context["totals"]["c4xx"] == 1


def _rolled_and_live(request_row: Callable[..., Any]) -> dict[str, Any]:
    """Two completed hours rolled into RequestHourly, then more requests in the current hour.

    After the roll-up the raw rows of the completed hours are deleted, so any figure that
    still counts them can only have come from the roll-up.
    """
    now_hour = hour_floor(timezone.now())
    h2, h1 = now_hour - 2 * HOUR, now_hour - HOUR
    minute = timedelta(minutes=10)
    for _ in range(3):
        request_row(time=h2 + minute, path="/intents", status=200, duration_ms=4.0)
    request_row(time=h2 + minute, path="/llm/chat", status=500, duration_ms=800.0)
    request_row(time=h1 + minute, path="/intents", status=429, duration_ms=1.0)
    request_row(time=h1 + minute, path="/intents/T4-1", status=404, duration_ms=2.0)
    request_row(time=h1 + minute, path="/llm/chat", status=200, duration_ms=600.0)
    assert requesthourly_rollup(until=now_hour).hours == [h2, h1]
    RequestLog.objects.all().delete()
    # Current hour (live): the log only.
    request_row(
        time=now_hour + timedelta(seconds=1), path="/llm/chat", status=200, duration_ms=100.0
    )
    request_row(time=now_hour + timedelta(seconds=2), path="/whoami", status=403, duration_ms=3.0)
    return {"h2": h2, "h1": h1, "now_hour": now_hour}


def test_api_activity_adds_rolled_hours_and_the_live_hour(
    staff_client: Client, request_row: Callable[..., Any]
) -> None:
    seed = _rolled_and_live(request_row)
    response = staff_client.get("/dashboard/api/")
    totals = response.context["totals"]
    assert (totals["n"], totals["c4xx"], totals["c5xx"], totals["c429"]) == (9, 3, 1, 1)
    assert totals["ms_sum"] == 12.0 + 800 + 1 + 2 + 600 + 100 + 3
    hourly = response.context["tables"]["hourly"].rows
    assert hourly == [
        [seed["h2"], 4, 0, 1, 0, 203.0],
        [seed["h1"], 3, 2, 0, 1, 201.0],
        [seed["now_hour"], 2, 1, 0, 0, 51.5],
    ]
    slow = response.context["tables"]["slowest"].rows
    # /llm/chat merges rolled (800, 600) and live (100) requests: mean 500, max 800.
    assert slow[0] == ["/llm/chat", 3, 500.0, 800.0]
    assert {r[0]: r[1:] for r in slow[1:]} == {
        "/intents": [4, 3.2, 4.0],
        "/whoami": [1, 3.0, 3.0],
        "/intents/T4-1": [1, 2.0, 2.0],
    }
    assert response.context["rolled_end"] == seed["now_hour"]
    assert "come from the hourly roll-up" in response.content.decode()
    # The page view above is logged in the live hour and shows up in the next one.
    rows = rows_of(staff_client.get("/dashboard/api/?format=csv&table=totals"))
    assert rows[1][:4] == ["10", "3", "1", "1"]


def test_api_activity_date_range_before_the_rolled_hours_reads_nothing_live(
    staff_client: Client, request_row: Callable[..., Any]
) -> None:
    _rolled_and_live(request_row)
    old = (utc_today() - timedelta(days=10)).isoformat()
    response = staff_client.get("/dashboard/api/", {"start": old, "end": old})
    assert response.context["totals"]["n"] == 0
    assert response.context["tables"]["hourly"].rows == []


def test_slowest_paths_stay_exact_when_live_requests_lower_a_rolled_mean(
    request_row: Callable[..., Any],
) -> None:
    now_hour = hour_floor(timezone.now())
    done = now_hour - HOUR
    for path, ms in [("/a", 100.0), ("/b", 90.0), ("/c", 80.0), ("/d", 70.0)]:
        request_row(time=done, path=path, duration_ms=ms)
    requesthourly_rollup(until=now_hour)
    for _ in range(3):  # /a's mean falls to (100 + 3 * 10) / 4 = 32.5
        request_row(time=now_hour + timedelta(seconds=5), path="/a", duration_ms=10.0)
    today = utc_today()
    filters = Filters(start=today - timedelta(days=1), end=today)
    top = slowest_paths(filters=filters, limit=2)
    assert [(p["path"], p["n"], p["avg_ms"], p["max_ms"]) for p in top] == [
        ("/b", 1, 90.0, 90.0),
        ("/c", 1, 80.0, 80.0),
    ]
    everything = slowest_paths(filters=filters, limit=10)
    assert [p["path"] for p in everything] == ["/b", "/c", "/d", "/a"]
    assert everything[-1]["avg_ms"] == 32.5 and everything[-1]["max_ms"] == 100.0


def test_slowest_endpoints_group_paths_by_url_pattern(
    staff_client: Client, request_row: Callable[..., Any]
) -> None:
    now_hour = hour_floor(timezone.now())
    detail = "/intents/<str:intent_id>"
    request_row(time=now_hour - HOUR, path="/intents/T4-a", route=detail, duration_ms=300.0)
    requesthourly_rollup(until=now_hour)
    request_row(time=now_hour, path="/intents/T4-b", route=detail, duration_ms=100.0)
    request_row(time=now_hour, path="/intents/T4-c", route=detail, duration_ms=200.0)
    request_row(time=now_hour, path="/whoami", route="/whoami", duration_ms=1.0)
    response = staff_client.get("/dashboard/api/")
    table = response.context["tables"]["slowest"]
    assert table.columns[0] == "endpoint"
    # One row for the three intents, rolled and live: mean 200, max 300.
    assert table.rows[:2] == [[detail, 3, 200.0, 300.0], ["/whoami", 1, 1.0, 1.0]]
    assert "/intents/T4-b" not in [row[0] for row in table.rows]


def test_api_activity_owner_filter_reads_the_log_even_when_rolled(
    staff_client: Client, make_key: Callable[..., Any], request_row: Callable[..., Any]
) -> None:
    key = make_key("agent-o", owner="@ops").api_key
    now_hour = hour_floor(timezone.now())
    request_row(time=now_hour - HOUR, key_prefix=key.display_prefix, status=500)
    request_row(time=now_hour - HOUR, key_prefix="t4_other", status=200)
    requesthourly_rollup(until=now_hour)
    request_row(key_prefix=key.display_prefix, status=200)
    response = staff_client.get("/dashboard/api/", {"owner": "@ops"})
    assert (response.context["totals"]["n"], response.context["totals"]["c5xx"]) == (2, 1)
    assert "the request log itself is aggregated" in response.content.decode()


def test_api_activity_query_count_does_not_grow_with_rows(
    staff_client: Client, request_row: Callable[..., Any], django_assert_max_num_queries: Any
) -> None:
    _rolled_and_live(request_row)
    for _ in range(30):
        request_row(path="/many")
    with django_assert_max_num_queries(10):
        assert staff_client.get("/dashboard/api/").status_code == 200


def test_api_activity_escapes_paths(staff_client: Client, request_row: Callable[..., Any]):
    request_row(path="/x" + XSS)
    html = staff_client.get("/dashboard/api/").content.decode()
    assert XSS not in html
    assert "&lt;script&gt;alert(1)" in html


# --- overview ---------------------------------------------------------------------------


def test_overview_without_reports_says_so(
    staff_client: Client, intent_row: Callable[..., Any]
) -> None:
    intent_row(status="planned")
    response = staff_client.get("/dashboard/overview/")
    html = response.content.decode()
    assert "No reports uploaded yet." in html
    assert dict(response.context["tables"]["intent_status"].rows)["planned"] == 1


def test_a_team_lead_without_staff_rights_signs_in_on_the_plain_login_page(db) -> None:
    from django.contrib.auth.models import Group, User

    lead = User.objects.create_user("plain-lead", password="lead-pw-93817")
    lead.groups.add(Group.objects.get_or_create(name="team leads")[0])
    client = Client()
    response = client.post(
        "/accounts/login/?next=/dashboard/",
        {"username": "plain-lead", "password": "lead-pw-93817", "next": "/dashboard/"},
    )
    assert response.status_code == 302 and response["Location"] == "/dashboard/"
    assert client.get("/dashboard/").status_code == 200

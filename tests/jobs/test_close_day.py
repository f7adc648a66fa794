"""close_day: the ledger rolled into DailySpend per key, model and UTC day."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from io import StringIO

import pytest
import time_machine
from auditlog.models import LogEntry
from django.core.management import CommandError, call_command
from django.db.models import Sum

from llmgate.daily import llm_close_day
from llmgate.models import DailySpend, KeyDailyBudget, LLMUsage
from llmgate.tasks import close_day

pytestmark = pytest.mark.django_db
D1, D2, D3 = date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 3)


def usage(api_key, day, model="gpt-4o-mini", status="ok", cost="0.0100", prompt=100, done=50):
    return LLMUsage.objects.create(
        api_key=api_key, agent_id=api_key.agent_id, model=model, day=day,
        created_at=datetime.combine(day, datetime.min.time()).astimezone(),
        status=status, prompt_tokens=prompt, completion_tokens=done, cost=Decimal(cost),
        request_id=uuid.uuid4().hex,
    )  # fmt: skip


@pytest.fixture
def keys(make_key):
    return make_key("agent-a").api_key, make_key("agent-b").api_key


def spend(day):
    return {
        (row.agent_id, row.model): (row.calls, row.refusals, row.errors, row.prompt_tokens,
                                    row.completion_tokens, row.cost)
        for row in DailySpend.objects.filter(day=day)
    }  # fmt: skip


def test_close_day_rolls_usage_per_key_and_model(keys):
    a, b = keys
    usage(a, D1)
    usage(a, D1, cost="0.0250", prompt=300, done=10)
    usage(a, D1, status="refused", cost="0", prompt=0, done=0)
    usage(a, D1, model="gpt-4o", status="error", cost="0.0000", prompt=0, done=0)
    usage(b, D1, cost="1.5")
    usage(a, D2)  # another day: not part of D1
    with time_machine.travel("2026-03-02 00:00:30+00:00", tick=False):
        result = llm_close_day(day=D1)
    assert result.days == [D1] and result.rows == 3
    assert result.cost == Decimal("1.535")
    assert spend(D1) == {
        ("agent-a", "gpt-4o-mini"): (2, 1, 0, 400, 60, Decimal("0.035")),
        ("agent-a", "gpt-4o"): (1, 0, 1, 0, 0, Decimal("0")),
        ("agent-b", "gpt-4o-mini"): (1, 0, 0, 100, 50, Decimal("1.5")),
    }
    entry = LogEntry.objects.get(additional_data__job="close_day")
    assert entry.actor_email == "scheduler" and entry.object_pk == "2026-03-01"


def test_repeated_and_late_runs_change_nothing_more(keys):
    a, _ = keys
    usage(a, D1)
    with time_machine.travel("2026-03-02 00:00:30+00:00", tick=False):
        llm_close_day(day=D1)
        first = spend(D1)
        llm_close_day(day=D1)
    with time_machine.travel("2026-03-02 09:00:00+00:00", tick=False):
        assert llm_close_day().days == []  # nothing left to close
    assert spend(D1) == first
    assert DailySpend.objects.count() == 1


def test_missed_nights_are_caught_up_and_leftover_reservations_released(keys):
    a, _ = keys
    usage(a, D1)
    usage(a, D2, cost="0.5")
    KeyDailyBudget.objects.create(api_key=a, day=D2, spent=Decimal("0.5"),
                                  reserved=Decimal("0.2"))  # fmt: skip
    with time_machine.travel("2026-03-04 00:10:00+00:00", tick=False):
        result = llm_close_day()
    assert result.days == [D1, D2, D3]
    assert result.released_reservations == 1
    assert KeyDailyBudget.objects.get(day=D2).reserved == Decimal("0")
    assert spend(D2)[("agent-a", "gpt-4o-mini")][-1] == Decimal("0.5")
    assert spend(D3) == {}


def test_today_cannot_be_closed(keys):
    with time_machine.travel("2026-03-02 10:00:00+00:00", tick=False):
        with pytest.raises(ValueError):
            llm_close_day(day=D2)
        with pytest.raises(CommandError):
            call_command("close_day", "--date", "2026-03-02")
        with pytest.raises(CommandError):
            call_command("close_day", "--date", "yesterday")


def test_task_and_command(keys):
    a, _ = keys
    usage(a, D1)
    with time_machine.travel("2026-03-02 00:00:30+00:00", tick=False):
        assert close_day.apply(kwargs={"day": "2026-03-01"}).get()["rows"] == 1
        out = StringIO()
        call_command("close_day", "--date", "2026-03-01", stdout=out)
    assert out.getvalue().startswith("close_day: closed 1 day(s) (2026-03-01): 1 row(s)")


def test_an_agent_rename_mid_day_does_not_split_the_row(keys):
    a, _ = keys
    usage(a, D1)
    LLMUsage.objects.create(
        api_key=a, agent_id="agent-a-renamed", model="gpt-4o-mini", day=D1, status="ok",
        cost=Decimal("0.5"), request_id=uuid.uuid4().hex,
    )  # fmt: skip
    with time_machine.travel("2026-03-02 00:00:30+00:00", tick=False):
        assert llm_close_day(day=D1).rows == 1
    row = DailySpend.objects.get(day=D1)
    assert row.calls == 2 and row.cost == Decimal("0.51")


def test_a_call_straddling_midnight_is_rolled_up_by_the_next_run(keys):
    from llmgate.models import UsageStatus
    from llmgate.pricing import Price
    from llmgate.services import budget_reserve, llm_call_settle

    a, _ = keys
    price = Price("gpt-4o", Decimal("0.03"), Decimal("0.06"))
    with time_machine.travel("2026-03-01 23:59:58+00:00", tick=False):
        usage(a, D1)
        reservation = budget_reserve(
            api_key=a, day=D1, price=price, prompt_bound=1000, completion_bound=500
        )
    with time_machine.travel("2026-03-02 00:00:01+00:00", tick=False):
        assert llm_close_day().days == [D1]  # releases the reservation still in flight
    with time_machine.travel("2026-03-02 00:00:20+00:00", tick=False):
        llm_call_settle(reservation=reservation, status=UsageStatus.OK, cost=Decimal("0.05"))
    budget = KeyDailyBudget.objects.get(api_key=a, day=D1)
    assert (budget.reserved, budget.spent) == (Decimal("0"), Decimal("0.05"))  # not negative
    with time_machine.travel("2026-03-03 00:00:01+00:00", tick=False):
        assert llm_close_day().days == [D1, D2]  # D1 again: its ledger grew after closing
    rolled = DailySpend.objects.filter(day=D1).aggregate(cost=Sum("cost"), calls=Sum("calls"))
    ledger = LLMUsage.objects.filter(day=D1).aggregate(cost=Sum("cost"))
    assert rolled == {"cost": ledger["cost"], "calls": 2}
    with time_machine.travel("2026-03-03 09:00:00+00:00", tick=False):
        assert D1 not in llm_close_day().days  # settled: nothing more to roll up


def test_a_day_closed_by_hand_out_of_order_leaves_no_gap(keys):
    a, _ = keys
    usage(a, D1)
    usage(a, D2)
    with time_machine.travel("2026-03-03 08:00:00+00:00", tick=False):
        llm_close_day(day=D2)  # D1 is still open
        assert llm_close_day().days == [D1]
    assert spend(D1)[("agent-a", "gpt-4o-mini")][0] == 1

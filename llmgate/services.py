"""LLM gate writes: reserve a call's worst case, then settle it. Never call OpenAI here.

The invariant: for every (key, UTC day) row, ``spent + reserved <= daily_limit`` holds after
every reservation, because a reservation is one conditional UPDATE that the database
evaluates under the row lock. Settling only ever lowers ``reserved`` by what was reserved.
"""

from __future__ import annotations

import functools
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from apikeys.models import APIKey
from t4site.db import insert_row

from .errors import BudgetExceeded
from .models import COST_PLACES, ZERO, KeyDailyBudget, LLMUsage, UsageStatus
from .pricing import Price, cost_of

logger = logging.getLogger(__name__)


def _plain(amount: Decimal) -> str:
    """A Decimal as plain digits without trailing zeros (0.01, not 0.0100000000 or 1E-2)."""
    return format(amount.normalize(), "f")


@functools.cache
def _budget_statements(vendor: str) -> tuple[str, str]:
    """The two hot statements, as parameterised SQL.

    Written out rather than built with F()/Subquery/Round: compiling that ORM expression
    cost ~1.2 ms per call (measured), the SQL itself ~0.05 ms, and both run on every call.
    ROUND(…, COST_PLACES) is exact on PostgreSQL (numeric); on SQLite, which computes
    decimals as floats, it stops float noise from refusing a call that fits exactly.
    """
    # Only quoted identifiers from model metadata are interpolated; values are parameters.
    q = connection.ops.quote_name
    budget, keys = q(KeyDailyBudget._meta.db_table), q(APIKey._meta.db_table)
    spent, reserved, calls = q("spent"), q("reserved"), q("calls")
    key_day = f"{q('api_key_id')} = %s AND {q('day')} = %s"
    reserve = (
        f"UPDATE {budget} SET {reserved} = {reserved} + %s, {calls} = {calls} + 1 "  # noqa: S608
        f"WHERE {key_day} AND ROUND({spent} + {reserved} + %s, {COST_PLACES}) <= "
        f"(SELECT {q('daily_limit')} FROM {keys} WHERE {q('id')} = %s)"
    )
    # Never below zero: if the day was closed while the call was in flight, the closing
    # already released this reservation (see llmgate.daily).
    greatest = "MAX" if vendor == "sqlite" else "GREATEST"
    settle = (
        f"UPDATE {budget} SET "  # noqa: S608
        f"{reserved} = {greatest}(ROUND({reserved} - %s, {COST_PLACES}), 0), "
        f"{spent} = ROUND({spent} + %s, {COST_PLACES}) WHERE {key_day}"
    )
    return reserve, settle


@dataclass(frozen=True)
class Reservation:
    """A granted reservation: what settling needs to know."""

    api_key_id: int
    agent_id: str
    day: date
    price: Price
    prompt_bound: int
    completion_bound: int
    estimate: Decimal
    request_id: str
    streamed: bool
    started: float

    @property
    def model(self) -> str:
        return self.price.model

    def elapsed_ms(self) -> int:
        return round((time.perf_counter() - self.started) * 1000)


def new_request_id() -> str:
    return f"llm-{uuid.uuid4().hex}"


def budget_reserve(
    *,
    api_key: APIKey,
    day: date,
    price: Price,
    prompt_bound: int,
    completion_bound: int,
    streamed: bool = False,
) -> Reservation:
    """Reserve the worst-case cost of one call, or record the refusal and raise
    ``BudgetExceeded`` (402)."""
    estimate = cost_of(price, prompt_bound, completion_bound)
    request_id = new_request_id()
    if not _reserve(api_key_id=api_key.pk, day=day, estimate=estimate):
        remaining = llm_call_refuse(
            api_key=api_key,
            day=day,
            model=price.model,
            estimate=estimate,
            request_id=request_id,
            streamed=streamed,
        )
        raise BudgetExceeded(
            f"Daily LLM budget exceeded: this call may cost up to ${_plain(estimate)} "
            f"and ${_plain(remaining)} of ${api_key.daily_limit} remains today (UTC).",
            extra={
                "estimated_cost": _plain(estimate),
                "remaining_today": _plain(remaining),
                "daily_limit": str(api_key.daily_limit),
                "request_id": request_id,
            },
        )
    return Reservation(
        api_key_id=api_key.pk,
        agent_id=api_key.agent_id,
        day=day,
        price=price,
        prompt_bound=prompt_bound,
        completion_bound=completion_bound,
        estimate=estimate,
        request_id=request_id,
        streamed=streamed,
        started=time.perf_counter(),
    )


def _reserve(*, api_key_id: int, day: date, estimate: Decimal) -> bool:
    """One conditional UPDATE decides (see ``_budget_statements``): it adds the estimate only
    where ``round(spent + reserved + estimate) <= the key's daily_limit``, the limit read in
    the same statement (a limit lowered in the admin applies at once). The day's row is
    created idempotently when the first UPDATE finds none.

    Deliberately not wrapped in a transaction: each statement is atomic on its own, the
    decision is the single UPDATE, and an explicit BEGIN/COMMIT would only add round trips
    to every call.
    """
    reserve_sql, _ = _budget_statements(connection.vendor)
    params = [
        estimate,
        api_key_id,
        connection.ops.adapt_datefield_value(day),
        estimate,
        api_key_id,
    ]

    def attempt() -> int:
        with connection.cursor() as cursor:
            cursor.execute(reserve_sql, params)
            return cursor.rowcount

    if attempt():
        return True
    created = KeyDailyBudget.objects.bulk_create(
        [KeyDailyBudget(api_key_id=api_key_id, day=day)], ignore_conflicts=True
    )
    # ignore_conflicts returns the object even when the row already existed; the retry is
    # then refused again by the same condition, which is correct.
    return bool(created) and bool(attempt())


@transaction.atomic
def llm_call_refuse(
    *,
    api_key: APIKey,
    day: date,
    model: str,
    estimate: Decimal,
    request_id: str,
    streamed: bool = False,
) -> Decimal:
    """Count and record a refused call; returns what remains of today's budget."""
    rows = KeyDailyBudget.objects.filter(api_key_id=api_key.pk, day=day)
    rows.update(refusals=F("refusals") + 1)
    spent, reserved = rows.values_list("spent", "reserved").first() or (ZERO, ZERO)
    LLMUsage.objects.create(
        api_key_id=api_key.pk,
        agent_id=api_key.agent_id,
        model=model,
        day=day,
        status=UsageStatus.REFUSED,
        estimated_cost=estimate,
        streamed=streamed,
        error="daily budget exceeded",
        request_id=request_id,
    )
    return max(ZERO, api_key.daily_limit - spent - reserved)


@transaction.atomic
def llm_call_settle(
    *,
    reservation: Reservation,
    status: str,
    prompt_tokens: int = 0,
    completion_tokens: int = 0,
    cost: Decimal = ZERO,
    error: str = "",
    upstream_id: str = "",
) -> LLMUsage:
    """Replace the reservation by ``cost`` (zero releases it) and write the ledger row.

    The row of the reservation's day is settled, even after midnight: a call belongs to the
    day it was reserved on.
    """
    if cost > reservation.estimate:
        # The upstream reported more than the worst case allowed (it ignored max_tokens or
        # the overhead constants are too small). The money is spent, so it is recorded.
        logger.warning(
            "llm call %s cost %s above its reservation %s",
            reservation.request_id,
            cost,
            reservation.estimate,
        )
    _, settle_sql = _budget_statements(connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(
            settle_sql,
            [
                reservation.estimate,
                cost,
                reservation.api_key_id,
                connection.ops.adapt_datefield_value(reservation.day),
            ],
        )
    # One ledger row per call, inside the settle transaction: the budget and the ledger
    # never disagree. insert_row: see t4site.db (the ORM's INSERT compilation, per call).
    return insert_row(
        LLMUsage(
            api_key_id=reservation.api_key_id,
            agent_id=reservation.agent_id,
            model=reservation.model,
            day=reservation.day,
            created_at=timezone.now(),
            status=status,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            estimated_cost=reservation.estimate,
            cost=cost,
            latency_ms=reservation.elapsed_ms(),
            streamed=reservation.streamed,
            error=error[:4000],
            request_id=reservation.request_id,
            upstream_id=upstream_id[:128],
        )
    )

"""PostgreSQL tier: no number of concurrent calls spends past a key's daily limit.

The upstream bills every call at its full worst case, so exactly as many calls fit as the
limit allows whatever the interleaving of reservations and settlements.
"""

from __future__ import annotations

import json
import os
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import settings as django_settings
from django.db import connection

from llmgate import call_openai_chat
from llmgate.models import KeyDailyBudget, LLMUsage
from llmgate.pricing import prompt_token_bound
from tests.live import gunicorn
from tests.tiers import require_postgres

from .conftest import FAKE_OPENAI_KEY

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("seed_prices"),
]

CALLS = 50
FITS = 7
PROMPT = "x" * 473  # prompt bound 500 tokens
MAX_TOKENS = 1000
ESTIMATE = Decimal("0.075")  # 500 x 0.03/1K + 1000 x 0.06/1K with gpt-4
LIMIT = Decimal("0.55")  # 7 x 0.075 = 0.525 <= 0.55 < 0.600 = 8 x 0.075
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def worst_case_upstream(fake_openai: Any) -> Any:
    require_postgres()
    assert prompt_token_bound([{"role": "user", "content": PROMPT}]) == 500
    assert FITS * ESTIMATE <= LIMIT < (FITS + 1) * ESTIMATE
    fake_openai.config.usage = (500, MAX_TOKENS)
    fake_openai.config.sleep = 0.05  # keep calls in flight together
    return fake_openai


def _assert_exactly_fitting(api_key_id: int, outcomes: list[str], refused: str) -> None:
    assert outcomes.count("ok") == FITS, outcomes
    assert outcomes.count(refused) == CALLS - FITS, outcomes
    budget = KeyDailyBudget.objects.get(api_key_id=api_key_id)
    assert budget.spent == FITS * ESTIMATE <= LIMIT
    assert budget.reserved == 0
    assert (budget.calls, budget.refusals) == (FITS, CALLS - FITS)
    ledger = LLMUsage.objects.filter(api_key_id=api_key_id)
    assert ledger.filter(status="ok").count() == FITS
    assert ledger.filter(status="refused").count() == CALLS - FITS
    assert sum(row.cost for row in ledger) == budget.spent


def test_threads_never_overspend(worst_case_upstream: Any, make_key: Any) -> None:
    issued = make_key("race", daily_limit=LIMIT, rate_per_minute=10_000)
    barrier = threading.Barrier(CALLS)
    outcomes: list[str] = []

    def worker() -> None:
        try:
            barrier.wait()
            call_openai_chat(
                PROMPT, "gpt-4", agent_api_key=issued.secret, max_completion_tokens=MAX_TOKENS
            )
            outcomes.append("ok")
        except PermissionError:
            outcomes.append("refused")
        except Exception as exc:
            outcomes.append(repr(exc))
        finally:
            connection.close()  # each thread had its own connection

    threads = [threading.Thread(target=worker) for _ in range(CALLS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    _assert_exactly_fitting(issued.api_key.pk, outcomes, "refused")


def _database_url() -> str:
    db = connection.settings_dict
    auth = quote(db["USER"] or "postgres")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"])
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def t4_servers(
    transactional_db: None, worst_case_upstream: Any, admin_token: str
) -> Iterator[list[str]]:
    """Two gunicorn processes serving the test database, pointed at the fake upstream."""
    env = dict(os.environ)
    env.pop("T4_RATE_REDIS", None)
    env.update(
        DATABASE_URL=_database_url(),
        REDIS_URL=django_settings.REDIS_URL,
        T4_CACHE_PREFIX=django_settings.CACHE_KEY_PREFIX,
        DEBUG="1",
        SECRET_KEY=django_settings.SECRET_KEY,
        T4_API_KEY_HMAC_SECRET=django_settings.T4_API_KEY_HMAC_SECRET,
        T4_ADMIN_TOKEN=admin_token,
        OPENAI_API_KEY=FAKE_OPENAI_KEY,
        OPENAI_BASE_URL=worst_case_upstream.base_url,
        OPENAI_MAX_RETRIES="0",
        LOG_LEVEL="WARNING",
    )
    with ExitStack() as stack:
        yield [
            stack.enter_context(
                gunicorn(env, extra_args=["--worker-class", "gthread", "--threads", "8"])
            )
            for _ in range(2)
        ]


def _post(url: str, secret: str) -> str:
    body = json.dumps({"prompt": PROMPT, "model": "gpt-4", "max_tokens": MAX_TOKENS}).encode()
    request = urllib.request.Request(
        url + "/llm/chat",
        data=body,
        headers={"Content-Type": "application/json", "X-T4-API-KEY": secret},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return "ok" if response.status == 200 else str(response.status)
    except urllib.error.HTTPError as exc:
        return str(exc.code)


def test_two_server_processes_never_overspend(
    t4_servers: list[str], make_key: Callable[..., Any]
) -> None:
    issued = make_key("race-http", daily_limit=LIMIT, rate_per_minute=10_000)
    barrier = threading.Barrier(CALLS)
    outcomes: list[str] = []
    answered = [0, 0]

    def worker(index: int) -> None:
        barrier.wait()
        try:
            outcomes.append(_post(t4_servers[index % 2], issued.secret))
            answered[index % 2] += 1
        except Exception as exc:
            outcomes.append(repr(exc))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(CALLS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    _assert_exactly_fitting(issued.api_key.pk, outcomes, "402")
    assert answered == [CALLS // 2, CALLS // 2]  # both processes served their half

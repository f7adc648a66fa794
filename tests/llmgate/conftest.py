"""LLM gate fixtures: the fake OpenAI server (loopback only) and keys with a budget."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest

from apikeys.services import IssuedKey
from llmgate.fake_openai import FakeConfig, FakeOpenAI
from llmgate.models import ModelPrice
from llmgate.selectors import price_cache_clear

FAKE_OPENAI_KEY = "sk-fake-upstream-key"


@pytest.fixture(autouse=True)
def _fresh_price_cache() -> None:
    price_cache_clear()


@pytest.fixture(scope="session")
def fake_server() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI(FakeConfig(api_key=FAKE_OPENAI_KEY)).start()
    yield server
    server.stop()


@pytest.fixture
def fake_openai(fake_server: FakeOpenAI, settings: Any) -> FakeOpenAI:
    """The fake server, reset, with the gate's settings pointing at it."""
    fake_server.config.__init__(api_key=FAKE_OPENAI_KEY)  # type: ignore[misc]
    settings.OPENAI_API_KEY = FAKE_OPENAI_KEY
    settings.OPENAI_BASE_URL = fake_server.base_url
    settings.OPENAI_MAX_RETRIES = 0
    settings.OPENAI_TIMEOUT_SECONDS = 5
    return fake_server


@pytest.fixture
def seed_prices(db: None) -> None:
    """Transactional tests flush the database, data migrations included: seed again."""
    seed = importlib.import_module("llmgate.migrations.0002_seed_prices")
    for model, prompt, completion in seed.SEED_PRICES:
        ModelPrice.objects.get_or_create(
            model=model, defaults={"prompt_per_1k": prompt, "completion_per_1k": completion}
        )


@pytest.fixture
def llm_key(make_key: Callable[..., IssuedKey]) -> IssuedKey:
    return make_key("agent-llm", daily_limit=Decimal("10.00"))

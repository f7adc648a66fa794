"""The LLM gate: priced models, atomic per-key daily budgets and a usage ledger.

``from llmgate import call_openai_chat`` works without importing any model at package
import time (Django loads this package before the app registry is ready).
"""

from __future__ import annotations

from typing import Any

__all__ = ["call_openai_chat"]


def __getattr__(name: str) -> Any:
    if name == "call_openai_chat":
        from .python_api import call_openai_chat

        return call_openai_chat
    raise AttributeError(f"module 'llmgate' has no attribute {name!r}")

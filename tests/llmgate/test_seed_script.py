"""The seed's usage example as a plain script: no Django boilerplate, no pytest."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from .conftest import FAKE_OPENAI_KEY

ROOT = Path(__file__).resolve().parents[2]

SEED_EXAMPLE = """
import os
from llmgate import call_openai_chat

result = call_openai_chat(
    prompt="Explain this function",
    model="gpt-4o-mini",
    agent_api_key=os.environ["T4_API_KEY"],
    agent_id="my-agent"
)

print(result["text"])  # LLM response
print(f"Tokens: {result['prompt_tokens']} prompt + {result['completion_tokens']} completion")
print(f"Cost: ${result['cost']:.4f}")
"""


def test_seed_example_as_a_script(fake_server: Any, tmp_path: Path) -> None:
    fake_server.config.__init__(api_key=FAKE_OPENAI_KEY)  # type: ignore[misc]
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "T4_RATE_REDIS", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(
        T4_VAR_DIR=str(tmp_path),
        DEBUG="1",
        OPENAI_API_KEY=FAKE_OPENAI_KEY,
        OPENAI_BASE_URL=fake_server.base_url,
        OPENAI_MAX_RETRIES="0",
        PYTHONPATH=str(ROOT),
        LOG_LEVEL="WARNING",
    )
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput"], cwd=ROOT, env=env, check=True,
                   capture_output=True)  # fmt: skip
    env["T4_API_KEY"] = subprocess.run(
        [*manage, "create_api_key", "--agent_id", "my-agent"],
        cwd=ROOT, env=env, check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    script = tmp_path / "example.py"
    script.write_text(SEED_EXAMPLE)
    out = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "Echo: Explain this function",
        "Tokens: 9 prompt + 4 completion",
        "Cost: $0.0001",
    ]

"""Redis tier: two separate server processes sharing Redis allow the key's limit, not twice it."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.live import gunicorn, manage, server_env
from tests.tiers import require_redis_server

LIMIT = 30


def get_status(url: str, key: str) -> tuple[int, dict[str, str]]:
    request = urllib.request.Request(url, headers={"X-T4-API-KEY": key})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers)


@pytest.mark.services
def test_two_processes_share_one_limit(tmp_path):
    redis_url = require_redis_server()
    env = server_env(tmp_path, REDIS_URL=redis_url, T4_CACHE_PREFIX=f"rl-{uuid.uuid4().hex}")
    manage(env, "migrate", "--noinput")
    key = manage(env, "create_api_key", "--agent_id", "shared", "--rate_per_minute",
                 str(LIMIT)).strip()  # fmt: skip
    with gunicorn(env) as first, gunicorn(env) as second:
        # Start at the beginning of a fresh window so the burst cannot straddle two windows.
        status, headers = get_status(f"{first}/whoami", key)
        assert status == 200
        if int(headers["X-RateLimit-Reset"]) < 20:
            time.sleep(int(headers["X-RateLimit-Reset"]) + 1)
            status, headers = get_status(f"{first}/whoami", key)
        used = LIMIT - int(headers["X-RateLimit-Remaining"])
        urls = [f"{(first, second)[i % 2]}/whoami" for i in range(3 * LIMIT)]
        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(lambda url: get_status(url, key)[0], urls))
    assert results.count(200) == LIMIT - used
    assert results.count(429) == len(urls) - (LIMIT - used)

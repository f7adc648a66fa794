#!/usr/bin/env python
"""Run the suite against real PostgreSQL and Redis when they answer; say why when not.

`make test` runs this after the embedded tier. It never fails because a service is absent:
it prints a visible SKIPPED line instead. When both answer, the whole suite runs again with
DATABASE_URL and REDIS_URL set, which enables the PostgreSQL concurrency tests and the Redis
rate-limit and Celery tests; a failing test fails the command.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys

POSTGRES = ("127.0.0.1", 5432)
REDIS = ("127.0.0.1", 6379)


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def main() -> int:
    missing = [
        f"{name} ({host}:{port})"
        for name, (host, port) in (("PostgreSQL", POSTGRES), ("Redis", REDIS))
        if not reachable(host, port)
    ]
    if missing:
        print(
            f"SKIPPED: PostgreSQL + Redis tier — not reachable: {', '.join(missing)}.",
            flush=True,
        )
        return 0
    env = dict(os.environ)
    user = os.environ.get("T4_TEST_PG_USER", "postgres")
    env.setdefault("DATABASE_URL", f"postgres://{user}@127.0.0.1:5432/test")
    env.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
    env.setdefault("T4_CACHE_PREFIX", f"t4test-{os.getpid()}")
    # Tests call tasks directly; the Celery test sends to a real worker with send_task.
    env.setdefault("CELERY_TASK_ALWAYS_EAGER", "1")
    print("PostgreSQL + Redis tier: running the suite on", env["DATABASE_URL"], flush=True)
    command = [sys.executable, "-m", "pytest", *sys.argv[1:]]
    return subprocess.call(command, env=env)


if __name__ == "__main__":
    raise SystemExit(main())

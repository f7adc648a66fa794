"""Start real server processes (gunicorn) for black-box tests and benchmarks."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(var_dir: Path, **extra: str) -> dict[str, str]:
    """A production-like environment (DEBUG off) on an SQLite file in ``var_dir``."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "T4_RATE_REDIS", "CELERY_BROKER_URL"}
        and not key.startswith("PYTEST")
        and key != "DJANGO_SETTINGS_MODULE"
    }
    env.update(
        {
            "DEBUG": "0",
            "SECRET_KEY": "live-test-secret-key-0f9e8d7c6b5a4",
            "T4_ADMIN_TOKEN": "dev-admin-token",
            "T4_VAR_DIR": str(var_dir),
            "T4_SQLITE_PATH": str(var_dir / "t4.sqlite3"),
            "SESSION_COOKIE_SECURE": "0",
            "CSRF_COOKIE_SECURE": "0",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args[:1])} failed: {result.stderr[-2000:]}")
    return result.stdout


def wait_healthy(base_url: str, process: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{base_url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server at {base_url} did not become healthy")


@contextmanager
def gunicorn(
    env: dict[str, str],
    *,
    workers: int = 1,
    log_path: Path | None = None,
    extra_args: Sequence[str] = (),
) -> Iterator[str]:
    """Run ``gunicorn t4site.wsgi`` on a free loopback port; yields its base URL.

    ``extra_args`` go to gunicorn as they are (``-c gunicorn.conf.py``, a worker class, ...).
    """
    port = free_port()
    log = open(log_path or os.devnull, "w")  # noqa: SIM115 (closed below)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "t4site.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--log-level",
            "warning",
            *extra_args,
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base_url, process)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()

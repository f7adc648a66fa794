"""Running ruff as a subprocess, failing closed on every kind of trouble.

Ruff is found, in order: the ``T4_RUFF`` environment variable (a command line, for tests and
unusual installs; if it names a program that does not exist, ruff counts as missing), ``ruff``
on ``PATH``, the ``ruff`` script beside the running interpreter, then ``python -m ruff``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from t4client._http import T4Error


class RuffError(T4Error):
    """Ruff is missing, crashed or printed something we cannot read (fail closed)."""

    def __init__(self, message: str, *, code: str = "ruff_failed") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Finding:
    file: str  # absolute path as ruff printed it
    line: int
    column: int
    code: str
    message: str
    noqa_row: int | None


def ruff_command() -> list[str]:
    override = os.environ.get("T4_RUFF")
    if override is not None:
        cmd = shlex.split(override)
        if not cmd or not (shutil.which(cmd[0]) or Path(cmd[0]).is_file()):
            raise RuffError(f"ruff not found: T4_RUFF={override!r}", code="ruff_missing")
        return cmd
    found = shutil.which("ruff")
    if found:
        return [found]
    beside = Path(sys.executable).parent / ("ruff.exe" if os.name == "nt" else "ruff")
    if beside.is_file() and os.access(beside, os.X_OK):
        return [str(beside)]
    if importlib.util.find_spec("ruff") is not None:
        return [sys.executable, "-m", "ruff"]
    raise RuffError(
        "ruff not found (install ruff, put it on PATH or set T4_RUFF)", code="ruff_missing"
    )


def _check_args(codes: Iterable[str] | None, *, ignore_noqa: bool, no_cache: bool) -> list[str]:
    args = ["check", "--output-format", "json", "--no-fix", "--exit-zero"]
    codes = list(codes or [])
    if codes:
        args += ["--select", ",".join(codes)]
    if ignore_noqa:
        args.append("--ignore-noqa")
    if no_cache:
        args.append("--no-cache")
    return args


class RuffRun:
    """One ``ruff check`` started in the background, so callers can work while it runs."""

    def __init__(
        self,
        paths: Sequence[str],
        *,
        codes: Iterable[str] | None,
        cwd: str | os.PathLike[str],
        ignore_noqa: bool = False,
        no_cache: bool = False,
        show_files: bool = False,
    ) -> None:
        cmd = ruff_command()
        args = _check_args(codes, ignore_noqa=ignore_noqa, no_cache=no_cache)
        if show_files:
            # Discovery only (no linting): the exact file list ruff lints, for stale annotations.
            args = ["check", "--show-files", *args[5:]]
        self.cmd = [*cmd, *args, "--", *paths]
        try:
            self.proc = subprocess.Popen(  # noqa: S603 (fixed argv, no shell)
                self.cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
        except OSError as exc:
            raise RuffError(
                f"cannot start ruff ({self.cmd[0]}): {exc}", code="ruff_missing"
            ) from exc

    def _communicate(self) -> bytes:
        out, err = self.proc.communicate()
        if self.proc.returncode != 0:
            text = err.decode("utf-8", "replace").strip() or out.decode("utf-8", "replace")[:500]
            raise RuffError(
                f"ruff exited with status {self.proc.returncode}: {text[:1000]}",
                code="ruff_crashed",
            )
        return out

    def files(self) -> list[str]:
        out = self._communicate()
        return [line for line in out.decode("utf-8", "replace").splitlines() if line.strip()]

    def findings(self) -> list[Finding]:
        return parse_findings(self._communicate())


def parse_findings(out: bytes) -> list[Finding]:
    try:
        data = json.loads(out.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise RuffError(f"unparseable ruff output: {exc}", code="ruff_output") from exc
    if not isinstance(data, list):
        raise RuffError("unparseable ruff output: expected a JSON list", code="ruff_output")
    findings = []
    try:
        for item in data:
            loc = item["location"]
            findings.append(
                Finding(
                    file=str(item["filename"]),
                    line=int(loc["row"]),
                    column=int(loc.get("column") or 0),
                    code=str(item.get("code") or "invalid-syntax"),
                    message=str(item.get("message") or ""),
                    noqa_row=item.get("noqa_row"),
                )
            )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise RuffError(
            f"unparseable ruff output: bad finding ({exc!r})", code="ruff_output"
        ) from exc
    return findings


def run_ruff(paths: Sequence[str], **kwargs: object) -> list[Finding]:
    return RuffRun(paths, **kwargs).findings()  # type: ignore[arg-type]

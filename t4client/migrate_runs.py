"""Applying and reverting a ``python -m t4client migrate`` run.

The plan comes from :func:`t4client.migrate.plan_migration`; this module writes it. Writes are
atomic (temporary file + ``os.replace``), and ``--apply`` first copies every original to
``.t4/runs/<RUN_ID>/files/`` with a ``manifest.json``; ``--revert RUN_ID`` puts the originals
back byte for byte.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import secrets
import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

from t4client._http import T4Error
from t4client.migrate import Plan
from t4client.paths import find_root


class MigrationError(T4Error):
    def __init__(self, message: str, *, code: str = "migration_failed") -> None:
        super().__init__(message)
        self.code = code


# --- applying and reverting --------------------------------------------------------------


def atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".t4tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if path.exists():
            shutil.copymode(path, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def new_run_id() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def apply_plan(plan: Plan, *, run_id: str | None = None) -> tuple[str, Path]:
    """Back up every original, then rewrite atomically. Returns (run id, run directory)."""
    run_id = run_id or new_run_id()
    run_dir = plan.root / ".t4" / "runs" / run_id
    (run_dir / "files").mkdir(parents=True, exist_ok=False)
    manifest: dict[str, Any] = {
        "run_id": run_id,
        "created_at": dt.datetime.now(dt.UTC).isoformat(),
        "root": str(plan.root),
        "status": "applying",
        "files": [
            {
                "path": fp.rel,
                "backup": f"files/{fp.rel}",
                "sha256_before": _sha(fp.original),
                "sha256_after": _sha(fp.updated),
                "conversions": len(fp.conversions),
            }
            for fp in plan.files
        ],
        "conversions": [asdict(c) for c in plan.conversions],
    }
    for fp in plan.files:
        backup = run_dir / "files" / fp.rel
        backup.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(backup, fp.original)
    manifest_path = run_dir / "manifest.json"
    atomic_write(manifest_path, json.dumps(manifest, indent=2).encode())
    # All or nothing: every file is checked before the first is rewritten, and a failure
    # while rewriting (a file changed meanwhile, a write refused) puts back the ones done.
    changed = [fp.rel for fp in plan.files if fp.path.read_bytes() != fp.original]
    if changed:
        _finish(manifest, manifest_path, "abandoned")
        raise MigrationError(
            f"changed since the plan was made: {', '.join(changed[:5])}; nothing was rewritten "
            f"(run {run_id})",
            code="concurrent_change",
        )
    written: list[Any] = []
    try:
        for fp in plan.files:
            if fp.path.read_bytes() != fp.original:
                raise MigrationError(
                    f"{fp.rel} changed while migrating; every file was put back (run {run_id})",
                    code="concurrent_change",
                )
            atomic_write(fp.path, fp.updated)
            written.append(fp)
    except BaseException:
        for fp in reversed(written):
            atomic_write(fp.path, fp.original)
        _finish(manifest, manifest_path, "rolled_back")
        raise
    _finish(manifest, manifest_path, "applied")
    return run_id, run_dir


def _finish(manifest: dict[str, Any], path: Path, status: str) -> None:
    manifest["status"] = status
    atomic_write(path, json.dumps(manifest, indent=2).encode())


def revert_run(run_id: str, *, root: Path | None = None, force: bool = False) -> dict[str, Any]:
    root = (root or find_root()).resolve()
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", run_id) or ".." in run_id:
        raise MigrationError(f"invalid run id {run_id!r}", code="bad_run_id")
    run_dir = root / ".t4" / "runs" / run_id
    try:
        manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise MigrationError(
            f"no readable manifest for run {run_id} under {run_dir}: {exc}", code="run_not_found"
        ) from exc
    # Everything is checked before anything is written: a revert restores all of the run's
    # files or none of them, and never writes outside the repository whatever the manifest
    # says (it is a file anyone with write access to .t4/ could have edited).
    plan = [_revert_entry(entry, root, run_dir) for entry in _manifest_files(manifest)]
    restored, already, conflicts = [], [], []
    for rel, target, original, sha_after in plan:
        current = target.read_bytes() if target.exists() else None
        if current == original:
            already.append(rel)
            continue
        if not force and (current is None or _sha(current) != sha_after):
            why = "deleted" if current is None else "changed"
            conflicts.append(
                {"file": rel, "reason": f"{why} since the migration (use --force to overwrite)"}
            )
            continue
        atomic_write(target, original)
        restored.append(rel)
    manifest["status"] = "reverted" if not conflicts else "partially_reverted"
    manifest["reverted_at"] = dt.datetime.now(dt.UTC).isoformat()
    atomic_write(run_dir / "manifest.json", json.dumps(manifest, indent=2).encode())
    return {
        "mode": "revert",
        "run_id": run_id,
        "restored": restored,
        "already_original": already,
        "conflicts": conflicts,
    }


def _manifest_files(manifest: Any) -> list[dict[str, Any]]:
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, list) or not all(isinstance(e, dict) for e in files):
        raise MigrationError("the run's manifest has no list of files", code="bad_manifest")
    return files


def _revert_entry(entry: dict[str, Any], root: Path, run_dir: Path) -> tuple[str, Path, bytes, str]:
    """``(path, target, original bytes, sha256 after)`` of one manifest entry, checked."""
    rel, backup = entry.get("path"), entry.get("backup")
    before, after = entry.get("sha256_before"), entry.get("sha256_after")
    if not all(isinstance(v, str) and v for v in (rel, backup, before, after)):
        raise MigrationError(f"bad manifest entry {entry!r}", code="bad_manifest")
    target = (root / rel).resolve()  # type: ignore[operator]
    source = (run_dir / backup).resolve()  # type: ignore[operator]
    if not target.is_relative_to(root) or target.is_relative_to(root / ".t4"):
        raise MigrationError(
            f"manifest names a file outside the repository: {rel}", code="bad_manifest"
        )
    if not source.is_relative_to(run_dir.resolve()):
        raise MigrationError(
            f"manifest names a backup outside its run: {backup}", code="bad_manifest"
        )
    try:
        original = source.read_bytes()
    except OSError as exc:
        raise MigrationError(
            f"backup of {rel} is unreadable: {exc}", code="backup_damaged"
        ) from exc
    if _sha(original) != before:
        raise MigrationError(f"backup of {rel} is damaged", code="backup_damaged")
    return rel, target, original, after  # type: ignore[return-value]


__all__ = ["apply_plan", "revert_run"]

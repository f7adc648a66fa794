"""Repository root detection and path validation (fail closed on bad paths)."""

from __future__ import annotations

import os
from pathlib import Path

from t4client import _launch
from t4client.errors import PathError

__all__ = ["PathError", "find_root", "relpath", "resolve_paths"]


def find_root(start: str | os.PathLike[str] | None = None) -> Path:
    """The nearest ancestor holding ``.git`` (the governed repository), else the start dir."""
    return Path(_launch.find_root(os.fspath(start) if start else None))


def resolve_paths(paths: list[str], root: Path) -> list[Path]:
    """Absolute, existing paths inside ``root``; anything else raises ``PathError``."""
    resolved, problem = _launch.resolve_targets(paths, os.fspath(root))
    if problem is not None:
        code, message = problem
        raise PathError(message, code=code)
    return [Path(p) for p in resolved]


def relpath(path: str | os.PathLike[str], root: Path) -> str:
    p = Path(path)
    try:
        return p.resolve().relative_to(root).as_posix()
    except ValueError:
        return p.as_posix()

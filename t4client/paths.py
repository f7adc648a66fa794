"""Repository root detection and path validation (fail closed on bad paths)."""

from __future__ import annotations

import os
from pathlib import Path

from t4client._http import T4Error


class PathError(T4Error):
    def __init__(self, message: str, *, code: str = "bad_path") -> None:
        super().__init__(message)
        self.code = code


def find_root(start: str | os.PathLike[str] | None = None) -> Path:
    """The nearest ancestor holding ``.git`` (the governed repository), else the start dir."""
    here = Path(start or os.getcwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / ".git").exists():
            return candidate
    return here


def resolve_paths(paths: list[str], root: Path) -> list[Path]:
    """Absolute, existing paths inside ``root``; anything else raises ``PathError``."""
    resolved = []
    for raw in paths:
        p = Path(raw)
        if not p.is_absolute():
            p = Path(os.getcwd()) / p
        if not p.exists():
            raise PathError(f"path does not exist: {raw}", code="path_not_found")
        real = p.resolve()
        if real != root and root not in real.parents:
            raise PathError(
                f"path lies outside the repository {root}: {raw}", code="path_outside_repository"
            )
        resolved.append(real)
    return resolved


def relpath(path: str | os.PathLike[str], root: Path) -> str:
    p = Path(path)
    try:
        return p.resolve().relative_to(root).as_posix()
    except ValueError:
        return p.as_posix()

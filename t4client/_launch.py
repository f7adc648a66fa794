"""Starting ruff early: the head start of ``python -m t4client check``.

``check`` spends most of its wall time waiting for ruff, so ``python -m t4client`` calls
:func:`prestart` before importing anything else: it reads the few options that shape ruff's
command lines straight from ``argv``, resolves ruff, the repository root and the paths with
``os`` alone, and spawns the lint and the file listing while Python goes on importing,
parsing the command line for real and reading files.

The head start never decides anything. The normal code path builds its command lines exactly
as it always does and *claims* a started process only when the command line and the working
folder are identical (:func:`claim`); whatever is not claimed is killed (:func:`discard`). A
misread option therefore costs a wasted ruff run, never a different result. Anything unusual
(``T4_RUFF``, an unknown or abbreviated option, a bad path, no ``os.posix_spawn``) simply
skips the head start.

This module imports only ``os`` and ``sys``, which the interpreter has loaded already.
"""

from __future__ import annotations

import os
import sys

DEFAULT_CODES = (
    "F401", "F821", "B008", "B904", "B018", "SIM102", "SIM105", "E701", "E702", "RUF006",
    "RUF012",
)  # fmt: skip

# The findings are read from ruff's concise output (``path:row:col: CODE message``), which
# ruff prints several times faster than JSON (on the benchmark: 9 ms against 25-30 ms for the
# same 5,000 findings) and which parses faster too. ``--unfixable ALL`` drops the ``[*]``
# fix markers, ``--quiet`` the closing "Found N errors." line; neither changes which findings
# ruff reports (``--no-fix``: nothing is ever rewritten). Whatever the concise reader is not
# sure of makes the validator ask again for JSON Lines (``output="json-lines"``), which
# carries the same fields as ``--output-format json``; see t4client.ruffrun.
# t4client's own state lives under .t4/ (migrate keeps its backups there, under .t4/runs/):
# never lint, list or migrate it. --extend-exclude adds to the repository's own excludes.
STATE_EXCLUDE = ("--extend-exclude", ".t4")
_LINT_FLAGS = ("check", "--no-fix", "--unfixable", "ALL", "--exit-zero", *STATE_EXCLUDE)
_OUTPUT_FLAGS = {
    "concise": ("--output-format", "concise", "--quiet"),
    "json-lines": ("--output-format", "json-lines"),
}


def lint_args(
    codes: tuple[str, ...] | list[str],
    *,
    ignore_noqa: bool,
    no_cache: bool,
    output: str = "concise",
) -> list[str]:
    args = [*_LINT_FLAGS, *_OUTPUT_FLAGS[output]]
    if codes:
        args += ["--select", ",".join(codes)]
    if ignore_noqa:
        args.append("--ignore-noqa")
    if no_cache:
        args.append("--no-cache")
    return args


def ruff_env(*, listing: bool = False) -> dict[str, str]:
    """The environment ruff runs in: ours, with colours off whatever the CI forces.

    ``listing``: for the ``--show-files`` run, which ``check`` starts beside the lint. It gets
    one worker thread: ruff's idle workers keep spinning for work and take CPU from the
    lint's.
    On the benchmark the listing then used 9 ms of CPU instead of 10, ended no later, and
    ``check`` ended 5-6 ms sooner.
    """
    env = dict(os.environ)
    env["NO_COLOR"] = "1"  # ruff honours it over CLICOLOR_FORCE and FORCE_COLOR
    if listing:
        env["RAYON_NUM_THREADS"] = "1"
    return env


def listing_args(codes: tuple[str, ...] | list[str]) -> list[str]:
    """Discovery only (no linting): the exact file list ruff lints, for stale annotations."""
    args = ["check", "--show-files", *STATE_EXCLUDE]
    if codes:
        args += ["--select", ",".join(codes)]
    return args


def which(name: str) -> str | None:
    """``shutil.which(name)`` for a bare program name, without importing shutil."""
    if os.name == "nt":  # PATHEXT and friends: leave it to the real thing
        import shutil

        return shutil.which(name)
    path = os.environ.get("PATH")
    if path is None:
        path = os.defpath
    seen = set()
    for folder in path.split(os.pathsep):
        if folder in seen:
            continue
        seen.add(folder)
        candidate = os.path.join(folder, name)
        if (
            os.path.exists(candidate)
            and os.access(candidate, os.F_OK | os.X_OK)
            and not os.path.isdir(candidate)
        ):
            return candidate
    return None


def default_ruff() -> list[str] | None:
    """Ruff on ``PATH`` or beside the interpreter (``T4_RUFF`` and ``-m ruff``: ``None``)."""
    found = which("ruff")
    if found:
        return [found]
    beside = os.path.join(
        os.path.dirname(sys.executable), "ruff.exe" if os.name == "nt" else "ruff"
    )
    if os.path.isfile(beside) and os.access(beside, os.X_OK):
        return [beside]
    return None


def find_root(start: str | None = None) -> str:
    """The nearest ancestor holding ``.git`` (the governed repository), else the start dir."""
    here = os.path.realpath(start or os.getcwd())
    candidate = here
    while True:
        if os.path.exists(os.path.join(candidate, ".git")):
            return candidate
        parent = os.path.dirname(candidate)
        if parent == candidate:
            return here
        candidate = parent


def resolve_targets(paths: list[str], root: str) -> tuple[list[str], tuple[str, str] | None]:
    """Real absolute paths inside ``root``, or the first problem as ``(code, message)``."""
    inside = root if root.endswith(os.sep) else root + os.sep
    resolved = []
    for raw in paths:
        p = os.fspath(raw)
        if not os.path.isabs(p):
            p = os.path.join(os.getcwd(), p)
        if not os.path.exists(p):
            return [], ("path_not_found", f"path does not exist: {raw}")
        real = os.path.realpath(p)
        if real != root and not real.startswith(inside):
            return [], (
                "path_outside_repository",
                f"path lies outside the repository {root}: {raw}",
            )
        resolved.append(real)
    return resolved, None


def posix_relative(path: str, root: str) -> str:
    """``path`` (inside ``root``, both real) relative to ``root`` with ``/``; ``.`` for root."""
    if path == root:
        return "."
    rel = path[len(root) :].lstrip(os.sep) if path.startswith(root) else os.path.relpath(path, root)
    return rel.replace(os.sep, "/") if os.sep != "/" else rel


# --- the spawned processes ---------------------------------------------------------------


class Spawned:
    """The part of ``subprocess.Popen`` that ``RuffRun`` uses, over ``os.posix_spawn``.

    Stdout and stderr are pipes; stdin is inherited, as with ``Popen``'s defaults.
    """

    def __init__(self, cmd: list[str], cwd: str, env: dict[str, str]) -> None:
        self.args = cmd
        self.cwd = cwd
        self.returncode: int | None = None
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        here = os.open(".", os.O_RDONLY)
        try:
            # posix_spawn has no cwd argument; nothing else runs yet (no threads), and the
            # old directory is restored through a descriptor, not a name.
            os.chdir(cwd)
            try:
                self.pid = os.posix_spawn(
                    cmd[0],
                    cmd,
                    env,
                    file_actions=[
                        (os.POSIX_SPAWN_DUP2, out_w, 1),
                        (os.POSIX_SPAWN_DUP2, err_w, 2),
                    ],
                    setsigdef=_default_signals(),
                )
            finally:
                os.fchdir(here)
        except BaseException:
            for fd in (out_r, out_w, err_r, err_w):
                os.close(fd)
            raise
        finally:
            os.close(here)
        os.close(out_w)
        os.close(err_w)
        self._fds = [out_r, err_r]

    def take_fds(self) -> list[int]:
        """The read ends of stdout and stderr; the caller reads and closes them."""
        fds, self._fds = self._fds, []
        return fds

    def communicate(self) -> tuple[bytes, bytes]:
        import select

        chunks: dict[int, list[bytes]] = {fd: [] for fd in self._fds}
        open_fds = list(self._fds)
        while open_fds:
            ready, _, _ = select.select(open_fds, [], [])
            for fd in ready:
                data = os.read(fd, 1 << 20)
                if data:
                    chunks[fd].append(data)
                else:
                    open_fds.remove(fd)
                    os.close(fd)
        self._fds = []
        self.wait()
        out_fd, err_fd = chunks
        return b"".join(chunks[out_fd]), b"".join(chunks[err_fd])

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self) -> int:
        if self.returncode is None:
            _, status = os.waitpid(self.pid, 0)
            self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def kill(self) -> None:
        # Until we reap it (which sets returncode), the child's pid cannot be reused, and
        # signalling a zombie is harmless.
        if self.returncode is None:
            os.kill(self.pid, 9)  # SIGKILL

    def close(self) -> None:
        for fd in self._fds:
            os.close(fd)
        self._fds = []


def _default_signals() -> tuple[int, ...]:
    # Popen(restore_signals=True) resets the signals Python ignores; do the same.
    import _signal

    return tuple(
        getattr(_signal, name)
        for name in ("SIGPIPE", "SIGXFZ", "SIGXFSZ")
        if hasattr(_signal, name)
    )


_started: list[Spawned] = []


def _parse_check_argv(argv: list[str]) -> dict[str, object] | None:
    """The options of ``check`` that shape ruff's command lines; ``None`` if in any doubt."""
    flags = {
        "--json-only", "--json", "--strict", "--upload", "--sync", "--ignore-noqa",
        "--no-registry", "--no-cache",
    }  # fmt: skip
    valued = {"--waivers", "--report", "--root", "--repository", "--commit"}
    opts: dict[str, object] = {"paths": ["."], "codes": None}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in flags:
            opts[arg] = True
            i += 1
        elif arg in valued:
            if i + 1 >= len(argv) or argv[i + 1].startswith("-"):
                return None
            opts[arg] = argv[i + 1]
            i += 2
        elif arg in ("--paths", "--codes"):
            j = i + 1
            while j < len(argv) and not argv[j].startswith("-"):
                j += 1
            if j == i + 1:
                return None
            opts[arg[2:]] = argv[i + 1 : j]
            i = j
        else:  # --help, --opt=value, abbreviations, stray words: let argparse handle it
            return None
    return opts


def prestart(argv: list[str]) -> None:
    """Spawn the lint and the listing ``check`` will ask for (best effort, never raises)."""
    try:
        if not hasattr(os, "posix_spawn") or "T4_RUFF" in os.environ:
            return
        opts = _parse_check_argv(argv)
        if opts is None:
            return
        ruff = default_ruff()
        if ruff is None:
            return
        root_opt = opts.get("--root")
        root = os.path.realpath(root_opt) if isinstance(root_opt, str) else find_root()
        targets, problem = resolve_targets(list(opts["paths"]), root)  # type: ignore[arg-type]
        if problem is not None:
            return
        raw_codes = opts["codes"]
        if raw_codes:
            codes = tuple(
                c.strip().upper()
                for v in raw_codes  # type: ignore[attr-defined]
                for c in v.replace(",", " ").split()
                if c.strip()
            )
        else:
            codes = DEFAULT_CODES
        lint = lint_args(
            codes,
            ignore_noqa=bool(opts.get("--ignore-noqa")),
            no_cache=bool(opts.get("--no-cache")),
        )
        _started.append(Spawned([*ruff, *lint, "--", *targets], root, ruff_env()))
        listing = [*ruff, *listing_args(codes), "--", *targets]
        _started.append(Spawned(listing, root, ruff_env(listing=True)))
    except Exception:  # a head start must never break the command
        discard()


def claim(cmd: list[str], cwd: str) -> Spawned | None:
    """The started process running exactly ``cmd`` in ``cwd``, handed over once."""
    for i, proc in enumerate(_started):
        if proc.args == cmd and proc.cwd == cwd:
            return _started.pop(i)
    return None


def discard() -> None:
    """Kill and reap every started process nobody claimed."""
    while _started:
        proc = _started.pop()
        proc.kill()
        proc.close()
        proc.wait()

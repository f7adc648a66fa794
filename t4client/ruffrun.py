"""Running ruff as a subprocess, failing closed on every kind of trouble.

Ruff is found, in order: the ``T4_RUFF`` environment variable (a command line, for tests and
unusual installs; if it names a program that does not exist, ruff counts as missing), ``ruff``
on ``PATH``, the ``ruff`` script beside the running interpreter, then ``python -m ruff``.

The lint is read from ruff's concise output (see ``t4client._launch``), parsed strictly: every
line must have the ``path:row:col: CODE message`` shape and name a file ruff listed. Anything
else (a notebook cell, a path that reads two ways, colour codes, an unknown layout) raises
:class:`NeedsJSON`, and the caller runs ruff again for JSON Lines: the same findings with the
fields and ``noqa_row`` of ``--output-format json``, read by :func:`parse_findings`, which fails
closed. The concise output has no ``noqa_row``; ``t4client.noqa_rows`` works it out where the
validator needs it.
"""

from __future__ import annotations

import functools
import os
import sys
from itertools import repeat
from operator import itemgetter

from t4client import _launch
from t4client.errors import RuffError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import re
    from collections.abc import Callable, Container, Iterable, Sequence

__all__ = [
    "Finding",
    "NeedsJSON",
    "RuffError",
    "RuffRun",
    "parse_concise",
    "parse_findings",
    "ruff_command",
    "run_ruff",
]


class NeedsJSON(Exception):  # a signal to the caller, not an error to report
    """The concise output (or a file's noqa rows) could not be read for sure: ask for JSON."""


class Finding(tuple):
    """One ruff finding: ``(file, line, column, code, message, noqa_row)``.

    ``file`` is the absolute path as ruff printed it; ``noqa_row`` is the row a suppression
    comment for the finding belongs on (it differs from ``line`` for findings spanning several
    lines). A named tuple written out by hand: ``collections.namedtuple`` compiles code at
    import time.
    """

    __slots__ = ()
    _fields = ("file", "line", "column", "code", "message", "noqa_row")

    def __new__(
        cls, file: str, line: int, column: int, code: str, message: str, noqa_row: int | None
    ) -> Finding:
        return tuple.__new__(cls, (file, line, column, code, message, noqa_row))

    def __repr__(self) -> str:
        return (
            "Finding("
            + ", ".join(f"{n}={v!r}" for n, v in zip(self._fields, self, strict=True))
            + ")"
        )

    file = property(itemgetter(0))
    line = property(itemgetter(1))
    column = property(itemgetter(2))
    code = property(itemgetter(3))
    message = property(itemgetter(4))
    noqa_row = property(itemgetter(5))


def ruff_command() -> list[str]:
    override = os.environ.get("T4_RUFF")
    if override is not None:
        import shlex

        cmd = shlex.split(override)
        if not cmd or not (_launch.which(cmd[0]) or os.path.isfile(cmd[0])):
            raise RuffError(f"ruff not found: T4_RUFF={override!r}", code="ruff_missing")
        return cmd
    found = _launch.default_ruff()
    if found:
        return found
    import importlib.util  # only for this last resort (it costs ~1 ms to import)

    if importlib.util.find_spec("ruff") is not None:
        return [sys.executable, "-m", "ruff"]
    raise RuffError(
        "ruff not found (install ruff, put it on PATH or set T4_RUFF)", code="ruff_missing"
    )


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
        output: str = "json-lines",
    ) -> None:
        cmd = ruff_command()
        codes = list(codes or [])
        if show_files:
            args = _launch.listing_args(codes)
        else:
            args = _launch.lint_args(
                codes, ignore_noqa=ignore_noqa, no_cache=no_cache, output=output
            )
        self.output = output
        self.cmd = [*cmd, *args, "--", *paths]
        cwd = self.cwd = os.fspath(cwd)
        proc = _launch.claim(self.cmd, cwd)  # started by ``python -m t4client`` already?
        if proc is None:
            import subprocess

            try:
                proc = subprocess.Popen(  # noqa: S603 (fixed argv, no shell)
                    self.cmd,
                    cwd=cwd,
                    env=_launch.ruff_env(listing=show_files),
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                )
            except OSError as exc:
                raise RuffError(
                    f"cannot start ruff ({self.cmd[0]}): {exc}", code="ruff_missing"
                ) from exc
        self.proc = proc

    def _read(self, on_stdout: Callable[[bytes], None]) -> bytes:
        """Hand stdout to ``on_stdout`` chunk by chunk as ruff writes it; return stderr.

        Ruff prints its findings as it serialises them, so they can be parsed meanwhile.
        """
        proc = self.proc
        if os.name == "nt":  # pragma: no cover - select() cannot wait on pipes on Windows
            out, err = proc.communicate()
            on_stdout(out)
            return err
        import select

        if isinstance(proc, _launch.Spawned):
            fds = proc.take_fds()
            files = []
        else:
            files = [proc.stdout, proc.stderr]
            fds = [f.fileno() for f in files]
        out_fd = fds[0]
        err: list[bytes] = []
        waiting = list(fds)
        try:
            while waiting:
                ready, _, _ = select.select(waiting, [], [])
                for fd in ready:
                    data = os.read(fd, 1 << 20)
                    if not data:
                        waiting.remove(fd)
                    elif fd == out_fd:
                        on_stdout(data)
                    else:
                        err.append(data)
        finally:
            if files:
                for f in files:
                    f.close()
            else:
                for fd in fds:
                    os.close(fd)
        proc.wait()
        return b"".join(err)

    def _check_status(self, err: bytes, out_head: bytes) -> None:
        if self.proc.returncode != 0:
            text = err.decode("utf-8", "replace").strip() or out_head.decode("utf-8", "replace")
            raise RuffError(
                f"ruff exited with status {self.proc.returncode}: {text[:1000]}",
                code="ruff_crashed",
            )

    def _communicate(self) -> bytes:
        chunks: list[bytes] = []
        err = self._read(chunks.append)
        out = b"".join(chunks)
        self._check_status(err, out[:500])
        return out

    def files(self) -> list[str]:
        out = self._communicate()
        return [line for line in out.decode("utf-8", "replace").splitlines() if line.strip()]

    def findings(
        self,
        sink: Callable[[list[Finding]], None] | None = None,
        known: Container[str] | None = None,
        relative: dict[str, str] | None = None,
    ) -> list[Finding]:
        """Wait for the findings.

        ``sink``: called with each batch of findings as soon as it is parsed, in ruff's order
        (a batch that follows unreadable output is never passed on). For concise output,
        ``known`` holds the files ruff listed (absolute paths): a finding naming any other
        raises :class:`NeedsJSON`, as does any line the concise reader is not sure of;
        ``relative`` (optional) maps listed files as ruff prints them, relative to the
        folder it runs in, to their absolute paths, so that the reader need not work them
        out while ruff prints.
        """
        if self.output == "concise":
            prefix = self.cwd.rstrip(os.sep) + os.sep
            paths: dict[str, str | None] = {}
            if relative is not None:
                paths.update(relative)

            def parse(block: bytes) -> list[Finding]:
                return parse_concise(block, prefix, known or (), paths)

            parser = _StreamParser(sink, parse)
        else:
            parser = _StreamParser(sink)
        err = self._read(parser.feed)
        self._check_status(err, parser.head)
        return parser.close()

    def stop(self) -> None:
        """Kill the process if it still runs (after an error elsewhere)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class _StreamParser:
    """Parses ruff's JSON Lines while they arrive; errors wait until ruff's exit status is in.

    A crash (non-zero exit) is reported as such, even if its output is also unreadable.
    """

    def __init__(
        self,
        sink: Callable[[list[Finding]], None] | None = None,
        parse: Callable[[bytes], list[Finding]] | None = None,
    ) -> None:
        self.sink = sink
        self.parse = parse or parse_findings
        self.findings: list[Finding] = []
        self.pending = b""
        self.head = b""  # the start of the output, for error messages
        self.error: RuffError | NeedsJSON | None = None

    def feed(self, data: bytes) -> None:
        if len(self.head) < 500:
            self.head += data[: 500 - len(self.head)]
        if self.error is not None:
            return
        cut = data.rfind(b"\n")
        if cut < 0:
            self.pending += data
            return
        block = self.pending + data[: cut + 1]
        self.pending = data[cut + 1 :]
        self._parse(block)

    def _parse(self, block: bytes) -> None:
        try:
            batch = self.parse(block)
        except (RuffError, NeedsJSON) as exc:
            self.error = exc
            return
        self.findings += batch
        if self.sink is not None and batch:
            self.sink(batch)

    def close(self) -> list[Finding]:
        if self.error is None and self.pending.strip():
            self._parse(self.pending)
        if self.error is not None:
            raise self.error
        return self.findings


# One finding as this ruff prints it (keys sorted, no whitespace), matched whole line by whole
# line. Strings match only without escapes or control characters, so their text *is* their
# value; numbers only in JSON's own spelling ([0-9], not \d: that also matches other digits).
# Anything else — a notebook cell, a fix, an escape, other keys, another ruff's layout — does
# not match, and the block it is in is parsed by ``json`` instead (see parse_findings).
_STR = r'"[^"\\\x00-\x1f]*"'
_INT = r"(?:0|[1-9][0-9]*)"
_LINE_PATTERN = (
    r'^\{"cell":null,"code":"([^"\\\x00-\x1f]+)",'
    rf'"end_location":\{{"column":{_INT},"row":{_INT}\}},'
    r'"filename":"([^"\\\x00-\x1f]*)","fix":null,'
    rf'"location":\{{"column":({_INT}),"row":({_INT})\}},'
    r'"message":"([^"\\\x00-\x1f]*)",'
    rf'"name":{_STR},"noqa_row":({_INT}|null),"severity":{_STR},"url":(?:null|{_STR})\}}$'
)


@functools.cache
def _line_re() -> re.Pattern[str]:
    # Compiled on first use: only the JSON Lines fallback needs it (~0.3 ms to compile).
    import re

    return re.compile(_LINE_PATTERN, re.MULTILINE)


def parse_findings(out: bytes) -> list[Finding]:
    """Ruff's JSON Lines (one finding object per line) → findings, or ``RuffError``.

    Fast path: one regular expression over the whole block. It is taken only when it matched
    every line, so nothing it does not understand gets through; otherwise the block goes to
    :func:`_parse_json`, which reads every line with ``json`` (and fails closed).
    """
    try:
        text = out.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RuffError(f"unparseable ruff output: {exc}", code="ruff_output") from exc
    rows = _line_re().findall(text)
    # Each match is one whole line ("^" and "$" only see "\n"; no pattern part matches
    # "\n"), so as many matches as lines means every line matched.
    if rows and len(rows) == text.count("\n") + (not text.endswith("\n")):
        new = tuple.__new__
        return [
            new(
                Finding,
                (
                    filename,
                    int(row),
                    int(column),
                    code,
                    message,
                    None if noqa_row == "null" else int(noqa_row),
                ),
            )
            for code, filename, column, row, message, noqa_row in rows
        ]
    return _parse_json(text)


# One finding of the concise output: ``path:row:col: CODE message``; syntax errors print
# ``invalid-syntax:`` where the code goes. The path is matched lazily (the first
# ``:row:col: CODE `` ends it), and must then be a file ruff listed, so a path that itself
# contains such a sequence cannot be misread: it is not listed, and JSON is asked for.
_CONCISE_PATTERN = r"^([^\n]+?):([0-9]+):([0-9]+): ([A-Z]+[0-9]+|invalid-syntax:) ([^\n]*)$"


@functools.cache
def _concise_re() -> re.Pattern[str]:
    import re

    return re.compile(_CONCISE_PATTERN, re.MULTILINE)


def parse_concise(
    out: bytes, prefix: str, known: Container[str], paths: dict[str, str | None] | None = None
) -> list[Finding]:
    """Ruff's concise output → findings (``noqa_row`` None), or :class:`NeedsJSON`.

    ``prefix``: the folder ruff ran in, with a trailing separator (ruff prints paths relative
    to it); ``known``: the absolute paths ruff listed; ``paths``: a cache shared by the calls
    of one run (relative path → absolute path, ``None`` when not listed).

    Blocks whose every line has the plain shape (a path without a colon, ASCII digits, a
    code of capitals and digits) are split with ``str`` methods; any other block is read
    with the pattern above, which decides (and which ``re`` is imported for only then).
    """
    try:
        text = out.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NeedsJSON(f"concise output is not UTF-8: {exc}") from exc
    if not text or text.isspace():
        return []
    if paths is None:
        paths = {}
    found = _split_plain(text, prefix, known, paths)
    return found if found is not None else _match_strict(text, prefix, known, paths)


# Each code as printed that has the expected shape, mapped to the code a finding carries:
# one shared string per code for the whole run (a run's 5,000 findings share a dozen codes, so
# they need not each keep a copy, and each code's hash is computed once).
_CODES: dict[str, str] = {"invalid-syntax:": "invalid-syntax"}


def _code_shape(code: str) -> bool:
    """Whether ``code`` is ``[A-Z]+[0-9]+`` (or ruff's ``invalid-syntax:``); if so, it is
    in :data:`_CODES` afterwards."""
    if code in _CODES:
        return True
    letters = code.rstrip("0123456789")
    ok = letters != code and letters.isascii() and letters.isalpha() and letters.isupper()
    if ok:
        _CODES[code] = code
    return ok


def _listed_path(
    rel: str, prefix: str, known: Container[str], paths: dict[str, str | None]
) -> str | None:
    """The absolute path of ``rel`` as ruff printed it, if ruff listed it (cached)."""
    path = paths.get(rel, "")
    if path == "":
        # posixpath.isabs is this test; skipping the call matters once per file of a run.
        absolute = rel.startswith("/") if os.sep == "/" else os.path.isabs(rel)
        full = rel if absolute else prefix + rel
        path = paths[rel] = full if full in known else None
    return path


_COLON, _THREE, _SPACE, _TWO = repeat(":"), repeat(3), repeat(" "), repeat(2)


def _split_plain(
    text: str, prefix: str, known: Container[str], paths: dict[str, str | None]
) -> list[Finding] | None:
    """The findings of a block of plain lines; None if any line is not plain.

    Column by column rather than line by line: the lines are split, the parts transposed
    with ``zip``, each column checked once (the paths and codes repeat, so each distinct
    one is checked once), and the findings built by ``map``. On the benchmark this reads
    5,000 findings in about a third of the time a loop over the lines took.
    """
    lines = text.split("\n")
    if not lines[-1]:
        del lines[-1]  # the block's final line break
    try:
        # A line with fewer than three colons, or a rest without " CODE message", makes a
        # column short: zip then yields fewer columns and the unpacking raises ValueError.
        # map over str.split: no Python-level loop at all.
        rels, rows, columns, rests = zip(*map(str.split, lines, _COLON, _THREE), strict=False)
        blanks, codes, messages = zip(*map(str.split, rests, _SPACE, _TWO), strict=False)
    except ValueError:
        return None
    digits = "".join(rows) + "".join(columns)
    if any(blanks) or not (digits.isascii() and digits.isdigit()):
        return None  # no space after the column, or a row or column int() reads leniently
    for code in set(codes):
        if not _code_shape(code):
            return None
    for rel in dict.fromkeys(rels):  # ruff prints a file's findings together
        if not rel or _listed_path(rel, prefix, known, paths) is None:
            return None
    try:
        # Each distinct number converted once: rows and columns repeat across a run's files.
        row_of = {number: int(number) for number in set(rows)}
        column_of = {number: int(number) for number in set(columns)}
    except ValueError:  # an empty row or column
        return None
    return list(
        map(
            tuple.__new__,
            repeat(Finding),
            zip(
                map(paths.__getitem__, rels),
                map(row_of.__getitem__, rows),
                map(column_of.__getitem__, columns),
                map(_CODES.__getitem__, codes),
                messages,
                repeat(None),
                strict=False,
            ),
        )
    )


def _match_strict(
    text: str, prefix: str, known: Container[str], paths: dict[str, str | None]
) -> list[Finding]:
    rows = _concise_re().findall(text)
    if len(rows) != text.count("\n") + (not text.endswith("\n")):
        raise NeedsJSON("a line of the concise output does not have the expected shape")
    findings = []
    append = findings.append
    new = tuple.__new__
    for rel, row, column, code, message in rows:
        path = _listed_path(rel, prefix, known, paths)
        if path is None:
            raise NeedsJSON(f"the concise output names a file ruff did not list: {rel!r}")
        code = _CODES.setdefault(code, code)  # the pattern admits only well-shaped codes
        append(new(Finding, (path, int(row), int(column), code, message, None)))
    return findings


def _parse_json(text: str) -> list[Finding]:
    """The general reader: every line through ``json``, in one ``json.loads`` call.

    The number of values must equal the number of lines, so a line holding zero or two values
    cannot slip through.
    """
    try:
        # Split on "\n" only: str.splitlines would also split on U+2028 and friends, which
        # JSON strings may carry unescaped.
        text = text.strip()
        if not text:
            return []
        if "\n\n" in text or "\n\r" in text:  # blank lines (ruff prints none): skip them
            lines = [line for line in text.split("\n") if line.strip()]
            text = "\n".join(lines)
        count = text.count("\n") + 1
        import json

        data = json.loads("[" + text.replace("\n", ",") + "]")
    except ValueError as exc:
        raise RuffError(f"unparseable ruff output: {exc}", code="ruff_output") from exc
    if len(data) != count:
        raise RuffError(
            "unparseable ruff output: expected one JSON object per line", code="ruff_output"
        )
    findings = []
    append = findings.append
    new = tuple.__new__
    to_str, to_int = str, int
    try:
        for item in data:
            loc = item["location"]
            noqa_row = item.get("noqa_row")
            append(
                new(
                    Finding,
                    (
                        to_str(item["filename"]),
                        to_int(loc["row"]),
                        to_int(loc.get("column") or 0),
                        to_str(item.get("code") or "invalid-syntax"),
                        to_str(item.get("message") or ""),
                        None if noqa_row is None else to_int(noqa_row),
                    ),
                )
            )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise RuffError(
            f"unparseable ruff output: bad finding ({exc!r})", code="ruff_output"
        ) from exc
    return findings


def run_ruff(paths: Sequence[str], **kwargs: object) -> list[Finding]:
    return RuffRun(paths, **kwargs).findings()  # type: ignore[arg-type]

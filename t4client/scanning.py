"""Reading the files ``check`` looks at: each file once, only lines with a T4 tag parsed.

:class:`Scanner` reads the files ruff lints in a background thread while ruff runs, and works
out there everything that depends on the files alone: each unified annotation's facts (id,
status, quality problems) and which ids appear on more than one line.
"""

from __future__ import annotations

import os
import sys

from t4client.annotations import annotation_status, has_noqa, parse_line, quality_problems

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from t4client.annotations import Annotation

    # (id, status, quality problems) of one unified annotation
    Fact = tuple[str | None, str, list[str]]

_TAG_BYTES = b"TODO[T4-"
_CHUNK = 1 << 16


class FileScan:
    """What one read of a file tells us: its annotations and which annotated lines say noqa.

    ``data``: the file's bytes, kept only when it has annotations (the noqa rows of the
    concise output are worked out from them; see t4client.noqa_rows).
    """

    __slots__ = ("annotations", "data", "noqa_lines")

    def __init__(self) -> None:
        self.annotations: dict[int, list[Annotation]] = {}
        self.noqa_lines: set[int] = set()
        self.data = b""


def read_bytes(path: str) -> bytes | None:
    """The whole file, or None if it cannot be read.

    ``os.open``/``os.read`` instead of ``open()``: no file object, no buffer, no ``fstat``;
    this runs for every file ruff lints. (A folder opens, then fails to read: None as well.)
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        data = os.read(fd, _CHUNK)  # one read for most files
        if len(data) == _CHUNK:
            parts = [data]
            while True:
                more = os.read(fd, _CHUNK << 4)
                if not more:
                    break
                parts.append(more)
            data = b"".join(parts)
        return data
    except OSError:
        return None
    finally:
        os.close(fd)


def scan_file(path: str) -> FileScan:
    """Read a file once; only lines carrying a T4 tag are decoded and parsed."""
    scan = FileScan()
    data = read_bytes(path)
    if not data:
        return scan
    pos = data.find(_TAG_BYTES)
    if pos < 0:
        return scan
    if b"\r" in data:
        # bytes.splitlines splits on \n, \r and \r\n only — the same lines ruff numbers.
        for lineno, raw in enumerate(data.splitlines(), start=1):
            if _TAG_BYTES in raw:
                _scan_line(scan, raw, lineno)
        if scan.annotations:
            scan.data = data
        return scan
    # Fast path (no \r): jump from tag to tag, counting newlines in between.
    lineno, counted = 1, 0
    while pos >= 0:
        start = data.rfind(b"\n", 0, pos) + 1
        end = data.find(b"\n", pos)
        if end < 0:
            end = len(data)
        lineno += data.count(b"\n", counted, start)
        counted = start
        _scan_line(scan, data[start:end], lineno)
        pos = data.find(_TAG_BYTES, end)
    if scan.annotations:
        scan.data = data
    return scan


def _scan_line(scan: FileScan, raw: bytes, lineno: int) -> None:
    text = raw.decode("utf-8", "replace")
    anns = parse_line(text, lineno)
    if anns:
        scan.annotations[lineno] = anns
        if "noqa" in text.lower() and has_noqa(text):
            scan.noqa_lines.add(lineno)


def fact(ann: Annotation, duplicate_ids: dict[str, object]) -> Fact:
    """``(id, status, quality problems)`` of a unified annotation."""
    problems = quality_problems(ann)
    ident = ann.id
    if ident in duplicate_ids:
        problems.append("duplicate_id")
    return ident, annotation_status(ann), problems


class Scanner:
    """Reads the listed files in a background thread while ruff lints.

    On Linux the thread lowers its own scheduling priority, so on a busy machine it uses the
    CPU ruff leaves idle instead of slowing ruff down. Whatever is left when the caller needs
    the results :meth:`finish` does in the calling thread at normal priority: a starved
    background thread never makes the check slower than reading the files afterwards.

    Each file is scanned by exactly one thread (an atomic counter hands out the indexes), and
    the facts of its unified annotations are worked out right after it is read: those do not
    depend on other files, except the ``duplicate_id`` problem, added in :meth:`finish`.
    """

    def __init__(self, files: list[str], rel: Callable[[str], str]) -> None:
        import itertools
        import threading

        self.files = files
        self.rel = rel
        self.results: list[FileScan | None] = [None] * len(files)
        self.facts: dict[int, Fact] = {}  # by id() of the annotation
        self.ids: dict[str, set[tuple[str, int]]] = {}  # id -> (file, line) it appears on
        self.take = itertools.count().__next__  # atomic under the GIL: each index once
        self.stop = False
        self.error: BaseException | None = None
        self.done: (
            tuple[dict[str, FileScan], dict[str, set[tuple[str, int]]], dict[int, Fact]] | None
        ) = None
        self.thread = threading.Thread(target=self._run, name="t4client-scan", daemon=True)
        self.thread.start()

    def _scan(self, i: int) -> None:
        path = self.files[i]
        scan = scan_file(path)
        if scan.annotations:
            facts, ids, rel = self.facts, self.ids, self.rel
            for lineno, anns in scan.annotations.items():
                for ann in anns:
                    if ann.legacy:
                        continue
                    ident = ann.id
                    facts[id(ann)] = (ident, annotation_status(ann), quality_problems(ann))
                    if ident is not None:
                        # setdefault: one C call, so the two threads cannot race on a key.
                        ids.setdefault(ident, set()).add((rel(path), lineno))
        self.results[i] = scan

    def _run(self) -> None:
        try:
            _yield_cpu()
            count, take = len(self.files), self.take
            while not self.stop:
                i = take()
                if i >= count:
                    break
                self._scan(i)
        except BaseException as exc:  # re-raised by finish()
            self.error = exc

    def finish(
        self,
    ) -> tuple[dict[str, FileScan], dict[str, set[tuple[str, int]]], dict[int, Fact]]:
        """``(scans, duplicate ids, annotation facts)``, reading what is left here.

        The background thread stops at its next file; two threads taking turns at the GIL
        gain nothing, and this one runs at normal priority. Idempotent.
        """
        if self.done is not None:
            return self.done
        self.stop = True
        count, take = len(self.files), self.take
        while True:
            i = take()
            if i >= count:
                break
            self._scan(i)
        self.thread.join()
        if self.error is not None:
            raise self.error
        scans = dict(zip(self.files, self.results, strict=True))
        # Ids on two different lines (one line listing an id once per code is fine).
        duplicate_ids = {i: locs for i, locs in self.ids.items() if len(locs) > 1}
        facts = self.facts
        if len(scans) != len(self.files):
            # A file listed twice was scanned twice: keep the facts of the scans kept only
            # (ruff lists each file once; facts are keyed by id(), so no stale entries).
            kept = {
                id(ann)
                for scan in scans.values()
                for anns in scan.annotations.values()  # type: ignore[union-attr]
                for ann in anns
            }
            facts = self.facts = {k: v for k, v in facts.items() if k in kept}
        if duplicate_ids:
            for scan in scans.values():
                for anns in scan.annotations.values():  # type: ignore[union-attr]
                    for ann in anns:
                        if not ann.legacy and ann.id in duplicate_ids:
                            facts[id(ann)][2].append("duplicate_id")
        self.done = scans, duplicate_ids, facts  # type: ignore[assignment]
        return self.done  # type: ignore[return-value]


def _yield_cpu() -> None:
    """Lower the calling thread's priority (Linux: nice applies per thread)."""
    if sys.platform.startswith("linux"):
        import threading

        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), _BACKGROUND_NICE)
        except OSError:  # not permitted: stay at normal priority
            return


_BACKGROUND_NICE = 19  # the lowest priority; finish() makes up for any starvation

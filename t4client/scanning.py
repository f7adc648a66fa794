"""Reading the files ``check`` looks at: each file once, only lines with a T4 tag parsed.

:class:`Scanner` reads the files ruff lints in a background thread while ruff runs, and works
out there everything that depends on the files alone: each unified annotation's facts (id,
status, quality problems) and which ids appear on more than one line.
"""

from __future__ import annotations

import os
import sys

from t4client.annotations import UNIFIED_TAG, annotation_facts, has_noqa, parse_line
from t4client.noqa_rows import flat_prefix

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from t4client.annotations import Annotation, Fact

_TAG_BYTES = b"TODO[T4-"
_BUFSIZE = 1 << 16
_NO_LINES: frozenset[int] = frozenset()
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_BINARY", 0)  # Windows would translate line ends
_readv = getattr(os, "readv", None)


class FileScan:
    """What one read of a file tells us: its annotations and which annotated lines say noqa.

    ``data``: the file's bytes, kept only when a row up to its last annotated line may have a
    noqa row of its own (see t4client.noqa_rows.flat_prefix); ``None`` means each
    of those rows is its own noqa row. Files without annotations all share one empty,
    read-only scan (:data:`UNANNOTATED`).
    """

    __slots__ = ("annotations", "data", "noqa_lines")

    def __init__(self) -> None:
        self.annotations: dict[int, list[Annotation]] = {}
        self.noqa_lines: set[int] | frozenset[int] = _NO_LINES
        self.data: bytes | None = None


UNANNOTATED = FileScan()


def new_buffer() -> bytearray:
    """A read buffer for :func:`scan_file`; one per thread, reused for every file."""
    return bytearray(_BUFSIZE)


def read_file(path: str, buf: bytearray) -> tuple[bytes | bytearray, int] | None:
    """``(data, size)``: the file read into ``buf`` (or, when it does not fit, a new bytes
    object); ``None`` if it cannot be read.

    ``os.open``/``os.readv`` into a buffer that the caller reuses: no file object, no
    ``fstat``, and no allocation for the many files without annotations; this runs for every
    file ruff lints. (A folder opens, then fails to read: None as well.)
    """
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError:
        return None
    try:
        if _readv is None:  # pragma: no cover - Windows
            first = os.read(fd, len(buf))
            size = len(first)
            buf[:size] = first
        else:
            size = _readv(fd, (buf,))  # one read for most files
        if size < len(buf):
            return buf, size
        parts = [bytes(buf)]
        while True:
            more = os.read(fd, _BUFSIZE << 4)
            if not more:
                break
            parts.append(more)
        data = b"".join(parts)
        return data, len(data)
    except OSError:
        return None
    finally:
        os.close(fd)


def scan_file(path: str, buf: bytearray | None = None) -> FileScan:
    """Read a file once; only lines carrying a T4 tag are decoded and parsed.

    ``buf``: a buffer from :func:`new_buffer` to read into (a fresh one when omitted).
    """
    got = read_file(path, new_buffer() if buf is None else buf)
    if got is None:
        return UNANNOTATED
    data, size = got
    pos = data.find(_TAG_BYTES, 0, size)
    if pos < 0:
        return UNANNOTATED
    scan = FileScan()
    if data.find(b"\r", 0, size) >= 0:
        whole = bytes(data[:size])
        # bytes.splitlines splits on \n, \r and \r\n only — the same lines ruff numbers.
        for lineno, raw in enumerate(whole.splitlines(), start=1):
            if _TAG_BYTES in raw:
                _scan_line(scan, raw, lineno)
        if not scan.annotations:
            return UNANNOTATED
        scan.data = whole  # rare: t4client.noqa_rows works the rows out from the whole file
        return scan
    # Fast path (no \r): jump from tag to tag, counting newlines in between.
    lineno, counted, head_end, comment_quotes, plain = 1, 0, 0, 0, True
    while pos >= 0:
        start = data.rfind(b"\n", 0, pos) + 1
        end = data.find(b"\n", pos, size)
        if end < 0:
            end = size
        lineno += data.count(b"\n", counted, start)
        counted = start
        if _scan_line(scan, data[start:end], lineno):
            head_end = end
            # The quotes of the comment (from the "#" before the tag) are not code.
            sharp = data.rfind(b"#", start, pos)
            if sharp >= 0:
                comment_quotes += data.count(b'"', sharp, end) + data.count(b"'", sharp, end)
                plain = plain and data.find(b"\\", start, sharp) < 0
            else:
                plain = False
        pos = data.find(_TAG_BYTES, end, size)
    if not scan.annotations:
        return UNANNOTATED
    if not (plain and flat_prefix(data, head_end, comment_quotes)):
        scan.data = bytes(data[:size])
    return scan


def _scan_line(scan: FileScan, raw: bytes | bytearray, lineno: int) -> bool:
    """Parse one tagged line into ``scan``; True if it holds annotations."""
    text = raw.decode("utf-8", "replace")
    anns = parse_line(text, lineno)
    if not anns:
        return False
    scan.annotations[lineno] = anns
    if "noqa" in text.lower() and has_noqa(text):
        if scan.noqa_lines is _NO_LINES:
            scan.noqa_lines = set()
        scan.noqa_lines.add(lineno)  # type: ignore[union-attr]
    return True


def fact(ann: Annotation, duplicate_ids: dict[str, object]) -> Fact:
    """``(id, status, quality problems)`` of a unified annotation."""
    ident, status, problems = annotation_facts(ann)
    if ident in duplicate_ids:
        problems.append("duplicate_id")
    return ident, status, problems


class Scanner:
    """Reads the listed files in a background thread while ruff lints.

    On Linux the thread lowers its own scheduling priority, so that ruff comes first where
    the scheduler can tell them apart (on the 2-vCPU benchmark VM it cannot: any work beside
    ruff slows it, see docs/t4client.md). Whatever is left when the caller needs the results
    :meth:`finish` does in the calling thread at normal priority: a starved background thread
    never makes the check slower than reading the files afterwards.

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
        # Where each id was first seen, and every place of the ids seen on more than one line
        # (absolute paths; only the duplicates are made relative, in finish()).
        self.first_seen: dict[str, tuple[str, int]] = {}
        self.repeated: dict[str, set[tuple[str, int]]] = {}
        self.take = itertools.count().__next__  # atomic under the GIL: each index once
        self.stop = False
        self.error: BaseException | None = None
        self.done: (
            tuple[dict[str, FileScan], dict[str, set[tuple[str, int]]], dict[int, Fact]] | None
        ) = None
        self.thread = threading.Thread(target=self._run, name="t4client-scan", daemon=True)
        self.thread.start()

    def _scan(self, i: int, buf: bytearray) -> None:
        path = self.files[i]
        scan = scan_file(path, buf)
        if scan.annotations:
            facts, first_seen = self.facts, self.first_seen
            for lineno, anns in scan.annotations.items():
                for ann in anns:
                    if ann.tag != UNIFIED_TAG:
                        continue
                    known = facts[id(ann)] = annotation_facts(ann)
                    ident = known[0]
                    if ident is not None:
                        # setdefault/update: single C calls, so the two threads cannot race.
                        place = (path, lineno)
                        first = first_seen.setdefault(ident, place)
                        if first != place:  # one line may list an id once per code
                            self.repeated.setdefault(ident, set()).update((first, place))
        self.results[i] = scan

    def _run(self) -> None:
        try:
            _yield_cpu()
            count, take, buf = len(self.files), self.take, new_buffer()
            while not self.stop:
                i = take()
                if i >= count:
                    break
                self._scan(i, buf)
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
        count, take, buf = len(self.files), self.take, new_buffer()
        while True:
            i = take()
            if i >= count:
                break
            self._scan(i, buf)
        self.thread.join()
        if self.error is not None:
            raise self.error
        scans = dict(zip(self.files, self.results, strict=True))
        # Ids on two different lines (one line listing an id once per code is fine).
        rel = self.rel
        duplicate_ids = {
            ident: {(rel(path), line) for path, line in places}
            for ident, places in self.repeated.items()
        }
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

"""Reading the files ``check`` looks at: each file once, only lines with a T4 tag parsed.

:func:`scan_files` reads the files ruff lints while ruff runs, and works out everything that
depends on the files alone: each unified annotation's facts (id, status, quality problems)
and which ids appear on more than one line.
"""

from __future__ import annotations

import os

from t4client.annotations import UNIFIED_TAG, annotation_facts, has_noqa, parse_line

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
    noqa row of its own (see :func:`_scan_tagged`); ``None`` means each
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
    return UNANNOTATED if pos < 0 else _scan_tagged(data, size, pos)


def _scan_tagged(data: bytes | bytearray, size: int, pos: int) -> FileScan:
    """The scan of ``data[:size]``, whose first T4 tag starts at ``pos``."""
    if data.find(b"\r", 0, size) >= 0:
        return _scan_with_returns(bytes(data[:size]))
    # Jump from tag to tag, counting newlines in between.
    annotations: dict[int, list[Annotation]] = {}
    noqa_lines: set[int] | frozenset[int] = _NO_LINES
    # ``flat``: no row up to the last annotated line can have another noqa row than its own
    # (see t4client.noqa_rows). That holds when the code before the T4 comments (everything
    # from the start, except each annotated line's comment) has no quote, so no string, and
    # no backslash, so no continuation. Otherwise the bytes are kept for noqa_rows to decide.
    # The comments themselves are left out: a quote or a backslash in a comment starts no
    # string and continues no line (until the seventh session a backslash at the end of a T4
    # comment kept the bytes too, needlessly).
    lineno, counted, code_from, flat = 1, 0, 0, True
    while pos >= 0:
        start = data.rfind(b"\n", 0, pos) + 1
        end = data.find(b"\n", pos, size)
        if end < 0:
            end = size
        lineno += data.count(b"\n", counted, start)
        counted = start
        text = data[start:end].decode("utf-8", "replace")
        anns = parse_line(text, lineno)
        if anns:
            annotations[lineno] = anns
            if "noqa" in text.lower() and has_noqa(text):
                if noqa_lines is _NO_LINES:
                    noqa_lines = set()
                noqa_lines.add(lineno)  # type: ignore[union-attr]
            if flat:
                sharp = data.rfind(b"#", start, pos)  # where this line's comment starts
                # As text: ``b'"' in data`` first tries the bytes as an integer and pays for
                # the TypeError; latin-1 maps each byte to one character, and cannot fail.
                code = data[code_from:sharp].decode("latin-1")
                flat = sharp >= 0 and '"' not in code and "'" not in code and "\\" not in code
                code_from = end
        pos = data.find(_TAG_BYTES, end, size)
    if not annotations:
        return UNANNOTATED
    scan = FileScan()
    scan.annotations = annotations
    scan.noqa_lines = noqa_lines
    if not flat:
        scan.data = bytes(data[:size])
    return scan


def _scan_with_returns(whole: bytes) -> FileScan:
    """The scan of a file holding ``\\r``: rare, so line by line, and its bytes kept."""
    scan = FileScan()
    # bytes.splitlines splits on \n, \r and \r\n only — the same lines ruff numbers.
    for lineno, raw in enumerate(whole.splitlines(), start=1):
        if raw.find(_TAG_BYTES) < 0:  # not ``in``: see _scan_tagged
            continue
        text = raw.decode("utf-8", "replace")
        anns = parse_line(text, lineno)
        if not anns:
            continue
        scan.annotations[lineno] = anns
        if "noqa" in text.lower() and has_noqa(text):
            if scan.noqa_lines is _NO_LINES:
                scan.noqa_lines = set()
            scan.noqa_lines.add(lineno)  # type: ignore[union-attr]
    if not scan.annotations:
        return UNANNOTATED
    scan.data = whole  # t4client.noqa_rows works the rows out from the whole file
    return scan


class CodeSlots:
    """Every ``(annotation, code)`` pair of a run's files, numbered in reading order.

    Slot ``i`` is code ``anns[i].codes[i - anns[i].code_slot]`` of annotation ``anns[i]``,
    on its line of ``files[i]`` (absolute path). The filing marks a slot when ruff reports
    that code on that line (see t4client.buckets), in a ``bytearray`` as long as the slots:
    the stale annotations are the unmarked slots, found without visiting the others.
    """

    __slots__ = ("anns", "files")

    def __init__(self) -> None:
        self.anns: list[Annotation] = []
        self.files: list[str] = []

    def __len__(self) -> int:
        return len(self.anns)

    def number(self, path: str, ann: Annotation) -> None:
        """Give ``ann`` (on a line of ``path``) a slot for each of its codes."""
        anns = self.anns
        ann.code_slot = len(anns)
        n = len(ann.codes)
        if n == 1:  # nearly all: two appends, not two one-item lists (-2.3 M instructions)
            anns.append(ann)
            self.files.append(path)
        elif n:
            anns += [ann] * n
            self.files += [path] * n

    def number_scan(self, path: str, scan: FileScan) -> None:
        """Number every annotation of ``scan`` (a file the filing read late)."""
        for anns in scan.annotations.values():
            for ann in anns:
                self.number(path, ann)


def fact(ann: Annotation, duplicate_ids: dict[str, object]) -> Fact:
    """``(id, status, quality problems)`` of a unified annotation."""
    ident, status, problems = annotation_facts(ann)
    if ident in duplicate_ids:
        problems.append("duplicate_id")
    return ident, status, problems


def scan_files(
    files: list[str], rel: Callable[[str], str]
) -> tuple[dict[str, FileScan], dict[str, set[tuple[str, int]]], dict[int, Fact], CodeSlots]:
    """``(scans, duplicate ids, annotation facts, code slots)`` of ``files``, each read once.

    ``check`` calls this while ruff lints, in its main thread at normal priority. Ruff keeps
    both cores of the benchmark VM busy, so the CPU this takes is what counts, not when it
    runs: a background thread at the lowest priority (the earlier design) took as long and
    cost its start, the ``threading`` import and the GIL hand-overs on top; without it the
    benchmark ran 0.5-4.6 ms faster (seven rounds of 25-30 alternating runs).

    The facts of each unified annotation (id, status, quality problems) are worked out as
    its file is read; the ``duplicate_id`` problem, which depends on the other files, is
    added at the end. Duplicate ids are keyed by id, with ``(relative path, line)`` places.
    """
    scans: dict[str, FileScan] = {}
    facts: dict[int, Fact] = {}  # by id() of the annotation
    # Where each id was first seen, and every place of the ids seen on more than one line
    # (absolute paths; only the duplicates are made relative, at the end).
    first_seen: dict[str, tuple[str, int]] = {}
    repeated: dict[str, set[tuple[str, int]]] = {}
    slots = CodeSlots()
    number = slots.number
    buf = new_buffer()
    for path in files:
        if path in scans:  # listed twice: read once
            continue
        scan = scans[path] = scan_file(path, buf)
        for lineno, anns in scan.annotations.items():
            for ann in anns:
                number(path, ann)
                if ann.tag != UNIFIED_TAG:
                    continue
                known = facts[id(ann)] = annotation_facts(ann)
                ident = known[0]
                if ident is not None:
                    place = (path, lineno)
                    first = first_seen.setdefault(ident, place)
                    if first != place:  # one line may list an id once per code
                        repeated.setdefault(ident, set()).update((first, place))
    duplicate_ids = {
        ident: {(rel(path), line) for path, line in places} for ident, places in repeated.items()
    }
    if duplicate_ids:
        for scan in scans.values():
            for anns in scan.annotations.values():
                for ann in anns:
                    if not ann.legacy and ann.id in duplicate_ids:
                        facts[id(ann)][2].append("duplicate_id")
    return scans, duplicate_ids, facts, slots

"""Sorting ruff's findings into the report's buckets, while ruff is still printing them.

Every finding lands in exactly one bucket — annotated, unannotated, legacy or waived. The
report lists them in ``(file, line, column, code)`` order. Ruff prints its findings sorted by
file and position already, so :class:`Stream` files each batch as it is parsed and checks the
order on the way; only if ruff's order ever disagrees does it start over from the sorted list.
"""

from __future__ import annotations

from collections import Counter
from itertools import islice
from operator import itemgetter, le

from t4client.annotations import UNIFIED_TAG, WEIGHTS
from t4client.noqa_rows import noqa_rows
from t4client.ruffrun import NeedsJSON
from t4client.scanning import fact, scan_file

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from t4client.annotations import Annotation, Fact
    from t4client.ruffrun import Finding
    from t4client.scanning import CodeSlots, FileScan
    from t4client.waivers import Waiver

SYNTAX_CODE = "invalid-syntax"
finding_key = itemgetter(0, 1, 2, 3)  # file, line, column, code
_position = itemgetter(0, 1, 2)


class Buckets:
    """The per-finding part of the report, filled in the report's order (see :meth:`add`)."""

    def __init__(
        self,
        scans: dict[str, FileScan],
        facts: dict[int, Fact],
        duplicate_ids: dict[str, Any],
        slots: CodeSlots,
        rel: Callable[[str], str],
        waivers: list[Waiver],
        expired: list[Waiver],
        *,
        noqa_unknown: bool = False,
    ) -> None:
        self.scans = scans
        # Findings from ruff's concise output carry no noqa_row: work it out (per file, once)
        # for findings above a file's last annotated line, the only ones it can matter for.
        self.noqa_unknown = noqa_unknown
        self._noqa_maps: dict[str, dict[int, int]] = {}
        self.facts = facts
        self.duplicate_ids = duplicate_ids
        self.rel = rel
        self.any_waivers = bool(waivers or expired)
        self.waivers_by_file: dict[str, list[Waiver]] = {}
        for w in waivers:
            self.waivers_by_file.setdefault(w.file, []).append(w)
        self.expired_by_file: dict[str, list[Waiver]] = {}
        for w in expired:
            self.expired_by_file.setdefault(w.file, []).append(w)
        # One entry per annotation that covers a finding (its codes in report order); the
        # annotated findings themselves are counted by ``statuses``.
        self.annotated: list[dict[str, Any]] = []
        self._entries: dict[int, dict[str, Any]] = {}  # by id() of the annotation
        self.unannotated: list[dict[str, Any]] = []
        self.legacy: list[dict[str, Any]] = []
        self.waived: list[dict[str, Any]] = []
        self.quality_issues: list[dict[str, Any]] = []
        self.statuses: list[str] = []  # one per annotated finding: their count and statuses
        self.breakdown: Counter[str] = Counter()
        self.weighted_total = 0
        self.weighted_good = 0
        # One byte per slot of ``slots``: 1 once ruff reported that code on that annotation's
        # line (any finding there, whatever bucket it lands in). The unmarked slots are the
        # stale annotations. A byte per pair, not a set per row: nothing is allocated per
        # finding, and the report finds the few unmarked slots with bytearray.find.
        self.slots = slots
        self.marks = bytearray(len(slots))
        self._file: str | None = None
        self._path = ""
        self._by_line: dict[int, list[Annotation]] = {}
        self._last_annotated = 0
        self._find_rows = False

    def add(self, findings: list[Finding]) -> None:
        """File ``findings``, which come after every finding added before (report order)."""
        scans = self.scans
        unannotated_append = self.unannotated.append
        any_waivers = self.any_waivers
        last_file, path, by_line = self._file, self._path, self._by_line
        last_annotated, find_rows = self._last_annotated, self._find_rows
        marks = self.marks
        for file, line, column, code, message, noqa_row in findings:
            if file != last_file:  # findings come grouped by file
                last_file = file
                scan = scans.get(file)
                if scan is None:  # ruff linted a file discovery did not list: read it once
                    scan = scans[file] = scan_file(file)
                    self.slots.number_scan(file, scan)
                    marks.extend(bytes(len(self.slots) - len(marks)))  # self.marks, in place
                path = self.rel(file)
                by_line = scan.annotations
                last_annotated = max(by_line) if by_line else 0
                # The concise output has no noqa rows: a row other than the finding's own
                # is possible only where the scan kept the file (strings, continuations).
                find_rows = self.noqa_unknown and scan.data is not None
            if by_line:  # most files have no annotation: they skip all of this
                if find_rows and line < last_annotated and code != SYNTAX_CODE:
                    noqa_row = self._noqa_row(file, line, last_annotated)
                anns = by_line.get(line)
                if anns is not None and (noqa_row is None or noqa_row == line):
                    # The finding's own row is annotated, and it is its noqa row too.
                    ann = anns[0]
                    if (  # the usual case: one unified annotation that covers the code
                        len(anns) == 1
                        and ann.tag == UNIFIED_TAG
                        and code != SYNTAX_CODE
                        and (not ann.codes or code in ann.codes)
                    ):
                        if len(ann.codes) == 1:  # its one code, reported
                            marks[ann.code_slot] = 1
                        elif ann.codes:
                            self._mark(anns, code)
                        self._annotated(ann, path, line, column, code, message)
                        continue
                if anns is not None or (noqa_row is not None and noqa_row in by_line):
                    unified, old = self._covering(line, code, noqa_row, by_line)
                    if unified is not None:
                        self._annotated(unified, path, line, column, code, message)
                        continue
                    if old is not None:
                        self.legacy.append(
                            {
                                "file": path,
                                "line": line,
                                "column": column,
                                "code": code,
                                "message": message,
                                "tag": old.tag,
                                "text": old.text,
                            }
                        )
                        continue
            base = {
                "file": path,
                "line": line,
                "column": column,
                "code": code,
                "message": message,
            }
            if any_waivers:
                self._unannotated_or_waived(base, path, line, code)
            else:
                unannotated_append(base)
        self._file, self._path, self._by_line = last_file, path, by_line
        self._last_annotated, self._find_rows = last_annotated, find_rows

    def _covering(
        self,
        line: int,
        code: str,
        noqa_row: int | None,
        by_line: dict[int, list[Annotation]],
    ) -> tuple[Annotation | None, Annotation | None]:
        """``(unified, legacy)``: the first annotation of each kind covering the finding.

        Annotations on the finding's line and on its noqa row count (the row a suppression
        comment belongs on, for findings spanning several lines). The annotations on those
        rows that list the code are marked as reported (see :attr:`marks`); a syntax error
        is never covered.
        """
        unified: Annotation | None = None
        old: Annotation | None = None
        for row in (line,) if noqa_row is None or noqa_row == line else (line, noqa_row):
            anns = by_line.get(row)
            if anns is None:
                continue
            self._mark(anns, code)
            if code == SYNTAX_CODE:
                continue
            for ann in anns:
                if ann.codes and code not in ann.codes:
                    continue
                if ann.tag == UNIFIED_TAG:
                    if unified is None:
                        unified = ann
                elif old is None:
                    old = ann
        return unified, old

    def _mark(self, anns: list[Annotation], code: str) -> None:
        """Mark ``code`` as reported for each of ``anns`` (one row's) that lists it."""
        marks = self.marks
        for ann in anns:
            codes = ann.codes
            if code in codes:
                base = ann.code_slot
                for i, listed in enumerate(codes):
                    if listed == code:  # an annotation may list a code twice
                        marks[base + i] = 1

    def _annotated(
        self, unified: Annotation, path: str, line: int, column: int, code: str, message: str
    ) -> None:
        """File a finding covered by the unified annotation ``unified``."""
        w = WEIGHTS.get(code, 1)
        self.weighted_total += w
        key = id(unified)
        entry = self._entries.get(key)
        if entry is None:
            known = self.facts.get(key)
            if known is None:  # in a file ruff linted but did not list
                known = self.facts[key] = fact(unified, self.duplicate_ids)
            ident, status, cached = known
            problems = list(cached)
            entry = self._entries[key] = {
                "file": path,
                "line": unified.line,
                "code": code,
                "codes": [code],
                "id": ident,
                "status": status,
                "annotation": unified.data,
                "problems": problems,
            }
            self.annotated.append(entry)
        else:  # another code of the same annotation
            ident, status, problems = entry["id"], entry["status"], entry["problems"]
            if code not in entry["codes"]:
                entry["codes"].append(code)
        self.statuses.append(status)
        if not problems:
            self.weighted_good += w
            return
        self.breakdown.update(problems)
        issue = {
            "file": path,
            "line": line,
            "column": column,
            "code": code,
            "message": message,
            "id": ident,
            "problems": problems,
        }
        if unified.parse_error:
            issue["detail"] = unified.parse_error
        self.quality_issues.append(issue)

    def _unannotated_or_waived(self, base: dict[str, Any], path: str, line: int, code: str) -> None:
        """File a finding no annotation covers: waived if a waiver applies, else unannotated."""
        match = next(
            (w for w in self.waivers_by_file.get(path, ()) if w.matches(path, line, code)),
            None,
        )
        if match is not None and code != SYNTAX_CODE:
            self.waived.append({**base, "waiver": match.as_dict()})
            return
        lapsed = next(
            (w for w in self.expired_by_file.get(path, ()) if w.matches(path, line, code)),
            None,
        )
        if lapsed is not None:
            base["expired_waiver"] = lapsed.as_dict()
        self.unannotated.append(base)

    def _noqa_row(self, file: str, line: int, last_annotated: int) -> int:
        rows = self._noqa_maps.get(file)
        if rows is None:
            scan = self.scans[file]
            if scan.data is None:  # the scan found no string or continuation up to there
                found: dict[int, int] | None = {}
            else:
                found = noqa_rows(scan.data, last_annotated, scan.annotations)
            if found is None:
                raise NeedsJSON(f"cannot tell the noqa rows of {file} without ruff's JSON")
            rows = self._noqa_maps[file] = found
        return rows.get(line, line)


def _in_order(findings: list[Finding]) -> bool:
    """Whether ``findings`` are sorted already (as ruff prints them), checked in C.

    Whole findings are compared, which is stricter than :data:`finding_key`: when this says
    yes, sorting by the key would not move anything.
    """
    try:
        return all(map(le, findings, islice(findings, 1, None)))
    except TypeError:  # a noqa row compared with None (JSON Lines): let the sort decide
        return False


class Stream:
    """Feeds :class:`Buckets` batch by batch in ``(file, line, column, code)`` order.

    Each batch is sorted (ruff may print several findings at one position in another code
    order), and the findings at its last position are held back, since the next batch may
    continue that position. A batch that starts before the previous one ended means ruff's
    order is not the report's: filing stops, and :meth:`result` starts over from all the
    findings, sorted — the same buckets as sorting first, only later.
    """

    def __init__(self, make: Callable[[], Buckets]) -> None:
        self.make = make
        self.buckets: Buckets | None = None
        self.held: list[Finding] = []
        self.last: tuple[Any, ...] | None = None
        self.in_order = True

    def add(self, batch: list[Finding]) -> None:
        if not self.in_order:
            return
        if self.buckets is None:
            self.buckets = self.make()
        todo = self.held + batch if self.held else list(batch)
        if not _in_order(todo):
            todo.sort(key=finding_key)
        position = _position(todo[-1])
        cut = len(todo) - 1
        while cut > 0 and _position(todo[cut - 1]) == position:
            cut -= 1
        self.held = todo[cut:]
        self._file(todo[:cut])

    def _file(self, todo: list[Finding]) -> None:
        if not todo:
            return
        if self.last is not None and finding_key(todo[0]) < self.last:
            self.in_order = False
            return
        self.last = finding_key(todo[-1])
        self.buckets.add(todo)  # type: ignore[union-attr]

    def result(self, findings: list[Finding]) -> Buckets:
        """The buckets of ``findings`` (every finding ruff printed, in ruff's order)."""
        if self.in_order and self.held:
            self._file(self.held)
            self.held = []
        if self.buckets is None or not self.in_order:
            self.buckets = self.make()
            self.buckets.add(sorted(findings, key=finding_key))
        return self.buckets

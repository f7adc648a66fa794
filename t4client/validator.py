"""The validator behind ``python -m t4client check`` (SPEC "The inline annotation").

Every ruff finding lands in exactly one bucket — annotated, unannotated, legacy or waived — so
``total = annotated + unannotated + legacy + waived`` always holds. Anything that stops us from
seeing the findings (no ruff, a crash, unreadable output, a bad path) raises, and the command
exits 2: the validator fails closed, it never passes by accident.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections import Counter, defaultdict
from operator import itemgetter

from t4client import __version__, _launch
from t4client._launch import DEFAULT_CODES
from t4client.annotations import (
    UNIFIED_TAG,
    WEIGHTS,
    annotation_status,
    has_noqa,
    parse_line,
    quality_problems,
)
from t4client.errors import PathError
from t4client.ruffrun import Finding, RuffRun

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import Any

    from t4client.annotations import Annotation
    from t4client.waivers import Waiver

SYNTAX_CODE = "invalid-syntax"
_TAG_BYTES = b"TODO[T4-"
_CHUNK = 1 << 16
_finding_key = itemgetter(0, 1, 2, 3)  # file, line, column, code


class FileScan:
    """What one read of a file tells us: its annotations and which annotated lines say noqa."""

    __slots__ = ("annotations", "noqa_lines")

    def __init__(self) -> None:
        self.annotations: dict[int, list[Annotation]] = {}
        self.noqa_lines: set[int] = set()


def scan_file(path: str) -> FileScan:
    """Read a file once; only lines carrying a T4 tag are decoded and parsed."""
    scan = FileScan()
    try:
        with open(path, "rb", buffering=0) as fh:
            data = fh.read(_CHUNK)  # one read for most files (readall() also calls fstat)
            if len(data) == _CHUNK:
                data += fh.readall()
    except OSError:
        return scan
    pos = data.find(_TAG_BYTES)
    if pos < 0:
        return scan
    if b"\r" in data:
        # bytes.splitlines splits on \n, \r and \r\n only — the same lines ruff numbers.
        for lineno, raw in enumerate(data.splitlines(), start=1):
            if _TAG_BYTES in raw:
                _scan_line(scan, raw, lineno)
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
    return scan


def _scan_line(scan: FileScan, raw: bytes, lineno: int) -> None:
    text = raw.decode("utf-8", "replace")
    anns = parse_line(text, lineno)
    if anns:
        scan.annotations[lineno] = anns
        if "noqa" in text.lower() and has_noqa(text):
            scan.noqa_lines.add(lineno)


def _selected(code: str, selectors: tuple[str, ...], cache: dict[str, bool]) -> bool:
    hit = cache.get(code)
    if hit is None:
        hit = cache[code] = (
            not selectors or "ALL" in selectors or any(code.startswith(s) for s in selectors)
        )
    return hit


def _duplicate_ids(
    scans: dict[str, FileScan], rel: Callable[[str], str]
) -> dict[str, set[tuple[str, int]]]:
    """Ids on two different lines (one line listing an id once per code is fine)."""
    id_locations: dict[str, set[tuple[str, int]]] = defaultdict(set)
    for filename, scan in scans.items():
        for lineno, anns in scan.annotations.items():
            for ann in anns:
                if not ann.legacy and ann.id is not None:
                    id_locations[ann.id].add((rel(filename), lineno))
    return {i: locs for i, locs in id_locations.items() if len(locs) > 1}


def _fact(ann: Annotation, duplicate_ids: dict[str, Any]) -> tuple[str | None, str, list[str]]:
    """``(id, status, quality problems)`` of a unified annotation."""
    problems = quality_problems(ann)
    ident = ann.id
    if ident in duplicate_ids:
        problems.append("duplicate_id")
    return ident, annotation_status(ann), problems


def _facts(
    scans: dict[str, FileScan], duplicate_ids: dict[str, Any]
) -> dict[int, tuple[str | None, str, list[str]]]:
    """The facts of every unified annotation, by ``id()`` (several findings may share one)."""
    return {
        id(ann): _fact(ann, duplicate_ids)
        for scan in scans.values()
        for anns in scan.annotations.values()
        for ann in anns
        if not ann.legacy
    }


class _Scanner:
    """Reads the listed files in a background thread while ruff lints.

    On Linux the thread lowers its own scheduling priority, so on a busy machine it uses the
    CPU ruff leaves idle instead of slowing ruff down. Once ruff prints (its parallel work is
    done), the calling thread lends a hand between chunks of output (:meth:`help`), and
    whatever is left when ruff is finished :meth:`finish` does at normal priority: a starved
    background thread never makes the check slower than reading the files afterwards.
    """

    def __init__(self, files: list[str], rel: Callable[[str], str]) -> None:
        import itertools
        import threading

        self.files = files
        self.rel = rel
        self.results: list[FileScan | None] = [None] * len(files)
        self.take = itertools.count().__next__  # atomic under the GIL: each index once
        self.stop = False
        self.done: tuple[Any, Any, Any] | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="t4client-scan", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            _yield_cpu()
            files, results, count, take = self.files, self.results, len(self.files), self.take
            while not self.stop:
                i = take()
                if i >= count:
                    break
                results[i] = scan_file(files[i])
        except BaseException as exc:  # re-raised by finish()
            self.error = exc

    def help(self, batch: int | None = 8) -> bool:
        """Read ``batch`` files (all the rest when None) in the calling thread; False once
        every file is taken.

        The background thread stops at the next file: two threads taking turns at the GIL
        gain nothing, and this one runs at normal priority.
        """
        self.stop = True
        files, results, count, take = self.files, self.results, len(self.files), self.take
        for _ in range(count if batch is None else batch):
            i = take()
            if i >= count:
                return False
            results[i] = scan_file(files[i])
        return True

    def finish(
        self,
    ) -> tuple[
        dict[str, FileScan],
        dict[str, set[tuple[str, int]]],
        dict[int, tuple[str | None, str, list[str]]],
    ]:
        """``(scans, duplicate ids, annotation facts)``, finishing the reading here."""
        self.help(batch=None)
        self.thread.join()
        if self.error is not None:
            raise self.error
        scans = dict(zip(self.files, self.results, strict=True))
        duplicate_ids = _duplicate_ids(scans, self.rel)  # type: ignore[arg-type]
        return scans, duplicate_ids, _facts(scans, duplicate_ids)  # type: ignore[arg-type]


def _yield_cpu() -> None:
    """Lower the calling thread's priority (Linux: nice applies per thread)."""
    if sys.platform.startswith("linux"):
        import contextlib
        import threading

        with contextlib.suppress(OSError):  # not permitted: stay at normal priority
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), _BACKGROUND_NICE)


_BACKGROUND_NICE = 19  # the lowest priority; finish() makes up for any starvation


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def run_check(
    paths: Iterable[str],
    *,
    codes: Iterable[str] | None = None,
    root: str | os.PathLike[str] | None = None,
    ignore_noqa: bool = False,
    waivers_file: str | None = None,
    registry_key: str | None = None,
    no_cache: bool = False,
    repository: str | None = None,
    commit: str | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Build the SPEC report. Raises a ``T4Error`` subclass when the check cannot be trusted."""
    now = now or _utcnow()
    root_path = os.path.realpath(root) if root else _launch.find_root()
    selectors = tuple(c.strip().upper() for c in (codes or DEFAULT_CODES) if c.strip())
    targets, problem = _launch.resolve_targets(list(paths) or ["."], root_path)
    if problem is not None:
        raise PathError(problem[1], code=problem[0])

    waivers: list[Waiver] = []
    if waivers_file or registry_key:
        from t4client.waivers import fetch_registry_waivers, load_yaml_waivers
    if waivers_file:
        waivers += load_yaml_waivers(waivers_file)

    # Lint and discovery run in the background while we read files and ask the registry
    # (``python -m t4client check`` started both before its imports: see t4client._launch).
    lint = RuffRun(
        targets, codes=selectors, cwd=root_path, ignore_noqa=ignore_noqa, no_cache=no_cache
    )
    try:
        listing = RuffRun(targets, codes=selectors, cwd=root_path, show_files=True)
    except BaseException:
        lint.stop()
        raise
    rel_cache: dict[str, str] = {}
    prefix = root_path.rstrip(os.sep) + os.sep

    def rel(filename: str) -> str:
        value = rel_cache.get(filename)
        if value is None:
            if filename.startswith(prefix) and os.sep == "/":
                value = filename[len(prefix) :]
            else:
                from pathlib import Path

                try:
                    value = Path(filename).relative_to(root_path).as_posix()
                except ValueError:
                    value = Path(filename).resolve().relative_to(root_path).as_posix()
            rel_cache[filename] = value
        return value

    try:
        if registry_key:
            waivers += fetch_registry_waivers(registry_key)
        # Files are read (and what depends on them alone worked out) in a background thread
        # that yields the CPU to ruff, while this thread parses ruff's output as it arrives.
        scanner = _Scanner(listing.files(), rel)
        try:
            findings = lint.findings(idle=scanner.help)
        finally:
            scans, duplicate_ids, facts = scanner.finish()
    finally:
        lint.stop()
        listing.stop()

    active = [w for w in waivers if not w.expired(now)]
    expired = [w for w in waivers if w.expired(now)]
    waivers_by_file: dict[str, list[Waiver]] = defaultdict(list)
    for w in active:
        waivers_by_file[w.file].append(w)
    expired_by_file: dict[str, list[Waiver]] = defaultdict(list)
    for w in expired:
        expired_by_file[w.file].append(w)

    annotated: list[dict[str, Any]] = []
    unannotated: list[dict[str, Any]] = []
    legacy: list[dict[str, Any]] = []
    waived: list[dict[str, Any]] = []
    quality_issues: list[dict[str, Any]] = []
    statuses: list[str] = []  # one per annotated finding
    breakdown: Counter[str] = Counter()
    weighted_total = weighted_good = 0
    # Codes ruff reported on annotated lines (the only lines the stale check looks at).
    reported: dict[tuple[str, int], set[str]] = {}

    findings.sort(key=_finding_key)
    last_file = None
    path = ""
    by_line: dict[int, list[Annotation]] = {}
    for f in findings:
        file, line, column, code, message, noqa_row = f
        if file != last_file:  # findings come grouped by file
            last_file = file
            scan = scans.get(file)
            if scan is None:  # ruff linted a file discovery did not list: still read it once
                scan = scans[file] = scan_file(file)
            path = rel(file)
            by_line = scan.annotations
        unified: Annotation | None = None
        old: Annotation | None = None
        if by_line:
            for row in (line,) if noqa_row is None or noqa_row == line else (line, noqa_row):
                anns = by_line.get(row)
                if anns is None:
                    continue
                seen = reported.get((file, row))
                if seen is None:
                    reported[(file, row)] = {code}
                else:
                    seen.add(code)
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
        if unified is not None:
            known = facts.get(id(unified))
            if known is None:  # in a file ruff linted but did not list
                known = facts[id(unified)] = _fact(unified, duplicate_ids)
            ident, status, cached = known
            problems = list(cached)
            w = WEIGHTS.get(code, 1)
            weighted_total += w
            statuses.append(status)
            annotated.append(
                {
                    "file": path,
                    "line": line,
                    "column": column,
                    "code": code,
                    "message": message,
                    "id": ident,
                    "status": status,
                    "annotation": unified.data,
                    "problems": problems,
                }
            )
            if problems:
                breakdown.update(problems)
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
                quality_issues.append(issue)
            else:
                weighted_good += w
            continue
        base = {"file": path, "line": line, "column": column, "code": code, "message": message}
        if old is not None:
            legacy.append({**base, "tag": old.tag, "text": old.text})
            continue
        if waivers:
            match = next(
                (w for w in waivers_by_file.get(path, ()) if w.matches(path, line, code)), None
            )
            if match is not None and code != SYNTAX_CODE:
                waived.append({**base, "waiver": match.as_dict()})
                continue
            lapsed = next(
                (w for w in expired_by_file.get(path, ()) if w.matches(path, line, code)), None
            )
            if lapsed is not None:
                base["expired_waiver"] = lapsed.as_dict()
        unannotated.append(base)

    counts_by_code = Counter(map(itemgetter(3), findings))
    counts_by_status = Counter(statuses)
    for name, entries in (("legacy", legacy), ("waived", waived), ("unannotated", unannotated)):
        if entries:
            counts_by_status[name] = len(entries)

    stale: list[dict[str, Any]] = []
    selected_cache: dict[str, bool] = {}
    for filename, scan in scans.items():
        for lineno, anns in scan.annotations.items():
            if lineno in scan.noqa_lines and not ignore_noqa:
                continue  # ruff hides findings on noqa lines, so absence proves nothing
            seen = reported.get((filename, lineno), ())  # type: ignore[arg-type]
            for ann in anns:
                for code in ann.codes:
                    if code not in seen and _selected(code, selectors, selected_cache):
                        stale.append(
                            {
                                "file": rel(filename),
                                "line": lineno,
                                "code": code,
                                "id": ann.id,
                                "tag": ann.tag,
                                "text": ann.text,
                            }
                        )
    stale.sort(key=itemgetter("file", "line", "code"))

    total = len(findings)
    score = round(100.0 * weighted_good / weighted_total, 2) if weighted_total else 100.0
    failed = bool(unannotated or quality_issues)
    return {
        "status": "fail" if failed else "pass",
        "timestamp": now.isoformat().replace("+00:00", "Z"),
        "summary": {
            "total_findings": total,
            "annotated": len(annotated),
            "unannotated": len(unannotated),
            "legacy_format": len(legacy),
            "waived": len(waived),
            "quality_issues": len(quality_issues),
            "stale_annotations": len(stale),
            "expired_waivers": len(expired),
            "duplicate_ids": len(duplicate_ids),
            "files_checked": len(scans),
        },
        "metrics": {
            "annotation_quality_score": score,
            "weighted_good": weighted_good,
            "weighted_total": weighted_total,
            "counts_by_code": dict(sorted(counts_by_code.items())),
            "counts_by_status": dict(sorted(counts_by_status.items())),
            "quality_breakdown": dict(sorted(breakdown.items())),
        },
        "unannotated": unannotated,
        "legacy_annotations": legacy,
        "quality_issues": quality_issues,
        "annotations": annotated,
        "waived": waived,
        "expired_waivers": [w.as_dict() for w in expired],
        "stale_annotations": stale,
        "duplicate_ids": [
            {"id": i, "locations": [f"{p}:{n}" for p, n in sorted(locs)]}
            for i, locs in sorted(duplicate_ids.items())
        ],
        "config": {
            "codes": list(selectors),
            "paths": [_launch.posix_relative(t, root_path) for t in targets],
            "ignore_noqa": ignore_noqa,
            "waivers_file": waivers_file,
            "registry_waivers": bool(registry_key),
        },
        "repository": repository,
        "commit": commit,
        "tool": {"name": "t4client", "version": __version__},
    }


def format_summary(report: dict[str, Any], *, limit: int = 20) -> str:
    s, m = report["summary"], report["metrics"]
    rows = [
        ("total findings", s["total_findings"]),
        ("annotated", s["annotated"]),
        ("unannotated", s["unannotated"]),
        ("legacy format", s["legacy_format"]),
        ("waived", s["waived"]),
        ("quality issues", s["quality_issues"]),
        ("stale annotations", s["stale_annotations"]),
        ("expired waivers", s["expired_waivers"]),
        ("duplicate ids", s["duplicate_ids"]),
    ]
    out = [
        f"T4 validator: {report['status'].upper()}  ({s['files_checked']} files, codes "
        f"{','.join(report['config']['codes'])})"
    ]
    out += [f"  {name:<20}{value:>8}" for name, value in rows]
    out.append(
        f"  {'quality score':<20}{m['annotation_quality_score']:>7.2f}%  "
        f"(weighted {m['weighted_good']}/{m['weighted_total']})"
    )
    sections = (
        ("unannotated", report["unannotated"], lambda e: f"{e['code']} {e['message']}"),
        (
            "quality issues",
            report["quality_issues"],
            lambda e: (
                f"{e['code']} {', '.join(e['problems'])}"
                + (f" ({e['detail']})" if e.get("detail") else "")
            ),
        ),
        (
            "stale annotations",
            report["stale_annotations"],
            lambda e: f"{e['code']} no longer reported; remove the comment, implement {e['id']}",
        ),
        (
            "expired waivers",
            [{**w, "line": w["line"]} for w in report["expired_waivers"]],
            lambda e: f"{e['code']} expired {e['expires']} ({e['source']})",
        ),
    )
    for title, entries, fmt in sections:
        if not entries:
            continue
        out.append(f"{title}:")
        for e in entries[:limit]:
            out.append(f"  {e['file']}:{e['line']}: {fmt(e)}")
        if len(entries) > limit:
            out.append(f"  … and {len(entries) - limit} more (use --json-only for all)")
    return "\n".join(out)


__all__ = ["DEFAULT_CODES", "Finding", "format_summary", "run_check", "scan_file"]

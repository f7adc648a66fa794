"""The validator behind ``python -m t4client check`` (SPEC "The inline annotation").

Every ruff finding lands in exactly one bucket — annotated, unannotated, legacy or waived — so
``total = annotated + unannotated + legacy + waived`` always holds. Anything that stops us from
seeing the findings (no ruff, a crash, unreadable output, a bad path) raises, and the command
exits 2: the validator fails closed, it never passes by accident.
"""

from __future__ import annotations

import datetime as dt
import os
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from t4client import __version__
from t4client.annotations import (
    Annotation,
    annotation_status,
    has_noqa,
    parse_line,
    quality_problems,
    weight,
)
from t4client.paths import find_root, resolve_paths
from t4client.ruffrun import Finding, RuffRun
from t4client.waivers import Waiver, fetch_registry_waivers, load_yaml_waivers

DEFAULT_CODES = (
    "F401", "F821", "B008", "B904", "B018", "SIM102", "SIM105", "E701", "E702", "RUF006",
    "RUF012",
)  # fmt: skip
SYNTAX_CODE = "invalid-syntax"
_TAG_BYTES = b"TODO[T4-"


@dataclass
class FileScan:
    """What one read of a file tells us: its annotations and which annotated lines say noqa."""

    annotations: dict[int, list[Annotation]] = field(default_factory=dict)
    noqa_lines: set[int] = field(default_factory=set)


def scan_file(path: str) -> FileScan:
    """Read a file once; only lines carrying a T4 tag are decoded and parsed."""
    scan = FileScan()
    try:
        with open(path, "rb") as fh:
            data = fh.read()
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
    root_path = Path(root).resolve() if root else find_root()
    selectors = tuple(c.strip().upper() for c in (codes or DEFAULT_CODES) if c.strip())
    targets = [str(p) for p in resolve_paths(list(paths) or ["."], root_path)]

    waivers: list[Waiver] = []
    if waivers_file:
        waivers += load_yaml_waivers(waivers_file)

    # Lint and discovery run in the background while we read files and ask the registry.
    lint = RuffRun(
        targets, codes=selectors, cwd=root_path, ignore_noqa=ignore_noqa, no_cache=no_cache
    )
    try:
        listing = RuffRun(targets, codes=selectors, cwd=root_path, show_files=True)
    except BaseException:
        lint.proc.kill()
        lint.proc.wait()
        raise
    try:
        if registry_key:
            waivers += fetch_registry_waivers(registry_key)
        files = listing.files()
        scans: dict[str, FileScan] = {f: scan_file(f) for f in files}
        findings = lint.findings()
    finally:
        for run in (lint, listing):
            if run.proc.poll() is None:
                run.proc.kill()
                run.proc.wait()

    rel_cache: dict[str, str] = {}
    prefix = str(root_path).rstrip(os.sep) + os.sep

    def rel(filename: str) -> str:
        value = rel_cache.get(filename)
        if value is None and filename.startswith(prefix) and os.sep == "/":
            value = rel_cache[filename] = filename[len(prefix) :]
        if value is None:
            try:
                value = Path(filename).relative_to(root_path).as_posix()
            except ValueError:
                value = Path(filename).resolve().relative_to(root_path).as_posix()
            rel_cache[filename] = value
        return value

    active = [w for w in waivers if not w.expired(now)]
    expired = [w for w in waivers if w.expired(now)]
    waivers_by_file: dict[str, list[Waiver]] = defaultdict(list)
    for w in active:
        waivers_by_file[w.file].append(w)
    expired_by_file: dict[str, list[Waiver]] = defaultdict(list)
    for w in expired:
        expired_by_file[w.file].append(w)

    # Duplicate ids: one id on two different lines (one line listing it per code is fine).
    id_locations: dict[str, set[tuple[str, int]]] = defaultdict(set)
    for filename, scan in scans.items():
        for lineno, anns in scan.annotations.items():
            for ann in anns:
                if not ann.legacy and ann.id is not None:
                    id_locations[ann.id].add((rel(filename), lineno))
    duplicate_ids = {i: locs for i, locs in id_locations.items() if len(locs) > 1}

    annotated: list[dict[str, Any]] = []
    unannotated: list[dict[str, Any]] = []
    legacy: list[dict[str, Any]] = []
    waived: list[dict[str, Any]] = []
    quality_issues: list[dict[str, Any]] = []
    counts_by_code: Counter[str] = Counter()
    counts_by_status: Counter[str] = Counter()
    breakdown: Counter[str] = Counter()
    weighted_total = weighted_good = 0
    reported: dict[tuple[str, int], set[str]] = defaultdict(set)
    problems_cache: dict[int, list[str]] = {}  # several findings may share one annotation

    findings.sort(key=lambda f: (f.file, f.line, f.column, f.code))
    for f in findings:
        scan = scans.get(f.file)
        if scan is None:  # ruff linted a file discovery did not list: still read it once
            scan = scans[f.file] = scan_file(f.file)
        path = rel(f.file)
        counts_by_code[f.code] += 1
        rows = [f.line] if f.noqa_row in (None, f.line) else [f.line, f.noqa_row]
        for row in rows:
            reported[(f.file, row)].add(f.code)
        unified: Annotation | None = None
        old: Annotation | None = None
        if f.code != SYNTAX_CODE:
            for row in rows:
                for ann in scan.annotations.get(row, ()):
                    if not ann.covers(f.code):
                        continue
                    if not ann.legacy and unified is None:
                        unified = ann
                    elif ann.legacy and old is None:
                        old = ann
        base = {
            "file": path,
            "line": f.line,
            "column": f.column,
            "code": f.code,
            "message": f.message,
        }
        if unified is not None:
            cached = problems_cache.get(id(unified))
            if cached is None:
                cached = quality_problems(unified)
                if unified.id in duplicate_ids:
                    cached.append("duplicate_id")
                problems_cache[id(unified)] = cached
            problems = list(cached)
            w = weight(f.code)
            weighted_total += w
            status = annotation_status(unified)
            counts_by_status[status] += 1
            annotated.append(
                {
                    **base,
                    "id": unified.id,
                    "status": status,
                    "annotation": unified.data,
                    "problems": problems,
                }
            )
            if problems:
                breakdown.update(problems)
                issue = {**base, "id": unified.id, "problems": problems}
                if unified.parse_error:
                    issue["detail"] = unified.parse_error
                quality_issues.append(issue)
            else:
                weighted_good += w
            continue
        if old is not None:
            counts_by_status["legacy"] += 1
            legacy.append({**base, "tag": old.tag, "text": old.text})
            continue
        match = next(
            (w for w in waivers_by_file.get(path, ()) if w.matches(path, f.line, f.code)), None
        )
        if match is not None and f.code != SYNTAX_CODE:
            counts_by_status["waived"] += 1
            waived.append({**base, "waiver": match.as_dict()})
            continue
        counts_by_status["unannotated"] += 1
        entry = dict(base)
        lapsed = next(
            (w for w in expired_by_file.get(path, ()) if w.matches(path, f.line, f.code)), None
        )
        if lapsed is not None:
            entry["expired_waiver"] = lapsed.as_dict()
        unannotated.append(entry)

    stale: list[dict[str, Any]] = []
    selected_cache: dict[str, bool] = {}
    for filename, scan in scans.items():
        for lineno, anns in scan.annotations.items():
            if lineno in scan.noqa_lines and not ignore_noqa:
                continue  # ruff hides findings on noqa lines, so absence proves nothing
            seen = reported.get((filename, lineno), set())
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
    stale.sort(key=lambda s: (s["file"], s["line"], s["code"]))

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
            "paths": [Path(t).relative_to(root_path).as_posix() or "." for t in targets],
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

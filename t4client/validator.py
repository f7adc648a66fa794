"""The validator behind ``python -m t4client check`` (SPEC "The inline annotation").

Every ruff finding lands in exactly one bucket — annotated, unannotated, legacy or waived — so
``total = annotated + unannotated + legacy + waived`` always holds. Anything that stops us from
seeing the findings (no ruff, a crash, unreadable output, a bad path) raises, and the command
exits 2: the validator fails closed, it never passes by accident.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from itertools import repeat
from operator import itemgetter

from t4client import __version__, _launch
from t4client._launch import DEFAULT_CODES
from t4client.buckets import Buckets, Stream, finding_key
from t4client.errors import PathError
from t4client.ruffrun import Finding, NeedsJSON, RuffRun
from t4client.scanning import FileScan, scan_file, scan_files

TYPE_CHECKING = False
if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Iterable
    from typing import Any

    from t4client.waivers import Waiver


def _selected(code: str, selectors: tuple[str, ...], cache: dict[str, bool]) -> bool:
    hit = cache.get(code)
    if hit is None:
        hit = cache[code] = (
            not selectors or "ALL" in selectors or any(code.startswith(s) for s in selectors)
        )
    return hit


def utc_timestamp(now: dt.datetime | None = None) -> str:
    """``now`` (default: this instant) as the report spells it: ISO 8601 in UTC with ``Z``.

    Without ``now`` it is built from ``time``, the way ``datetime.isoformat`` writes it: most
    runs need no ``datetime`` at all (a C extension that takes ~1 ms to load; only waivers,
    which expire, use it).
    """
    if now is not None:
        return now.isoformat().replace("+00:00", "Z")
    seconds, micros = divmod(time.time_ns() // 1000, 1_000_000)
    text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    return f"{text}.{micros:06d}Z" if micros else f"{text}Z"


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
    root_path = os.path.realpath(root) if root else _launch.find_root()
    selectors = tuple(c.strip().upper() for c in (codes or DEFAULT_CODES) if c.strip())
    targets, problem = _launch.resolve_targets(list(paths) or ["."], root_path)
    if problem is not None:
        raise PathError(problem[1], code=problem[0])

    waivers: list[Waiver] = []
    if waivers_file or registry_key:
        import datetime as dt

        from t4client.waivers import fetch_registry_waivers, load_yaml_waivers

        now = now or dt.datetime.now(dt.UTC)  # waivers expire; nothing else needs datetime
    timestamp = utc_timestamp(now)
    if waivers_file:
        waivers += load_yaml_waivers(waivers_file)

    # Lint and discovery run in the background while we read files and ask the registry
    # (``python -m t4client check`` started both before its imports: see t4client._launch).
    def start_lint(output: str) -> RuffRun:
        return RuffRun(
            targets,
            codes=selectors,
            cwd=root_path,
            ignore_noqa=ignore_noqa,
            no_cache=no_cache,
            output=output,
        )

    lint = start_lint("concise")
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
        active = [w for w in waivers if not w.expired(now)]  # type: ignore[arg-type]
        expired = [w for w in waivers if w.expired(now)]  # type: ignore[arg-type]
        files = listing.files()
        # Relative paths worked out now, while ruff lints, not while it prints: the filing
        # and the concise reader look them up there (ruff prints them relative to the root).
        relative = _relative_paths(files, prefix)
        rel_cache.update(zip(relative.values(), relative, strict=True))
        # The files are read (and what depends on them alone worked out) while ruff lints.
        scans, duplicate_ids, facts, slots = scan_files(files, rel)

        def make_buckets(*, noqa_unknown: bool = True) -> Buckets:
            return Buckets(
                scans,
                facts,
                duplicate_ids,
                slots,
                rel,
                active,
                expired,
                noqa_unknown=noqa_unknown,
            )

        stream = Stream(make_buckets)
        try:
            findings = lint.findings(sink=stream.add, known=frozenset(scans), relative=relative)
            buckets = stream.result(findings)
        except NeedsJSON:
            # Something only JSON reads for sure (see t4client.ruffrun): ask ruff again.
            lint.stop()
            lint = start_lint("json-lines")
            findings = lint.findings()
            buckets = make_buckets(noqa_unknown=False)
            buckets.add(sorted(findings, key=finding_key))
    finally:
        lint.stop()
        listing.stop()
    return _report(
        buckets,
        findings,
        scans,
        duplicate_ids,
        expired,
        timestamp=timestamp,
        selectors=selectors,
        ignore_noqa=ignore_noqa,
        config={
            "codes": list(selectors),
            "paths": [_launch.posix_relative(t, root_path) for t in targets],
            "ignore_noqa": ignore_noqa,
            "waivers_file": waivers_file,
            "registry_waivers": bool(registry_key),
        },
        repository=repository,
        commit=commit,
    )


def _relative_paths(files: list[str], prefix: str) -> dict[str, str]:
    """``{relative path: absolute path}`` of the listed ``files`` under ``prefix`` (the
    root with a trailing separator), as ruff prints them; ``{}`` unless every file is
    under it and the separator is ``/`` (then a relative path is a slice of the absolute)."""
    if os.sep != "/" or not all(map(str.startswith, files, repeat(prefix))):
        return {}
    return dict(zip(map(itemgetter(slice(len(prefix), None)), files), files, strict=True))


def _report(
    b: Buckets,
    findings: list[Finding],
    scans: dict[str, FileScan],
    duplicate_ids: dict[str, set[tuple[str, int]]],
    expired: list[Waiver],
    *,
    timestamp: str,
    selectors: tuple[str, ...],
    ignore_noqa: bool,
    config: dict[str, Any],
    repository: str | None,
    commit: str | None,
) -> dict[str, Any]:
    counts_by_code = Counter(map(itemgetter(3), findings))
    counts_by_status = Counter(b.statuses)
    for name, entries in (
        ("legacy", b.legacy),
        ("waived", b.waived),
        ("unannotated", b.unannotated),
    ):
        if entries:
            counts_by_status[name] = len(entries)

    # The stale annotations: the (annotation, code) slots the filing left unmarked.
    stale: list[dict[str, Any]] = []
    selected_cache: dict[str, bool] = {}
    marks, slots, rel = b.marks, b.slots, b.rel
    pos = marks.find(0)
    while pos >= 0:
        ann = slots.anns[pos]
        filename = slots.files[pos]
        code = ann.codes[pos - ann.code_slot]
        lineno = ann.line
        # ruff hides findings on noqa lines, so there absence proves nothing
        if (ignore_noqa or lineno not in scans[filename].noqa_lines) and _selected(
            code, selectors, selected_cache
        ):
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
        pos = marks.find(0, pos + 1)
    stale.sort(key=itemgetter("file", "line", "code"))

    total = len(findings)
    weighted_good, weighted_total = b.weighted_good, b.weighted_total
    score = round(100.0 * weighted_good / weighted_total, 2) if weighted_total else 100.0
    failed = bool(b.unannotated or b.quality_issues)
    return {
        "status": "fail" if failed else "pass",
        "timestamp": timestamp,
        "summary": {
            "total_findings": total,
            "annotated": len(b.statuses),
            "unannotated": len(b.unannotated),
            "legacy_format": len(b.legacy),
            "waived": len(b.waived),
            "quality_issues": len(b.quality_issues),
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
            "quality_breakdown": dict(sorted(b.breakdown.items())),
        },
        "unannotated": b.unannotated,
        "legacy_annotations": b.legacy,
        "quality_issues": b.quality_issues,
        "annotations": b.annotated,
        "waived": b.waived,
        "expired_waivers": [w.as_dict() for w in expired],
        "stale_annotations": stale,
        "duplicate_ids": [
            {"id": i, "locations": [f"{p}:{n}" for p, n in sorted(locs)]}
            for i, locs in sorted(duplicate_ids.items())
        ],
        "config": config,
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

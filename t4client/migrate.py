"""``python -m t4client migrate``: legacy annotations → the unified ``TODO[T4-ISSUE]`` form.

Safety rules (a codemod must never corrupt a file):

* only real comments are rewritten — a tag inside a string (including multi-line strings) is
  skipped and reported, and so is a line that follows a backslash continuation;
* every rewritten file must still compile, else it is left unchanged and reported;
* bytes outside the rewritten comment are untouched: line endings, BOM, final newline;
* writes are atomic (temporary file + ``os.replace``), and ``--apply`` first copies every
  original to ``.t4/runs/<RUN_ID>/files/`` with a ``manifest.json``; ``--revert RUN_ID`` puts
  the originals back byte for byte;
* the plan is computed by one function, so a dry run and the apply that follows report the
  same conversions.

This module plans (reading files, finding legacy forms, owners from git blame, the compile
check); applying and reverting a run live in :mod:`t4client.migrate_runs`.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import tokenize
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from t4client.annotations import STATUSES, code_re, parse_line
from t4client.paths import find_root, resolve_paths
from t4client.ruffrun import RuffRun
from t4client.validator import DEFAULT_CODES

LEGACY_BYTES = (b"TODO[T4-UNUSED-IMPORT]", b"TODO[T4-LINT-ISSUE]")
NOREPLY_RE = re.compile(r"^(?:\d+\+)?([A-Za-z0-9-]+)@users\.noreply\.github\.com$", re.I)
CARRIED_FIELDS = ("ticket", "eta", "suggestion", "reason_category")
REVIEW_THRESHOLD = 0.8
SHA_RE = re.compile(r"[0-9a-f]{40}")


@dataclass
class Conversion:
    file: str
    line: int
    id: str
    code: str
    code_source: str  # "ruff", "legacy" or "unknown"
    owner: str
    owner_confidence: float
    owner_source: str  # "annotation", "git-blame" or "none"
    needs_owner_review: bool
    old: str
    new: str


@dataclass
class FilePlan:
    path: Path
    rel: str
    original: bytes
    updated: bytes
    conversions: list[Conversion] = field(default_factory=list)


@dataclass
class Plan:
    root: Path
    files: list[FilePlan] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    unchanged_files: list[dict[str, Any]] = field(default_factory=list)
    files_scanned: int = 0

    @property
    def conversions(self) -> list[Conversion]:
        return [c for fp in self.files for c in fp.conversions]

    def report(self, mode: str, run_id: str | None = None) -> dict[str, Any]:
        conversions = [asdict(c) for c in self.conversions]
        return {
            "mode": mode,
            "run_id": run_id,
            "root": str(self.root),
            "summary": {
                "files_scanned": self.files_scanned,
                "files_changed": len(self.files),
                "conversions": len(conversions),
                "skipped": len(self.skipped),
                "unchanged_files": len(self.unchanged_files),
                "needs_owner_review": sum(1 for c in conversions if c["needs_owner_review"]),
            },
            "conversions": conversions,
            "skipped": self.skipped,
            "unchanged_files": self.unchanged_files,
        }


# --- owners from git blame ---------------------------------------------------------------


def owner_from_author(name: str, mail: str) -> tuple[str, float]:
    """A handle and how sure we are of it (the reviewer confirms anything below 0.8)."""
    mail = mail.strip().strip("<>").strip()
    m = NOREPLY_RE.match(mail)
    if m:
        return "@" + m.group(1), 0.9
    if "@" in mail and mail.split("@", 1)[0]:
        return "@" + mail.split("@", 1)[0], 0.6
    slug = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower()
    if slug and name != "Not Committed Yet":
        return "@" + slug, 0.4
    return "@unassigned", 0.0


def blame_owners(root: Path, rel: str) -> dict[int, tuple[str, float]]:
    """One ``git blame --line-porcelain`` per file: line → (handle, confidence)."""
    try:
        proc = subprocess.run(  # noqa: S603 (fixed argv, no shell)
            ["git", "-C", str(root), "blame", "--line-porcelain", "--", rel],  # noqa: S607 (git from PATH)
            capture_output=True,
            timeout=120,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return {}
    if proc.returncode != 0:
        return {}
    owners: dict[int, tuple[str, float]] = {}
    line = 0
    name = mail = ""
    uncommitted = False
    for raw in proc.stdout.decode("utf-8", "replace").split("\n"):
        if raw.startswith("\t"):
            owners[line] = ("@unassigned", 0.0) if uncommitted else owner_from_author(name, mail)
            continue
        parts = raw.split(" ")
        if (
            len(parts) >= 3
            and len(parts[0]) == 40
            and all(c in "0123456789abcdef" for c in parts[0])
        ):
            line = int(parts[2])
            uncommitted = set(parts[0]) == {"0"}
            name = mail = ""
        elif raw.startswith("author "):
            name = raw[7:]
        elif raw.startswith("author-mail "):
            mail = raw[12:]
    return owners


# --- planning ----------------------------------------------------------------------------


def _comment_tokens(lines: list[str]) -> dict[int, list[tuple[int, str]]]:
    comments: dict[int, list[tuple[int, str]]] = defaultdict(list)
    it = iter(lines)
    for tok in tokenize.generate_tokens(lambda: next(it, "")):
        if tok.type == tokenize.COMMENT:
            comments[tok.start[0]].append((tok.start[1], tok.string))
    return comments


def _legacy_codes(text: str) -> list[str]:
    return code_re().findall(text)


def _new_id(rel: str, line: int, code: str, old: str) -> str:
    digest = hashlib.sha256(f"{rel}\0{line}\0{code}\0{old}".encode()).hexdigest()[:12]
    return f"T4-{digest}"


def _shown(filename: str, root: Path) -> str:
    path = Path(filename)
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else filename


def plan_migration(paths: list[str], *, root: Path | None = None) -> Plan:
    root = (root or find_root()).resolve()
    targets = [str(p) for p in resolve_paths(paths or ["."], root)]
    listing = RuffRun(targets, codes=DEFAULT_CODES, cwd=root, show_files=True).files()
    plan = Plan(root=root, files_scanned=len(listing))

    candidates: dict[str, bytes] = {}
    wanted = set(DEFAULT_CODES)
    for filename in listing:
        try:
            data = Path(filename).read_bytes()
        except OSError as exc:
            plan.unchanged_files.append({"file": filename, "reason": f"unreadable: {exc}"})
            continue
        if any(tag in data for tag in LEGACY_BYTES):
            if Path(filename).is_symlink():
                # Rewriting would replace the link by a file; the file it points to is
                # migrated under its own name when the run includes it.
                plan.unchanged_files.append(
                    {"file": _shown(filename, root), "reason": "a symbolic link (not followed)"}
                )
                continue
            candidates[filename] = data
            wanted.update(_legacy_codes(data.decode("utf-8", "replace")))
    if not candidates:
        return plan

    # The code comes from what ruff reports on the line; noqa must not hide it here.
    findings = RuffRun(
        list(candidates), codes=sorted(wanted), cwd=root, ignore_noqa=True, no_cache=True
    ).findings()
    codes_at: dict[tuple[str, int], list[str]] = defaultdict(list)
    for f in findings:
        if f.code != "invalid-syntax":
            codes_at[(f.file, f.line)].append(f.code)

    for filename, data in sorted(candidates.items()):
        rel = Path(filename).resolve().relative_to(root).as_posix()
        fp = _plan_file(plan, Path(filename), rel, data, codes_at)
        if fp is not None and fp.conversions:
            plan.files.append(fp)
    return plan


def _plan_file(
    plan: Plan, path: Path, rel: str, data: bytes, codes_at: dict[tuple[str, int], list[str]]
) -> FilePlan | None:
    raw_lines = data.splitlines(keepends=True)
    try:
        lines = [raw.decode("utf-8") for raw in raw_lines]
    except UnicodeDecodeError as exc:
        plan.unchanged_files.append({"file": rel, "reason": f"not UTF-8: {exc}"})
        return None
    try:
        comments = _comment_tokens(lines)
    except (tokenize.TokenError, SyntaxError) as exc:
        plan.unchanged_files.append({"file": rel, "reason": f"cannot tokenize: {exc}"})
        return None

    owners: dict[int, tuple[str, float]] | None = None
    fp = FilePlan(path=path, rel=rel, original=data, updated=data)
    new_lines = list(raw_lines)
    for index, raw in enumerate(raw_lines):
        if not any(tag in raw for tag in LEGACY_BYTES):
            continue
        lineno = index + 1
        text = lines[index].rstrip("\r\n")
        spots = []
        migrated = False
        for col, comment in comments.get(lineno, ()):
            for ann in parse_line(comment, lineno):
                if ann.legacy:
                    ann.column += col
                    spots.append(ann)
                else:
                    migrated = True
        if not spots and migrated:
            continue  # converted by an earlier run: the old tag is in its "legacy" text
        if not spots:
            plan.skipped.append(
                {
                    "file": rel,
                    "line": lineno,
                    "reason": "tag inside a string (multi-line string or literal)",
                }
            )
            continue
        if index > 0 and lines[index - 1].rstrip("\r\n").endswith("\\"):
            plan.skipped.append(
                {"file": rel, "line": lineno, "reason": "line follows a backslash continuation"}
            )
            continue
        if owners is None:
            owners = blame_owners(plan.root, rel)
        reported = codes_at.get((str(path), lineno), [])
        new_text = text
        for ann in sorted(spots, key=lambda a: a.column, reverse=True):
            conv, comment = _convert(ann, rel, lineno, reported, owners.get(lineno))
            new_text = new_text[: ann.column] + comment + new_text[ann.column + len(ann.text) :]
            fp.conversions.append(conv)
        ending = lines[index][len(text) :]
        if lineno <= 2 and _CODING.match(new_text) and not _CODING.match(text):
            # The new comment would read as an encoding declaration (PEP 263) and change how
            # Python decodes the whole file; compile() would not notice.
            plan.unchanged_files.append(
                {"file": rel, "reason": f"line {lineno} would become an encoding declaration"}
            )
            return None
        new_lines[index] = (new_text + ending).encode("utf-8")
        for conv in fp.conversions:
            if conv.line == lineno:
                conv.old, conv.new = text, new_text
    fp.conversions.sort(key=lambda c: (c.line, c.id))
    if not fp.conversions:
        return None
    fp.updated = b"".join(new_lines)
    try:
        compile(fp.updated, str(path), "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        plan.unchanged_files.append(
            {
                "file": rel,
                "reason": f"would not compile after the rewrite: {exc}",
                "conversions_dropped": len(fp.conversions),
            }
        )
        return None
    return fp


# PEP 263: a comment on line 1 or 2 matching this declares the file's encoding.
_CODING = re.compile(r"^[ \t\f]*#.*?coding[:=][ \t]*[-\w.]+")

# A noqa directive written inside the legacy comment. Moved into the new comment's JSON it
# would stop working (ruff calls it an invalid noqa directive) and the finding it hid would
# fail the build, so it stays a directive, written before the T4 tag.
_NOQA_DIRECTIVE = re.compile(r"#\s*noqa(?::\s*[A-Z]+[0-9]+(?:\s*,\s*[A-Z]+[0-9]+)*)?", re.I)


def _convert(
    ann: Any, rel: str, lineno: int, reported: list[str], blamed: tuple[str, float] | None
) -> tuple[Conversion, str]:
    legacy_data = ann.data if isinstance(ann.data, dict) else {}
    legacy_codes = ann.codes or _legacy_codes(ann.text)
    hits = [c for c in legacy_codes if c in reported]
    if hits:
        code, source = ",".join(dict.fromkeys(hits)), "ruff"
    elif reported:
        code, source = ",".join(sorted(dict.fromkeys(reported))), "ruff"
    elif legacy_codes:
        code, source = ",".join(dict.fromkeys(legacy_codes)), "legacy"
    else:
        code, source = "UNKNOWN", "unknown"

    owner_value = legacy_data.get("owner")
    if isinstance(owner_value, str) and owner_value.strip():
        owner, confidence, owner_source = owner_value.strip(), 1.0, "annotation"
    elif blamed is not None:
        owner, confidence = blamed
        owner_source = "git-blame" if confidence > 0 else "none"
    else:
        owner, confidence, owner_source = "@unassigned", 0.0, "none"

    legacy_id = legacy_data.get("id")
    intent_id = (
        legacy_id.strip()
        if isinstance(legacy_id, str) and legacy_id.strip()
        else _new_id(rel, lineno, code, ann.text)
    )
    status = str(legacy_data.get("status") or "").strip().lower()
    reason = legacy_data.get("reason")
    noqa = _NOQA_DIRECTIVE.search(ann.text)
    if noqa is not None and isinstance(reason, str):
        reason = reason.replace(noqa.group(0), "").strip()
    data: dict[str, Any] = {
        "id": intent_id,
        "code": code,
        "owner": owner,
        "status": status if status in STATUSES else "reserved",
        "reason": reason if isinstance(reason, str) else "",
    }
    for key in CARRIED_FIELDS:
        if legacy_data.get(key) not in (None, ""):
            data[key] = legacy_data[key]
    needs_review = confidence < REVIEW_THRESHOLD
    data["owner_confidence"] = confidence
    data["needs_owner_review"] = needs_review
    data["legacy"] = ann.text
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    try:
        payload.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate from a \ud800 escape: keep it escaped
        payload = json.dumps(data, separators=(",", ":"))
    comment = "# TODO[T4-ISSUE]: " + payload
    if noqa is not None:
        comment = noqa.group(0).strip() + "  " + comment
    conv = Conversion(
        file=rel,
        line=lineno,
        id=intent_id,
        code=code,
        code_source=source,
        owner=owner,
        owner_confidence=confidence,
        owner_source=owner_source,
        needs_owner_review=needs_review,
        old="",
        new="",
    )
    return conv, comment


__all__ = ["blame_owners", "owner_from_author", "plan_migration"]

"""Benchmark: ``python -m t4client check`` against plain ``ruff check`` on the same tree.

Generates a tree of ~2,000 files / ~200,000 lines with ~5,000 findings (half of them annotated
with the unified T4 annotation) in a temporary folder, then times, in one run and alternating
the two commands, the validator and plain ``ruff check --output-format json`` with the same
rule selection. Both run with ``--no-cache`` (a CI checkout starts cold); a warm-cache figure is
printed as well. Target: validator at most 1.3x ruff alone.

    .venv/bin/python bench/validator.py [--files 2000] [--lines 100] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from t4client.ruffrun import ruff_command  # noqa: E402 (after the sys.path tweak)
from t4client.validator import DEFAULT_CODES  # noqa: E402

FINDING_LINES = (
    ("import os", "F401"),
    ("value = undefined_name_{i}", "F821"),
    ("import json; import re", "F401,E702"),  # three findings on one line
)


def annotation(ident: str, code: str) -> str:
    data = {
        "id": ident,
        "code": code,
        "owner": "@bench",
        "ticket": "GH-1",
        "status": "planned",
        "reason": "benchmark fixture",
    }
    return "  # TODO[T4-ISSUE]: " + json.dumps(data, separators=(",", ":"))


def generate(root: Path, files: int, lines: int) -> tuple[int, int]:
    """Write the tree; return (expected findings, expected annotated findings)."""
    findings = annotated = 0
    for i in range(files):
        folder = root / f"pkg{i // 100:02d}"
        folder.mkdir(exist_ok=True)
        out = []
        # 1 + (i % 2) finding lines per file: on average 2.5 findings (line 3 carries 3 codes).
        picks = [FINDING_LINES[0], FINDING_LINES[2]] if i % 2 else [FINDING_LINES[1]]
        for n, (text, code) in enumerate(picks):
            text = text.format(i=i)
            count = 3 if "E702" in code else 1
            findings += count
            # Half of all findings annotated: even files' F821 when i % 4 == 0 (500), odd
            # files' three-finding line when i % 4 == 1 (1,500), their F401 when i % 4 == 3.
            if (i % 4 == 0) or (i % 4 == 1 and n == 1) or (i % 4 == 3 and n == 0):
                text += annotation(f"T4-b{i}-{n}", code)
                annotated += count
            out.append(text)
        out.append("")
        k = 0
        while len(out) < lines - 1:
            out += [
                f"def function_{k}(a, b=None):",
                f'    """Return a value computed from a and b ({k})."""',
                "    total = a if b is None else a + b",
                "    for step in range(3):",
                "        total += step",
                "    return total",
                "",
            ]
            k += 1
        out = out[: lines - 1]
        out.append(f"RESULT = {i}")
        (folder / f"mod{i:04d}.py").write_text("\n".join(out) + "\n")
    return findings, annotated


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, bytes]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{cmd[:4]} failed ({proc.returncode}): {proc.stderr.decode()[:500]}")
    return elapsed, proc.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--lines", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("T4_API_KEY", None)  # no registry round trip: this measures the validator itself
    ruff = ruff_command()
    select = ",".join(DEFAULT_CODES)
    with tempfile.TemporaryDirectory(prefix="t4bench-") as tmp:
        tree = Path(tmp)
        (tree / ".git").mkdir()  # the validator's repository root
        expected, expected_annotated = generate(tree, args.files, args.lines)
        n_lines = sum(1 for p in tree.rglob("*.py") for _ in p.open())
        print(
            f"tree: {args.files} files, {n_lines} lines, {expected} findings "
            f"({expected_annotated} annotated) in {tree}"
        )

        plain = [*ruff, "check", "--output-format", "json", "--select", select, "--exit-zero"]
        check = [sys.executable, "-m", "t4client", "check", "--json-only", "--no-registry"]
        results: dict[str, dict[str, list[float]]] = {"cold": {}, "warm": {}}
        for mode, extra in (("cold", ["--no-cache"]), ("warm", [])):
            t_ruff: list[float] = []
            t_check: list[float] = []
            if mode == "warm":  # fill the cache once for both
                timed([*plain, "."], tree, env)
            for _ in range(args.repeat):
                elapsed, out = timed([*plain, *extra, "."], tree, env)
                t_ruff.append(elapsed)
                elapsed, out_check = timed([*check, *extra, "--paths", "."], tree, env)
                t_check.append(elapsed)
            results[mode] = {"ruff": t_ruff, "check": t_check}
        ruff_findings = len(json.loads(out))
        report = json.loads(out_check)
        s = report["summary"]
        assert s["total_findings"] == ruff_findings == expected, (s, ruff_findings, expected)
        assert s["annotated"] == expected_annotated
        assert (
            s["total_findings"]
            == s["annotated"] + s["unannotated"] + s["legacy_format"] + s["waived"]
        )
        print(
            f"report: total {s['total_findings']}, annotated {s['annotated']}, unannotated "
            f"{s['unannotated']}, quality score {report['metrics']['annotation_quality_score']}"
        )
        for mode in ("cold", "warm"):
            r = statistics.median(results[mode]["ruff"])
            c = statistics.median(results[mode]["check"])
            label = "no cache" if mode == "cold" else "warm ruff cache"
            print(
                f"{label:>16}: ruff alone {r * 1000:7.0f} ms   t4client check "
                f"{c * 1000:7.0f} ms   ratio {c / r:.2f}x  (median of {args.repeat})"
            )
        ratio = statistics.median(results["cold"]["check"]) / statistics.median(
            results["cold"]["ruff"]
        )
        print(f"target ≤ 1.30x (no cache): {'met' if ratio <= 1.3 else 'NOT met'} ({ratio:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

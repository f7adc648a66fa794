"""Command line: ``python -m t4client {check,pre-pr,migrate}``.

Exit codes (every command): 0 success, 1 the check found a problem (``check --strict`` on
fail, ``pre-pr`` missing intents, ``migrate`` lines skipped or files left unchanged),
2 error — ruff missing or failing, a bad path, bad configuration, the API down.
"""

from __future__ import annotations

import os
import sys

from t4client import __version__, _http, _launch

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence
    from typing import Any

EXIT_OK, EXIT_FAIL, EXIT_ERROR = 0, 1, 2


def _codes(values: Sequence[str] | None) -> list[str] | None:
    if not values:
        return None
    return [c.strip().upper() for v in values for c in v.replace(",", " ").split() if c.strip()]


def _dump(data: Any) -> str:
    import json

    return json.dumps(data, indent=2, ensure_ascii=False, default=str)


def _dump_compact(data: Any) -> str:
    # One line, no indent: the C encoder is several times faster on large reports (and
    # t4client.jsonfast reaches it without importing json).
    from t4client.jsonfast import dumps_compact

    return dumps_compact(data)


def _error_report(code: str, detail: str) -> dict[str, Any]:
    import datetime as dt

    return {
        "status": "error",
        "timestamp": dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z"),
        "error": {"code": code, "detail": detail},
    }


def _emit_error(args: argparse.Namespace | _CheckArgs, exc: Exception) -> int:
    code = getattr(exc, "code", None) or type(exc).__name__
    if not isinstance(code, str):
        code = type(exc).__name__
    if getattr(args, "json_output", False):
        print(_dump(_error_report(code, str(exc))))
    else:
        print(f"t4client {args.command}: error: {exc}", file=sys.stderr)
    return EXIT_ERROR


# --- check -------------------------------------------------------------------------------


def cmd_check(args: argparse.Namespace | _CheckArgs) -> int:
    from t4client.validator import format_summary, run_check

    try:
        key = os.environ.get("T4_API_KEY") or None
        if args.upload and not key:
            raise _http.T4ConfigError("--upload needs an API key: set T4_API_KEY")
        report = run_check(
            args.paths,
            codes=_codes(args.codes),
            root=args.root,
            ignore_noqa=args.ignore_noqa,
            waivers_file=args.waivers,
            registry_key=None if args.no_registry else key,
            no_cache=args.no_cache,
            repository=args.repository or os.environ.get("GITHUB_REPOSITORY") or None,
            commit=args.commit or os.environ.get("GITHUB_SHA") or None,
        )
    except _http.T4Error as exc:
        return _emit_error(args, exc)
    text = _dump_compact(report) if (args.report or args.json_output) else ""
    if args.report:
        with open(args.report, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
    print(text if args.json_output else format_summary(report))
    rc = EXIT_FAIL if (args.strict and report["status"] == "fail") else EXIT_OK
    if args.upload:
        from t4client.upload import describe_upload_error, upload_report

        try:
            answer = upload_report(report, key=key, sync=args.sync)
        except _http.T4Error as exc:
            print(f"t4client check: {describe_upload_error(exc)}", file=sys.stderr)
            return EXIT_ERROR
        ident = answer.get("id") if isinstance(answer, dict) else None
        print(
            f"t4client check: report uploaded to {_http.api_base()}/reports"
            + (f" (id {ident})" if ident is not None else ""),
            file=sys.stderr,
        )
    return rc


# --- pre-pr ------------------------------------------------------------------------------


def cmd_pre_pr(args: argparse.Namespace) -> int:
    from t4client.policy import MissingIntentsError, pre_pr_check

    try:
        result = pre_pr_check(
            args.files, _codes(args.codes), auto_create_reserved=not args.no_auto_create
        )
    except MissingIntentsError as exc:
        if args.json_output:
            print(_dump({"status": "missing", "missing": exc.missing, "created": exc.created}))
        else:
            print(f"missing intents ({len(exc.missing)}):")
            for m in exc.missing:
                extra = f"  [reserved {m['reserved_id']}]" if m.get("reserved_id") else ""
                print(f"  {m['file']}:{m['line']} {m['code']} {m['message']}{extra}")
            print("register intents (planned/committed/accepted) before opening the PR")
        return EXIT_FAIL
    except _http.T4Error as exc:
        return _emit_error(args, exc)
    if args.json_output:
        print(_dump(result))
    else:
        print(f"all {result['findings']} finding(s) in {result['files']} file(s) have intents")
    return EXIT_OK


# --- migrate -----------------------------------------------------------------------------


def cmd_migrate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from t4client import migrate, migrate_runs

    root = Path(args.root).resolve() if args.root else None
    if args.report and not os.access(Path(args.report).resolve().parent, os.W_OK):
        # Found now, not after the files were rewritten.
        problem = migrate_runs.MigrationError(
            f"cannot write the report to {args.report}", code="bad_report_path"
        )
        return _emit_error(args, problem)
    try:
        if args.revert is not None:  # an empty id is an error, not a dry run
            result = migrate_runs.revert_run(args.revert, root=root, force=args.force)
            if args.json_output:
                print(_dump(result))
            else:
                print(
                    f"run {args.revert}: restored {len(result['restored'])} file(s), "
                    f"{len(result['already_original'])} already original, "
                    f"{len(result['conflicts'])} conflict(s)"
                )
                for c in result["conflicts"]:
                    print(f"  {c['file']}: {c['reason']}")
            return EXIT_FAIL if result["conflicts"] else EXIT_OK
        plan = migrate.plan_migration(args.paths, root=root)
        run_id = None
        if args.apply and plan.files:
            run_id, _ = migrate_runs.apply_plan(plan)
        report = plan.report("apply" if args.apply else "dry-run", run_id)
    except _http.T4Error as exc:
        return _emit_error(args, exc)
    except OSError as exc:  # a file or folder that cannot be read or written
        return _emit_error(args, migrate_runs.MigrationError(str(exc), code="io_error"))
    if args.report:
        Path(args.report).write_text(_dump(report) + "\n", encoding="utf-8")
    if args.json_output:
        print(_dump(report))
    else:
        s = report["summary"]
        verb = "converted" if args.apply else "would convert"
        print(
            f"{verb} {s['conversions']} annotation(s) in {s['files_changed']} file(s) "
            f"({s['files_scanned']} scanned); {s['needs_owner_review']} need owner review"
        )
        for c in report["conversions"]:
            print(
                f"  {c['file']}:{c['line']} {c['code']} {c['id']} owner {c['owner']} "
                f"({c['owner_confidence']:.1f})"
            )
        for sk in report["skipped"]:
            print(f"  skipped {sk['file']}:{sk['line']}: {sk['reason']}")
        for u in report["unchanged_files"]:
            print(f"  left unchanged {u['file']}: {u['reason']}")
        if run_id:
            print(f"run id {run_id} (undo: python -m t4client migrate --revert {run_id})")
    return EXIT_FAIL if (report["skipped"] or report["unchanged_files"]) else EXIT_OK


# --- parser ------------------------------------------------------------------------------


def _columns() -> int:
    """``shutil.get_terminal_size().columns`` without importing shutil (and bz2, lzma…)."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


def build_parser() -> argparse.ArgumentParser:
    import argparse  # not on the fast path of ``check`` (see _check_args)

    class _Formatter(argparse.HelpFormatter):
        """argparse's default formatter; only the terminal width is found without shutil."""

        def __init__(
            self,
            prog: str,
            indent_increment: int = 2,
            max_help_position: int = 24,
            width: int | None = None,
        ) -> None:
            if width is None:
                width = _columns() - 2
            super().__init__(prog, indent_increment, max_help_position, width)

    parser = argparse.ArgumentParser(
        formatter_class=_Formatter,
        prog="python -m t4client",
        description="T4 agent/CI toolkit. Exit codes: 0 ok, 1 check failed, 2 error.",
    )
    parser.add_argument("--version", action="version", version=f"t4client {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def json_flag(p: argparse.ArgumentParser, *names: str) -> None:
        p.add_argument(
            *names, dest="json_output", action="store_true", help="print only JSON on stdout"
        )

    check = sub.add_parser(
        "check",
        formatter_class=_Formatter,
        help="validate inline T4 annotations against ruff's findings",
        description="Run ruff, match each finding to the T4 annotation on its line and print "
        "the report. Exit: 0 done (pass, or fail without --strict), 1 fail with --strict, "
        "2 error (ruff missing/crashing/unreadable, bad path, bad waivers, API down).",
    )
    check.add_argument("--paths", nargs="+", default=["."], help="files or folders (default .)")
    check.add_argument("--codes", nargs="+", help="rule codes (default: the SPEC's list)")
    json_flag(check, "--json-only", "--json")
    check.add_argument("--strict", action="store_true", help="exit 1 when the status is fail")
    check.add_argument("--waivers", metavar="FILE", help="YAML waiver file")
    check.add_argument(
        "--upload",
        action="store_true",
        help="POST the report to $T4_INTENT_API/reports (needs T4_API_KEY)",
    )
    check.add_argument(
        "--sync",
        action="store_true",
        help="with --upload: ask the server to upsert intents from annotations",
    )
    check.add_argument(
        "--ignore-noqa", action="store_true", help="count findings hidden by # noqa as well"
    )
    check.add_argument(
        "--no-registry",
        action="store_true",
        help="do not read accepted intents (waivers) from the registry",
    )
    check.add_argument("--report", metavar="FILE", help="also write the JSON report to FILE")
    check.add_argument("--root", help="repository root (default: nearest folder with .git)")
    check.add_argument("--no-cache", action="store_true", help="pass --no-cache to ruff")
    check.add_argument("--repository", help="repository name stored with an uploaded report")
    check.add_argument("--commit", help="commit stored with an uploaded report")
    check.set_defaults(func=cmd_check)

    pre = sub.add_parser(
        "pre-pr",
        formatter_class=_Formatter,
        help="fail unless every finding in FILES has a registered intent",
        description="Exit: 0 every finding covered, 1 intents missing (reserved placeholders "
        "are registered unless --no-auto-create), 2 error (ruff, API down, no key).",
    )
    pre.add_argument("files", nargs="+", metavar="FILE")
    pre.add_argument("--codes", nargs="+", help="critical codes (default: all ruff reports)")
    pre.add_argument(
        "--no-auto-create",
        action="store_true",
        help="do not register reserved placeholders for missing intents",
    )
    json_flag(pre, "--json")
    pre.set_defaults(func=cmd_pre_pr)

    mig = sub.add_parser(
        "migrate",
        formatter_class=_Formatter,
        help="convert legacy annotations to TODO[T4-ISSUE] (with backups/revert)",
        description="Exit: 0 done, 1 some lines skipped or files left unchanged (reported), "
        "2 error.",
    )
    mode = mig.add_mutually_exclusive_group(required=True)
    mode.add_argument("--dry-run", action="store_true", help="report, change nothing")
    mode.add_argument(
        "--apply",
        action="store_true",
        help="rewrite files, keeping originals under .t4/runs/<RUN_ID>/",
    )
    mode.add_argument("--revert", metavar="RUN_ID", help="restore the originals of a run")
    mig.add_argument("--paths", nargs="+", default=["."], help="files or folders (default .)")
    mig.add_argument("--report", metavar="FILE", help="write the JSON report to FILE")
    mig.add_argument(
        "--force",
        action="store_true",
        help="with --revert: overwrite files changed since the migration",
    )
    mig.add_argument("--root", help="repository root (default: nearest folder with .git)")
    json_flag(mig, "--json")
    mig.set_defaults(func=cmd_migrate)
    return parser


class _CheckArgs:
    """What ``build_parser().parse_args`` returns for a plain ``check`` command line."""

    def __init__(self, **values: object) -> None:
        self.__dict__.update(values)


def _check_args(argv: list[str]) -> _CheckArgs | None:
    """``check``'s arguments without argparse (≈ 2 ms of imports), or None if in any doubt.

    Only the plain spellings ``t4client._launch`` also reads are taken: every option in full,
    each value a separate word not starting with ``-``. For these argparse gives the same
    values (tests/t4client/test_fastpath.py compares the two); anything else — help, an
    abbreviation, ``--opt=value``, ``--``, a stray word — goes to argparse.
    """
    if argv[:1] != ["check"]:
        return None
    opts = _launch._parse_check_argv(argv[1:])
    if opts is None:
        return None
    return _CheckArgs(
        command="check",
        paths=opts["paths"],
        codes=opts["codes"],
        json_output=bool(opts.get("--json-only") or opts.get("--json")),
        strict=bool(opts.get("--strict")),
        waivers=opts.get("--waivers"),
        upload=bool(opts.get("--upload")),
        sync=bool(opts.get("--sync")),
        ignore_noqa=bool(opts.get("--ignore-noqa")),
        no_registry=bool(opts.get("--no-registry")),
        report=opts.get("--report"),
        root=opts.get("--root"),
        no_cache=bool(opts.get("--no-cache")),
        repository=opts.get("--repository"),
        commit=opts.get("--commit"),
        func=cmd_check,
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = _check_args(sys.argv[1:] if argv is None else list(argv))
    if args is None:
        args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return EXIT_ERROR
    finally:
        _launch.discard()  # a head start nobody claimed (python -m t4client check)

"""`br-tui --scan ...` and `br-tui hooks ...`: the headless scanner for git hooks and CI.

Exit codes: 0 no findings, 1 findings, 2 usage or runtime error (one line on stderr). Nothing
here imports Textual or the engine's other parts: a hook pays for every import.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

# engine.cli_support (argparse's error, the exit codes) loads only off the hook's path: it
# imports `typing`. EXIT_USAGE there is this 2.
USAGE_ERROR = 2

_FLAGS = {
    "--staged": "staged",
    "--no-baseline": "no_baseline",
    "--update-baseline": "update_baseline",
    "--no-secrets": "no_secrets",
    "--no-sqli": "no_sqli",
}
_VALUED = {"--format": "format", "--diff": "diff", "--baseline": "baseline", "--output": "output"}
_VALUED["-o"] = "output"


def _quick_parse(argv: list[str]) -> SimpleNamespace | None:
    """The usual command lines (a hook's `--staged`, CI's `--format sarif -o FILE`) without
    argparse; None for anything else (help, abbreviations, errors), which argparse then handles."""
    args = SimpleNamespace(
        paths=[], format="text", staged=False, diff=None, baseline=None, no_baseline=False,
        update_baseline=False, no_secrets=False, no_sqli=False, output=None,
    )  # fmt: skip
    i = 0
    while i < len(argv):
        arg = argv[i]
        name, eq, value = arg.partition("=")
        if arg in _FLAGS:
            setattr(args, _FLAGS[arg], True)
        elif name in _VALUED and (eq or i + 1 < len(argv)):
            if not eq:
                i += 1
                value = argv[i]
            if value.startswith("-") or (name == "--format" and value not in _FORMATS):
                return None
            setattr(args, _VALUED[name], value)
        elif arg and not arg.startswith("-"):
            args.paths.append(arg)
        else:
            return None
        i += 1
    if args.staged and args.diff is not None:
        return None  # argparse words the error
    return args


_FORMATS = ("text", "json", "sarif")


def _scan_parser():
    from engine.cli_support import parser_class

    p = parser_class()(
        prog="br-tui --scan",
        description="Find secrets and SQL injection. Exit 0 clean, 1 findings, 2 error.",
    )
    p.add_argument("paths", nargs="*", help="files/directories (default: staged files, else .)")
    p.add_argument("--format", choices=_FORMATS, default="text")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--staged", action="store_true", help="scan the git index (pre-commit)")
    src.add_argument("--diff", metavar="REV", help="scan lines added since REV")
    p.add_argument("--baseline", metavar="FILE", help="baseline file (default from config)")
    p.add_argument("--no-baseline", action="store_true", help="report accepted findings too")
    p.add_argument(
        "--update-baseline", action="store_true", help="accept every current finding, exit 0"
    )
    p.add_argument("--no-secrets", action="store_true")
    p.add_argument("--no-sqli", action="store_true")
    p.add_argument("-o", "--output", metavar="FILE", help="write the report to FILE")
    return p


def _has_staged(root: Path) -> bool:
    from engine.security.sources import GitError, run_git

    try:
        return bool(run_git(["diff", "--cached", "--name-only", "-z"], root).strip())
    except GitError:  # a `.git` that git doesn't accept: scan the directory instead
        return False


_SHOWN_PER_REASON = 3


def _report_skipped(skipped: list[tuple[str, str]]) -> None:
    """One stderr line per reason: how many files were not scanned, and the first few."""
    by_reason: dict[str, list[str]] = {}
    for path, why in skipped:
        by_reason.setdefault(why, []).append(path)
    for why, paths in sorted(by_reason.items()):
        shown = ", ".join(sorted(paths)[:_SHOWN_PER_REASON])
        more = f", +{len(paths) - _SHOWN_PER_REASON} more" if len(paths) > _SHOWN_PER_REASON else ""
        sys.stderr.write(f"br-tui --scan: skipped {len(paths)} file(s), {why}: {shown}{more}\n")


class _StagedPrefetch:
    """The index contents a `--staged` run scans, read on a thread started before the scanner's
    modules load: the two git processes (~5 ms) then run beside the imports (~10 ms) instead
    of after them, on a second core. `take` hands over what was read (or raises what failed)."""

    def __init__(self) -> None:
        import threading

        self.root: Path | None = None
        self.files: list[tuple[str, bytes]] | None = None
        self.skipped: list[tuple[str, str]] = []
        self.error: BaseException | None = None
        # While the main thread imports (CPU-bound, holding the GIL), a waiting thread gets the
        # GIL only every switch interval (5 ms): that is when git's output is read and the next
        # git started. A short interval until `take` keeps git going.
        self._interval = sys.getswitchinterval()
        sys.setswitchinterval(0.0002)
        self._thread = threading.Thread(target=self._read, name="br-tui-staged", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            from engine.security.sources import repo_root, staged_files

            self.root = repo_root(".")
            if self.root is not None:
                self.files = staged_files(self.root, self.skipped)
        except BaseException as exc:  # re-raised in the caller by `take`
            self.error = exc

    def finish(self) -> None:
        """Wait for the thread and put the switch interval back (idempotent)."""
        self._thread.join()
        sys.setswitchinterval(self._interval)

    def take(self, root: Path | None, skipped: list[tuple[str, str]]) -> list | None:
        """The staged files of `root` (None: not read here, let the scanner read them)."""
        self.finish()
        if root is None or self.root != root:
            return None
        if self.error is not None:
            raise self.error
        skipped += self.skipped
        return self.files


def _run(args: SimpleNamespace, prefetch: _StagedPrefetch | None = None) -> int:
    from engine.security.config import load_config
    from engine.security.report import render
    from engine.security.scanner import scan_diff, scan_paths, scan_staged
    from engine.security.sources import repo_root

    root = repo_root(".")
    config = load_config(root or Path.cwd())
    if args.baseline:
        config.baseline = str(Path(args.baseline).resolve())
    config.secrets = config.secrets and not args.no_secrets
    config.sqli = config.sqli and not args.no_sqli
    use_baseline = not (args.no_baseline or args.update_baseline)
    staged = args.staged or (
        not args.paths and not args.diff and root is not None and _has_staged(root)
    )
    skipped: list[tuple[str, str]] = []
    if staged:
        index = prefetch.take(root, skipped) if prefetch is not None else None
        findings = scan_staged(root, config, baseline=use_baseline, skipped=skipped, index=index)
    elif args.diff:
        findings = scan_diff(root, args.diff, config, baseline=use_baseline, skipped=skipped)
    else:
        findings = scan_paths(args.paths or ["."], config, baseline=use_baseline, skipped=skipped)
    _report_skipped(skipped)
    if args.update_baseline:
        from engine.security.baseline import save_baseline

        count = save_baseline(config.root / config.baseline, findings)
        sys.stderr.write(f"br-tui --scan: baseline {config.baseline} accepts {count} finding(s)\n")
        return 0
    report = render(findings, args.format)
    if args.output:
        Path(args.output).write_text(report, "utf-8")
    else:
        sys.stdout.write(report)
    return 1 if findings else 0


def main(argv: list[str]) -> int:
    """Entry point for `br-tui --scan ARGS` (argv is what follows `--scan`)."""
    args = _quick_parse(argv)
    if args is None:
        from engine.cli_support import UsageError, fail

        try:
            args = _scan_parser().parse_args(argv)  # type: ignore[assignment]
        except UsageError as exc:
            return fail(exc)
        except SystemExit as exc:  # usage error or --help: return the code, don't exit the caller
            return int(exc.code or 0)
    prefetch = _StagedPrefetch() if args.staged else None
    try:
        return _run(args, prefetch)
    except KeyboardInterrupt:
        return USAGE_ERROR
    except (OSError, ValueError, RuntimeError) as exc:  # git, config, rules, baseline, I/O
        sys.stderr.write(f"br-tui --scan: {exc}\n")
        return USAGE_ERROR
    finally:
        if prefetch is not None:  # a run that failed before taking what was read
            prefetch.finish()


def hooks_main(argv: list[str]) -> int:
    """Entry point for `br-tui hooks install|uninstall [--repo DIR]`."""
    from engine.cli_support import UsageError, fail, parser_class

    p = parser_class()(prog="br-tui hooks", description="Manage the git pre-commit hook.")
    p.add_argument("action", choices=("install", "uninstall"))
    p.add_argument("--repo", default=".", help="repository (default: current directory)")
    try:
        args = p.parse_args(argv)
    except UsageError as exc:
        return fail(exc)
    except SystemExit as exc:
        return int(exc.code or 0)
    from engine.security.hooks import install_hook, uninstall_hook

    try:
        if args.action == "install":
            hook = install_hook(args.repo)
            sys.stdout.write(f"installed {hook}\n")
        elif uninstall_hook(args.repo):
            sys.stdout.write("removed br-tui's pre-commit hook\n")
        else:
            sys.stdout.write("no br-tui pre-commit hook to remove\n")
    except (OSError, RuntimeError) as exc:
        sys.stderr.write(f"br-tui hooks: {exc}\n")
        return USAGE_ERROR
    return 0

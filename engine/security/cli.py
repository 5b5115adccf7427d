"""`br-tui --scan ...` and `br-tui hooks ...`: the headless scanner for git hooks and CI.

Exit codes: 0 no findings, 1 findings, 2 usage or runtime error (one line on stderr). Nothing
here imports Textual or the engine's other parts: a hook pays for every import.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

USAGE_ERROR = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"br-tui --scan: {message}\n")
        raise SystemExit(USAGE_ERROR)


def _scan_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="br-tui --scan",
        description="Find secrets and SQL injection. Exit 0 clean, 1 findings, 2 error.",
    )
    p.add_argument("paths", nargs="*", help="files/directories (default: staged files, else .)")
    p.add_argument("--format", choices=("text", "json", "sarif"), default="text")
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
    from engine.security.sources import _git

    return bool(_git(["diff", "--cached", "--name-only", "-z"], root).strip())


def _run(args: argparse.Namespace) -> int:
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
    if staged:
        findings = scan_staged(root, config, baseline=use_baseline)
    elif args.diff:
        findings = scan_diff(root, args.diff, config, baseline=use_baseline)
    else:
        findings = scan_paths(args.paths or ["."], config, baseline=use_baseline)
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
    try:
        args = _scan_parser().parse_args(argv)
    except SystemExit as exc:  # usage error or --help: return the code, don't exit the caller
        return int(exc.code or 0)
    try:
        return _run(args)
    except KeyboardInterrupt:
        return USAGE_ERROR
    except (OSError, ValueError, RuntimeError) as exc:  # git, config, rules, baseline, I/O
        sys.stderr.write(f"br-tui --scan: {exc}\n")
        return USAGE_ERROR


def hooks_main(argv: list[str]) -> int:
    """Entry point for `br-tui hooks install|uninstall [--repo DIR]`."""
    p = _Parser(prog="br-tui hooks", description="Manage the git pre-commit hook.")
    p.add_argument("action", choices=("install", "uninstall"))
    p.add_argument("--repo", default=".", help="repository (default: current directory)")
    try:
        args = p.parse_args(argv)
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

"""What every command-line front end shares: the parser's error, `--db` / `--json`, output
and errors, and the exit codes (`br-tui`'s verbs, `telemetry`, `routing`, `--scan`, the owner).

Conventions (docs/cli.md): machine-readable output on stdout with `--json`, errors as one line
on stderr, exit 0 success, 1 something failed (findings, a failed run), 2 usage / plan /
database error, 130 interrupted. A git hook imports this module, so it loads nothing at import
time: argparse (~6 ms: gettext, locale, shutil) only when a parser is built.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    import argparse

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
DB_HELP = "database path (default $BR_DB or ./.buildrunner/br.db)"
JSON_HELP = "machine-readable output"


class UsageError(Exception):
    """A bad command line: its message is already `prog: what is wrong`."""


_parser_cls: type[argparse.ArgumentParser] | None = None


def parser_class() -> type[argparse.ArgumentParser]:
    """An ArgumentParser whose errors raise `UsageError` (one line, exit 2) instead of
    printing the usage block and exiting."""
    global _parser_cls
    if _parser_cls is None:
        import argparse

        class Parser(argparse.ArgumentParser):
            def error(self, message: str) -> None:  # type: ignore[override]
                raise UsageError(f"{self.prog}: {message}")

        _parser_cls = Parser
    return _parser_cls


def parser(**kwargs: Any) -> argparse.ArgumentParser:
    return parser_class()(**kwargs)


def subcommands(p: argparse.ArgumentParser, dest: str) -> Any:
    """Required subcommands whose parsers share the one-line error."""
    return p.add_subparsers(dest=dest, required=True, parser_class=parser_class())


def common_options(*, db: bool = True, json: bool = True) -> argparse.ArgumentParser:
    """A parent parser with `--db PATH` and `--json`, for `parents=[...]`."""
    common = parser(add_help=False)
    if db:
        common.add_argument("--db", help=DB_HELP)
    if json:
        common.add_argument("--json", action="store_true", help=JSON_HELP)
    return common


def emit(
    as_json: bool,
    obj: Any,
    text: str,
    *,
    mask: Callable[[str], str] | None = None,
    out: IO[str] | None = None,
) -> None:
    """`obj` as one JSON line with `--json`, else `text`; through `mask` when given."""
    if as_json:
        import json

        text = json.dumps(obj, default=str)
    print(mask(text) if mask else text, file=out or sys.stdout)


def fail(exc: BaseException, prog: str = "br-tui") -> int:
    """Report an error as one line on stderr; the usage / runtime exit code."""
    message = str(exc) if isinstance(exc, UsageError) else f"{prog}: {exc}"
    print(message, file=sys.stderr)
    return EXIT_USAGE


def positive(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    import argparse

    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return n

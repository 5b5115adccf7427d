"""`br-tui streams`, `br-tui checkpoint`, `br-tui decide`: the streams verbs, headless.

Conventions as every verb: `--json` on stdout, errors one line on stderr, exit 2 for a usage
error. `checkpoint` exits 0 when it merged or had nothing to merge, 1 on a conflict or a failed
gate. `python -m engine.streams VERB ...` is the same entry (checkpoint tasks run it).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
VERBS = ("streams", "checkpoint", "decide")


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise _UsageError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="br-tui", description="Streams: worktrees, checkpoints, decisions.")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", help="database path (default $BR_DB or ./.buildrunner/br.db)")
    common.add_argument("--json", action="store_true", help="machine-readable output")
    sub = p.add_subparsers(dest="verb", required=True, parser_class=_Parser)
    st = sub.add_parser("streams", parents=[common], help="a session's streams")
    st.add_argument("session", nargs="?", help="id, id prefix or name (default: latest)")
    cp = sub.add_parser("checkpoint", parents=[common], help="merge streams behind the gates")
    cp.add_argument("session", nargs="?")
    cp.add_argument("--target", help="branch to advance (default: the plan's, else the branch"
                    " checked out when the session was created)")  # fmt: skip
    cp.add_argument("--id", dest="checkpoint", help="a [[checkpoint]] of the plan (default:"
                    " every stream, merge strategy, every gate)")  # fmt: skip
    dc = sub.add_parser("decide", parents=[common], help="add to the session's shared decisions")
    dc.add_argument("session")
    dc.add_argument("text")
    dc.add_argument("--author", help="who decided (default $USER)")
    dc.add_argument("--stream", help="the stream it concerns")
    return p


def main(argv: list[str]) -> int:
    try:
        args = build_parser().parse_args(argv)
    except _UsageError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    from engine.sessions import SessionError, resolve_session
    from engine.store import Store, StoreError, resolve_db_path
    from engine.streams import CheckpointError, DecisionError, GitError, StreamError

    try:
        store = Store(resolve_db_path(args.db))
    except StoreError as exc:
        print(f"br-tui: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        session = resolve_session(store, args.session)
        return {"streams": _streams, "checkpoint": _checkpoint, "decide": _decide}[args.verb](
            store, session, args
        )
    except (SessionError, CheckpointError, DecisionError, StoreError, StreamError) as exc:
        print(f"br-tui: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except GitError as exc:
        print(f"br-tui: {exc}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        store.close()


def _streams(store: Any, session: dict[str, Any], args: argparse.Namespace) -> int:
    from engine.streams import stream_views

    views = stream_views(store, session["id"])
    if args.json:
        print(json.dumps({"session_id": session["id"], "streams": [v.to_json() for v in views]}))
        return EXIT_OK
    if not views:
        print(f"session {session['id']} has no streams")
        return EXIT_OK
    for v in views:
        tasks = f"{v.tasks_done}/{v.tasks_total} tasks" + (
            f", {v.tasks_failed} failed" if v.tasks_failed else ""
        )
        print(f"{v.id:<16} {v.state:<12} {v.branch}  +{v.ahead} -{v.behind}  {tasks}")
        if v.last_commit:
            print(f"{'':16} {v.last_commit}")
        if v.notice:
            print(f"{'':16} ! {v.notice}")
    return EXIT_OK


def _checkpoint(store: Any, session: dict[str, Any], args: argparse.Namespace) -> int:
    from engine.streams import run_checkpoint

    def say(line: str) -> None:
        if not args.json:
            print(line, flush=True)

    result = run_checkpoint(store, session["id"], args.checkpoint, target=args.target, on_line=say)
    if args.json:
        print(json.dumps(result.to_json()))
    elif result.status not in ("merged", "nothing_to_merge"):
        print(f"br-tui: checkpoint {result.status}: {result.message}", file=sys.stderr)
    return EXIT_OK if result.ok else EXIT_FAILED


def _decide(store: Any, session: dict[str, Any], args: argparse.Namespace) -> int:
    import getpass

    from engine.streams import add_decision

    author = args.author or f"person {getpass.getuser()}"
    text = add_decision(store, session["id"], args.text, author=author, stream_id=args.stream)
    store.flush()
    if args.json:
        print(json.dumps({"session_id": session["id"], "text": text, "author": author}))
    else:
        print(f"{session['id']}: decision recorded")
    return EXIT_OK


def cleanup_text(trees: dict[str, Any], dry_run: bool) -> str:
    """What `br-tui cleanup` says about worktrees (empty when it touched none)."""
    out = []
    verb = "would remove" if dry_run else "removed"
    for r in trees["removed"]:
        name = f"stream {r['stream']} ({r['branch']})" if r["stream"] else r["worktree"]
        out.append(f"{verb} {name}: {r['reason']}")
    for r in trees["kept"]:
        out.append(f"kept stream {r['stream']} ({r['branch']}): {r['reason']} (--force removes it)")
    return "".join(f"{line}\n" for line in out)

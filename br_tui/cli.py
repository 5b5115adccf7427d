"""The `br-tui` command: the app by default, headless verbs for scripts, hooks and CI.

Start-up is paid by every git hook and every scripted call, so nothing is imported before the
verb is known: `--scan` never loads Textual, the store, or asyncio.
"""

from __future__ import annotations

import os
import sys

HEADLESS = {
    "run",
    "status",
    "list",
    "pause",
    "resume",
    "cancel",
    "workers",
    "scale",
    "summary",
    "cleanup",
}
STREAMS = {"streams", "checkpoint", "decide"}


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if args and args[0] == "--scan":
            from engine.security.cli import main as scan_main

            return scan_main(args[1:])
        if args and args[0] == "hooks":
            from engine.security.cli import hooks_main

            return hooks_main(args[1:])
        if args and args[0] == "routing":
            from engine.routing.cli import main as routing_main

            return routing_main(args[1:])
        if args and args[0] == "telemetry":
            from engine.telemetry.cli import main as telemetry_main

            return telemetry_main(args[1:])
        if args and args[0] == "serve":
            from br_tui.serve import main as serve_main

            return serve_main(args[1:])
        if args and args[0] in STREAMS:
            from engine.streams.cli import main as streams_main

            return streams_main(args)
        if args and args[0] in HEADLESS:
            from br_tui.headless import main as headless_main

            return headless_main(args)
        from br_tui.launch import main as app_main

        return app_main(args)
    except KeyboardInterrupt:
        print("br-tui: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


#: Verbs that never draw: they may leave without tearing the interpreter down (see `entry`).
QUICK_EXIT = HEADLESS | STREAMS | {"--scan", "hooks", "routing", "telemetry"}


def entry() -> None:
    """The console script. A headless verb leaves with `os._exit` once its output is flushed:
    by then its store is committed and closed, and tearing the interpreter down (module
    teardown, a last collection over the heap) is ~20 ms after a 2,000-task run that a script
    or a git hook waits for. The app leaves normally, through Textual's own shutdown."""
    args = sys.argv[1:]
    code = main(args)
    if args and args[0] in QUICK_EXIT:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except BrokenPipeError:
            pass  # the reader went away (`| head`): as for any other verb, not an error
        except OSError:
            code = 120  # output lost (disk full...): what the interpreter's own exit reports
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    entry()

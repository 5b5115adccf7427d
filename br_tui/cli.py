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

#: The first argument -> (module, function, whether it receives the verb itself). Modules are
#: imported only when their verb is used: `--scan` loads the scanner and nothing else.
DISPATCH: dict[str, tuple[str, str, bool]] = {
    "--scan": ("engine.security.cli", "main", False),
    "hooks": ("engine.security.cli", "hooks_main", False),
    "routing": ("engine.routing.cli", "main", False),
    "telemetry": ("engine.telemetry.cli", "main", False),
    "serve": ("br_tui.serve", "main", False),
    **{verb: ("engine.streams.cli", "main", True) for verb in STREAMS},
    **{verb: ("br_tui.headless", "main", True) for verb in HEADLESS},
}
#: Anything else opens the app (or runs a plan headless when there's no terminal).
APP = ("br_tui.launch", "main", True)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    module, name, whole = DISPATCH.get(args[0], APP) if args else APP
    try:
        from importlib import import_module

        handler = getattr(import_module(module), name)
        return handler(args if whole else args[1:])
    except KeyboardInterrupt:
        print("br-tui: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


#: Verbs that never draw: they may leave without tearing the interpreter down (see `entry`).
QUICK_EXIT = set(DISPATCH) - {"serve"}  # serve runs a web server until it is stopped


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

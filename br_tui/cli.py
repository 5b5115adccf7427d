"""The `br-tui` command: the app by default, headless verbs for scripts, hooks and CI.

Start-up is paid by every git hook and every scripted call, so nothing is imported before the
verb is known: `--scan` never loads Textual, the store, or asyncio.
"""

from __future__ import annotations

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


if __name__ == "__main__":
    sys.exit(main())

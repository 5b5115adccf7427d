"""`br-tui [PLAN.toml]`: the app, or a headless run when there's no terminal to draw on."""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    plan = next((a for a in argv if not a.startswith("-")), None)
    if not sys.stdout.isatty() and plan is not None:
        from br_tui.headless import main as headless_main

        return headless_main(["run", *argv])
    from br_tui.app import main as app_main

    return app_main(argv)

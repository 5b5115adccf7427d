"""`python -m engine.streams streams|checkpoint|decide ...`: the verbs `br-tui` dispatches to,
and what a plan's checkpoint tasks run."""

import sys

from engine.streams.cli import main

if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

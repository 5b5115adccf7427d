"""`python -m engine.routing ...` = `br-tui routing ...` (until the main CLI wires it)."""

import sys

from engine.routing.cli import main

sys.exit(main(sys.argv[1:]))

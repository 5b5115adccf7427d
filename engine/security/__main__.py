"""`python -m engine.security [--scan args]` and `python -m engine.security hooks ...`.

The same entry points `br-tui --scan` and `br-tui hooks` call; usable before (and without) the
console script, and by the installed hook when `br-tui` is not on PATH.
"""

import sys

from engine.security.cli import hooks_main, main

if __name__ == "__main__":
    argv = sys.argv[1:]
    if argv[:1] == ["hooks"]:
        raise SystemExit(hooks_main(argv[1:]))
    if argv[:1] == ["--scan"]:
        argv = argv[1:]
    raise SystemExit(main(argv))

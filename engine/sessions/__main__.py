"""`python -m engine.sessions SESSION --db PATH`: own a session until it ends (see owner.py)."""

import sys

from engine.sessions.owner import main

sys.exit(main(sys.argv[1:]))

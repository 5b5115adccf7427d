import sys

from br_tui.cli import main

sys.exit(main())

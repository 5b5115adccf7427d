from br_tui.cli import entry

entry()

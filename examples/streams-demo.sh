#!/bin/sh
# Run examples/streams.toml offline in a scratch git repository (never in this checkout):
# a small Python project with uncommitted work of "yours" that the run leaves untouched.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
demo=${1:-$(mktemp -d "${TMPDIR:-/tmp}/br-streams-demo.XXXXXX")}
mkdir -p "$demo" && cd "$demo"
git init -q -b main .
printf '.env\n.buildrunner/\n__pycache__/\n.coverage\ncoverage.xml\n' > .gitignore
mkdir -p app tests && : > app/__init__.py && : > tests/__init__.py
printf '[pytest]\npythonpath = .\n' > pytest.ini
printf 'API_TOKEN=dev-only\n' > .env
git add -A && git -c user.name=demo -c user.email=demo@localhost commit -q -m "start"
echo "notes: your uncommitted work" > NOTES.txt          # untracked: the run must not touch it
cp "$here/examples/streams.toml" streams.toml
export BR_STANDIN_AGENT="$here/tests/standins/fake_claude.py"
echo "br-tui: scratch repository $demo"
br-tui run streams.toml --workers 4 || true
br-tui streams
br-tui status

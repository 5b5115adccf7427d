"""Install and remove the git pre-commit hook that runs the scanner on staged content.

An existing hook is kept and chained (moved to `pre-commit.br-tui-chained` and run first), not
clobbered. The hook prefers `br-tui` on PATH and falls back to the interpreter recorded at
install time, so it keeps working from GUIs and shells without the virtualenv activated.
"""

from __future__ import annotations

import os
import shlex
import stat
import sys
from pathlib import Path

MARKER = "# installed by br-tui hooks install"
CHAINED = "pre-commit.br-tui-chained"


def _hooks_dir(repo: Path) -> Path:
    from engine.security.sources import run_git

    out = run_git(["rev-parse", "--git-path", "hooks"], repo).decode().strip()
    path = Path(out)
    return path if path.is_absolute() else repo / path


def _script(python: str) -> str:
    py = shlex.quote(python)
    return f"""#!/bin/sh
{MARKER}
# Blocks a commit whose staged content holds a secret or an injectable query.
# Skip once with: git commit --no-verify
here=$(dirname "$0")
if [ -x "$here/{CHAINED}" ]; then
    "$here/{CHAINED}" "$@" || exit $?
fi
if command -v br-tui >/dev/null 2>&1; then
    exec br-tui --scan --staged
fi
exec {py} -m engine.security --staged
"""


def install_hook(repo: Path | str = ".", python: str | None = None) -> Path:
    """Write the pre-commit hook; returns its path. Idempotent."""
    hooks = _hooks_dir(Path(repo))
    hooks.mkdir(parents=True, exist_ok=True)
    hook = hooks / "pre-commit"
    if hook.exists() and MARKER not in hook.read_text("utf-8", "replace"):
        chained = hooks / CHAINED
        if chained.exists():
            raise FileExistsError(f"{chained} already exists; remove it first")
        hook.rename(chained)
    hook.write_text(_script(python or sys.executable), "utf-8")
    hook.chmod(hook.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return hook


def uninstall_hook(repo: Path | str = ".") -> bool:
    """Remove br-tui's hook and restore a chained one; False if br-tui's hook wasn't there."""
    hooks = _hooks_dir(Path(repo))
    hook = hooks / "pre-commit"
    if not hook.exists() or MARKER not in hook.read_text("utf-8", "replace"):
        return False
    hook.unlink()
    chained = hooks / CHAINED
    if chained.exists():
        os.replace(chained, hook)
    return True

"""How a notice reaches the user outside a screen: the terminal bell, a desktop notification
(`notify-send`, where installed), and the user's own command.

The command runs without a shell (each argument has its placeholders replaced, so a summary
with quotes or `;` in it is one argument, never code), with stdin closed, in its own process
group, and is killed with that group after `timeout_s`.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

from engine.notify.config import PLACEHOLDERS
from engine.notify.notices import Notice

_PLACEHOLDER = re.compile(r"\{(" + "|".join(PLACEHOLDERS) + r")\}")
#: notify-send's urgency for each notice severity.
URGENCY = {"information": "normal", "warning": "normal", "error": "critical"}


def fill(argv: Sequence[str], notice: Notice) -> list[str]:
    """`argv` with `{session}`, `{name}`, `{event}`, `{status}`, `{summary}` replaced; other
    braces are left as they are (no `str.format`: a value can't reach attributes or indexes),
    and one pass: a placeholder inside a value (a session named "{summary}") stays text."""
    fields = notice.fields()
    return [_PLACEHOLDER.sub(lambda m: fields[m.group(1)], arg) for arg in argv]


def run_command(argv: Sequence[str], timeout_s: float) -> str | None:
    """Run `argv`; None when it exited 0, else one line saying what went wrong."""
    try:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own group: a timeout kills what it started too
        )
    except OSError as exc:
        return f"{argv[0]}: {exc.strerror or exc}"
    try:
        _, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.communicate()
        return f"{argv[0]}: killed after {timeout_s:g}s"
    if proc.returncode:
        tail = (err or b"").decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
        return f"{argv[0]}: exit {proc.returncode} {tail[0]}".rstrip()
    return None


def desktop(
    notice: Notice, timeout_s: float = 5.0, which: Callable[[str], str | None] = shutil.which
) -> str | None:
    """A desktop notification through notify-send, if it is installed (else nothing)."""
    exe = which("notify-send")
    if exe is None:
        return None
    return run_command(
        [exe, "--app-name=br-tui", f"--urgency={URGENCY.get(notice.severity, 'normal')}",
         notice.title, notice.summary],
        timeout_s,
    )  # fmt: skip


def bell(stream: TextIO | None = None) -> None:
    stream = stream or sys.stderr
    try:
        stream.write("\a")
        stream.flush()
    except (OSError, ValueError):  # closed or gone: a bell is not worth an error
        pass

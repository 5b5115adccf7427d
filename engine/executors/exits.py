"""What a finished process group's wait status means for its task, the same on this machine and
on a Dask worker: a verdict the executor reached first (cancelled, timed out) wins over the
exit code, and a signal death is named rather than shown as a negative number."""

from __future__ import annotations

import os
import signal


def exit_outcome(
    status: int, verdict: tuple[str, str | None] | None
) -> tuple[str, int, str | None]:
    """(state, exit code, reason) for a `waitpid` status."""
    code = os.waitstatus_to_exitcode(status)
    if verdict is not None:
        return verdict[0], code, verdict[1]
    if code == 0:
        return "succeeded", code, None
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return "failed", code, f"killed by {name}"
    return "failed", code, f"exit code {code}"

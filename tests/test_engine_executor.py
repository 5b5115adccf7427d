"""The subprocess executor's edges: cancel racing a timeout tick, teardown while output drains,
a second cancel with no grace left. Real processes, driven on a real event loop."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from engine_helpers import pid_alive

from engine.executors.base import ControlSlot, Outcome, RunContext
from engine.executors.subprocess import SubprocessExecutor


def ctx(cmd: str, cwd: Path, timeout: float | None = None) -> RunContext:
    return RunContext(
        session_id="s",
        task_id="t",
        attempt=1,
        worker_id="w",
        argv=["/bin/sh", "-c", cmd],
        cwd=str(cwd),
        env=dict(os.environ),
        timeout=timeout,
        on_line=lambda stream, line: None,
    )


def test_cancel_of_a_paused_task_is_a_cancel_not_a_timeout(tmp_path: Path) -> None:
    """Paused past its timeout, then cancelled just as a timeout tick is due behind a slow
    callback: the pause must not count as running time and the verdict is `cancelled`."""

    async def main() -> Outcome:
        loop = asyncio.get_running_loop()
        ex, slot = SubprocessExecutor(), ControlSlot()
        run = asyncio.ensure_future(ex.run(ctx("sleep 30", tmp_path, timeout=1.0), slot))
        await asyncio.sleep(0.2)
        slot.pause()
        await asyncio.sleep(1.6)  # paused longer than the timeout
        attempt = slot.current._on_cancel.__self__  # type: ignore[union-attr]
        tick = attempt.timer.when()  # the next paused-timeout tick
        # the loop is busy across the tick; the cancel lands just before it in the same pass
        loop.call_at(tick - 0.1, time.sleep, 0.2)
        loop.call_at(tick - 0.0005, slot.cancel)
        return await run

    outcome = asyncio.run(main())
    assert outcome.status == "cancelled", (outcome.status, outcome.reason)


def test_teardown_while_output_drains_kills_the_leftovers(tmp_path: Path) -> None:
    """The main process exited, a background child still holds stdout, and the worker awaiting
    the attempt is torn down: the leftover must not outlive it."""
    pidfile = tmp_path / "bg.pid"

    async def main() -> None:
        ex, slot = SubprocessExecutor(), ControlSlot()
        run = asyncio.ensure_future(
            ex.run(ctx(f"sleep 30 & echo $! > {pidfile}; echo started", tmp_path), slot)
        )
        for _ in range(100):  # the main process is gone; the drain is waiting on the pipe
            await asyncio.sleep(0.02)
            if pidfile.exists() and pidfile.read_text().strip():
                break
        await asyncio.sleep(0.05)
        run.cancel()
        try:
            await run
        except asyncio.CancelledError:
            pass

    asyncio.run(main())
    bg = int(pidfile.read_text())
    for _ in range(50):
        if not pid_alive(bg):
            break
        time.sleep(0.02)
    assert not pid_alive(bg), "the background child outlived its torn-down attempt"


def test_second_cancel_without_grace_kills_at_once(tmp_path: Path) -> None:
    """A task ignoring SIGTERM: the first cancel waits out the grace period, a second one with
    the grace set to zero (what a second Ctrl-C does) kills the group now."""

    async def main() -> Outcome:
        ex, slot = SubprocessExecutor(), ControlSlot()
        ex.kill_grace_s = 30.0
        run = asyncio.ensure_future(ex.run(ctx("trap '' TERM; sleep 30", tmp_path), slot))
        await asyncio.sleep(0.3)
        slot.cancel()
        await asyncio.sleep(0.2)
        assert not run.done(), "SIGTERM is ignored: the task must still be running"
        ex.kill_grace_s = 0.0
        slot.cancel()
        # Ended long before the first cancel's 30 s grace or the task's own 30 s sleep could
        # end it: only the second cancel's SIGKILL can have (the wait is a hang guard).
        return await asyncio.wait_for(run, 15)

    outcome = asyncio.run(main())
    assert outcome.status == "cancelled"
    assert outcome.exit_code == -9, "killed by the second cancel's SIGKILL"


def test_exit_is_seen_when_output_closes_early_or_stays_open(tmp_path: Path) -> None:
    """A task that closes its output and carries on is still waited for (its exit code is
    its own), and one whose output stays open past its exit is seen to exit."""

    async def main() -> tuple[Outcome, Outcome]:
        ex = SubprocessExecutor()
        closes = await ex.run(
            ctx("exec >&- 2>&-; sleep 0.3; touch after-output-closed; exit 3", tmp_path),
            ControlSlot(),
        )
        # The background `sleep 30` holds the pipe open for 30 s; ending within the hang guard
        # means the exit was seen while the pipe stayed open.
        held = await asyncio.wait_for(
            ex.run(ctx("sleep 30 & echo started; exit 4", tmp_path), ControlSlot()), 15
        )
        return closes, held

    closes, held = asyncio.run(main())
    assert (closes.status, closes.exit_code) == ("failed", 3)
    # waited for the exit, not for the output to close: what the task did after closing it is done
    assert (tmp_path / "after-output-closed").exists()
    assert (held.status, held.exit_code) == ("failed", 4)


def test_exit_outcome_reads_real_wait_statuses() -> None:
    """One reading of a wait status for the local and the Dask executor alike."""
    import os
    import subprocess

    from engine.executors.exits import exit_outcome

    def status(cmd: str) -> int:
        proc = subprocess.Popen(["sh", "-c", cmd])
        return os.waitpid(proc.pid, 0)[1]

    assert exit_outcome(status("exit 0"), None) == ("succeeded", 0, None)
    assert exit_outcome(status("exit 3"), None) == ("failed", 3, "exit code 3")
    assert exit_outcome(status("kill -TERM $$"), None) == ("failed", -15, "killed by SIGTERM")
    timed_out = ("failed", "timed out after 1s")
    assert exit_outcome(status("kill -KILL $$"), timed_out) == ("failed", -9, timed_out[1])

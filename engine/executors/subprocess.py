"""Run a command in its own process group, streaming its output line by line.

Why not `asyncio.create_subprocess_exec`: we need the child's own resource usage (peak RSS, CPU)
from `wait4`, which asyncio's child watchers reap away from us. So we spawn with `Popen` (vfork
fast path), read the pipes through the loop, and wait on a pidfd, reaping with `os.wait4`.
The child gets stdin from /dev/null: it must never inherit the app's terminal.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time

from engine.executors.base import ControlSlot, Outcome, RunContext

KILL_GRACE_S = 2.0
MAX_LINE = 64 * 1024


class ProcessControl:
    """Signals to a whole process group; paused time is excluded from the timeout clock."""

    def __init__(self, pgid: int) -> None:
        self.pgid = pgid
        self.paused_at: float | None = None
        self.paused_total = 0.0
        self.cancel_requested = asyncio.Event()

    def _signal(self, sig: int) -> None:
        try:
            os.killpg(self.pgid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def pause(self) -> None:
        if self.paused_at is None:
            self.paused_at = time.monotonic()
            self._signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self.paused_at is not None:
            self.paused_total += time.monotonic() - self.paused_at
            self.paused_at = None
            self._signal(signal.SIGCONT)

    def cancel(self) -> None:
        self.cancel_requested.set()

    def running_time(self, started: float) -> float:
        now = time.monotonic()
        paused = self.paused_total + (now - self.paused_at if self.paused_at else 0.0)
        return now - started - paused


async def _pump(reader: asyncio.StreamReader, stream: str, ctx: RunContext) -> None:
    while True:
        try:
            raw = await reader.readline()
        except ValueError:  # a line longer than the limit: take what there is
            raw = await reader.read(MAX_LINE)
        if not raw:
            return
        ctx.on_line(stream, raw.decode("utf-8", "replace").rstrip("\r\n"))


async def _reader_for(pipe: object, loop: asyncio.AbstractEventLoop) -> asyncio.StreamReader:
    reader = asyncio.StreamReader(limit=MAX_LINE, loop=loop)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader, loop=loop), pipe)
    return reader


async def _wait_exit(pid: int, loop: asyncio.AbstractEventLoop) -> tuple[int, object]:
    """Wait for the child without a child watcher: a pidfd becomes readable when it exits."""
    fd = os.pidfd_open(pid)
    done = loop.create_future()
    loop.add_reader(fd, lambda: done.done() or done.set_result(None))
    try:
        await done
    finally:
        loop.remove_reader(fd)
        os.close(fd)
    _, status, rusage = os.wait4(pid, 0)
    return status, rusage


class SubprocessExecutor:
    """Runs `ctx.argv`; the default executor for `run = "..."` tasks."""

    kill_grace_s = KILL_GRACE_S

    async def run(self, ctx: RunContext, slot: ControlSlot) -> Outcome:
        assert ctx.argv, "subprocess executor needs argv"
        loop = asyncio.get_running_loop()
        started = time.monotonic()
        try:
            proc = subprocess.Popen(
                ctx.argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=ctx.cwd,
                env=dict(ctx.env),
                process_group=0,
                close_fds=True,
            )
        except OSError as exc:
            return Outcome("failed", exit_code=None, reason=f"cannot start: {exc.strerror}")
        pgid = proc.pid
        control = ProcessControl(pgid)
        ctx.on_spawn(pgid)
        slot.attach(control)
        try:
            out, err = await asyncio.gather(
                _reader_for(proc.stdout, loop), _reader_for(proc.stderr, loop)
            )
            pumps = asyncio.gather(_pump(out, "stdout", ctx), _pump(err, "stderr", ctx))
            exit_task = asyncio.ensure_future(_wait_exit(proc.pid, loop))
            status_reason: tuple[str, str | None] | None = None
            cancel_wait = asyncio.ensure_future(control.cancel_requested.wait())
            try:
                while not exit_task.done():
                    wait_for = None
                    if ctx.timeout is not None:
                        wait_for = max(0.0, ctx.timeout - control.running_time(started))
                        if control.paused_at is not None:
                            wait_for = max(wait_for, 0.5)
                    await asyncio.wait(
                        {exit_task, cancel_wait},
                        timeout=wait_for,
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                    if exit_task.done():
                        break
                    if cancel_wait.done() and status_reason is None:
                        status_reason = ("cancelled", "cancelled")
                        await self._terminate(control, exit_task)
                    elif (
                        ctx.timeout is not None
                        and control.paused_at is None
                        and control.running_time(started) >= ctx.timeout
                        and status_reason is None
                    ):
                        status_reason = ("timeout", f"timed out after {ctx.timeout:g}s")
                        await self._terminate(control, exit_task)
            finally:
                cancel_wait.cancel()
            status, rusage = await exit_task
            # The group may have left children holding our pipes open; they die with the group.
            control._signal(signal.SIGKILL)
            try:
                await asyncio.wait_for(pumps, timeout=1.0)
            except TimeoutError:
                pumps.cancel()
        finally:
            slot.detach()
            for pipe in (proc.stdout, proc.stderr):
                if pipe is not None:
                    pipe.close()
        wall = time.monotonic() - started
        code = os.waitstatus_to_exitcode(status)
        cpu = rusage.ru_utime + rusage.ru_stime  # type: ignore[attr-defined]
        rss = int(rusage.ru_maxrss)  # type: ignore[attr-defined]
        if status_reason is not None:
            state, reason = status_reason
        elif code == 0:
            state, reason = "succeeded", None
        elif code < 0:
            state, reason = "failed", f"killed by {signal.Signals(-code).name}"
        else:
            state, reason = "failed", f"exit code {code}"
        return Outcome(state, code, reason, wall, cpu, rss)

    async def _terminate(self, control: ProcessControl, exit_task: asyncio.Future) -> None:
        """SIGTERM the group (waking it if stopped), then SIGKILL after the grace period."""
        control._signal(signal.SIGTERM)
        control._signal(signal.SIGCONT)
        control.paused_at = None
        done, _ = await asyncio.wait({exit_task}, timeout=self.kill_grace_s)
        if not done:
            control._signal(signal.SIGKILL)

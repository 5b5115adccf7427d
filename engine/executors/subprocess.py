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
from concurrent.futures import ThreadPoolExecutor

from engine.executors.base import ControlSlot, Outcome, RunContext

KILL_GRACE_S = 2.0
MAX_LINE = 64 * 1024
EXIT_POLL_S = 0.25


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


class _LineReader:
    """Reads a pipe fd through the loop's selector and hands out complete lines.

    Lighter than a StreamReader transport per pipe: plans of many short tasks spawn thousands.
    """

    def __init__(self, fd: int, stream: str, ctx: RunContext, loop: asyncio.AbstractEventLoop):
        self.fd, self.stream, self.ctx, self.loop = fd, stream, ctx, loop
        self.buf = b""
        self.closed: asyncio.Future[None] = loop.create_future()
        os.set_blocking(fd, False)
        loop.add_reader(fd, self._on_readable)

    def _on_readable(self) -> None:
        try:
            chunk = os.read(self.fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            self.close()
            return
        data = self.buf + chunk
        *lines, self.buf = data.split(b"\n")
        if len(self.buf) > MAX_LINE:  # a runaway line: emit what we have
            lines.append(self.buf)
            self.buf = b""
        for raw in lines:
            self.ctx.on_line(self.stream, raw.decode("utf-8", "replace").rstrip("\r"))

    def close(self) -> None:
        if self.closed.done():
            return
        self.loop.remove_reader(self.fd)
        if self.buf:
            self.ctx.on_line(self.stream, self.buf.decode("utf-8", "replace").rstrip("\r"))
            self.buf = b""
        os.close(self.fd)
        self.closed.set_result(None)


async def _wait_exit(pid: int, readers: list[_LineReader]) -> tuple[int, object]:
    """Wait for the child without a child watcher (we want its rusage from wait4).

    Nearly every child closes its output by exiting, so wait for both pipes' EOF and reap at
    once. A child whose pipes stay open (a background grandchild holds them) or that closed
    them early is noticed by a 4 Hz non-blocking reap instead.
    """
    closed = [r.closed for r in readers]
    while True:
        done, _ = await asyncio.wait(closed, timeout=EXIT_POLL_S)
        reaped, status, rusage = os.wait4(pid, os.WNOHANG)
        if reaped:
            return status, rusage
        if len(done) == len(closed):  # pipes closed, process lingers: wait for it properly
            closed = [asyncio.ensure_future(asyncio.sleep(EXIT_POLL_S))]


_DEVNULL: int | None = None
_SPAWNER: ThreadPoolExecutor | None = None


def _spawner() -> ThreadPoolExecutor:
    """Spawning blocks until the child has exec'd; a few threads overlap those waits
    (fork_exec releases the GIL), which is what lets many short tasks keep workers busy."""
    global _SPAWNER
    if _SPAWNER is None:
        _SPAWNER = ThreadPoolExecutor(
            max_workers=int(os.environ.get("BR_SPAWN_THREADS", "4")), thread_name_prefix="br-spawn"
        )
    return _SPAWNER


def proc_start_ticks(pid: int) -> int | None:
    """The process' start time in clock ticks since boot: tells a pid apart from its reuse."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode()
        return int(stat.rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def _spawn(ctx: RunContext, out_w: int, err_w: int) -> tuple[subprocess.Popen[bytes], int | None]:
    proc = subprocess.Popen(
        ctx.argv,  # type: ignore[arg-type]
        stdin=_devnull(),
        stdout=out_w,
        stderr=err_w,
        cwd=ctx.cwd,
        env=ctx.env,
        process_group=0,
        close_fds=True,
    )
    return proc, proc_start_ticks(proc.pid)


def _devnull() -> int:
    """One /dev/null fd for every child's stdin, instead of an open() per spawn."""
    global _DEVNULL
    if _DEVNULL is None:
        _DEVNULL = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
    return _DEVNULL


class SubprocessExecutor:
    """Runs `ctx.argv`; the default executor for `run = "..."` tasks."""

    kill_grace_s = KILL_GRACE_S

    async def run(self, ctx: RunContext, slot: ControlSlot) -> Outcome:
        assert ctx.argv, "subprocess executor needs argv"
        loop = asyncio.get_running_loop()
        started = time.monotonic()
        out_r, out_w = os.pipe2(os.O_CLOEXEC)
        err_r, err_w = os.pipe2(os.O_CLOEXEC)
        try:
            proc, pstart = await loop.run_in_executor(_spawner(), _spawn, ctx, out_w, err_w)
        except OSError as exc:
            os.close(out_r)
            os.close(err_r)
            what = exc.strerror or str(exc)
            return Outcome("failed", exit_code=127, reason=f"cannot start {ctx.argv[0]}: {what}",
                           retryable=False)  # fmt: skip
        finally:
            os.close(out_w)
            os.close(err_w)
        pgid = proc.pid
        control = ProcessControl(pgid)
        ctx.on_spawn(pgid, pstart)
        slot.attach(control)
        readers = [_LineReader(out_r, "stdout", ctx, loop), _LineReader(err_r, "stderr", ctx, loop)]
        try:
            exit_task = asyncio.ensure_future(_wait_exit(proc.pid, readers))
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
            proc.returncode = os.waitstatus_to_exitcode(status)  # reaped: Popen mustn't poll
            pending = [r.closed for r in readers if not r.closed.done()]
            if pending:  # output still buffered, or a leftover child holds the pipe open
                await asyncio.wait(pending, timeout=0.2)
                if not all(r.closed.done() for r in readers):
                    # Leftover children of the group hold our pipes open; they die with it.
                    control._signal(signal.SIGKILL)
                    await asyncio.wait([r.closed for r in readers], timeout=1.0)
        finally:
            slot.detach()
            for r in readers:
                r.close()
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

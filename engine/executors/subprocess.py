"""Run a command in its own process group, streaming its output line by line.

An attempt lives on the event loop: the child's two pipes (and, for a task that outlives a
moment, a pidfd) are watched through one epoll that the loop reads, and the timeout, the kill
grace period and the output drain are loop timers. No thread, no transport, no per-pipe future:
plans of thousands of short tasks spend most of their time starting processes, and this costs
half the parent CPU of a thread per attempt (and far less than asyncio's subprocess
transports) on a small machine, CPU the tasks themselves get. Children get stdin from
/dev/null: they must never inherit the app's terminal.
"""

from __future__ import annotations

import asyncio
import os
import select
import signal
import threading
import time
import weakref
from collections.abc import Callable
from functools import partial

from engine.executors.base import ControlSlot, Outcome, RunContext
from engine.executors.exits import exit_outcome
from engine.executors.spawn import spawn

KILL_GRACE_S = 2.0
MAX_LINE = 64 * 1024
#: How long output may keep flowing after the main process exited (a grandchild holding the
#: pipe) before the rest of the group is killed; then as long again before we stop listening.
DRAIN_S = 0.2
LEFTOVER_S = 1.0
PAUSED_TICK_S = 0.25  # while paused the timeout clock stands still: look again this often
#: A task still running after this long gets its exit watched through a pidfd (see
#: `_Attempt._watch_exit`); shorter ones are reaped when their pipes close.
WATCH_EXIT_AFTER_S = 0.05


class ProcessControl:
    """Signals to a whole process group; paused time is excluded from the timeout clock."""

    def __init__(self, pgid: int, on_cancel: Callable[[], None] | None = None) -> None:
        self.pgid = pgid
        self.paused_at: float | None = None
        self.paused_total = 0.0
        self.cancel_requested = False
        self._on_cancel = on_cancel

    def signal(self, sig: int) -> None:
        try:
            os.killpg(self.pgid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def pause(self) -> None:
        if self.paused_at is None:
            self.paused_at = time.monotonic()
            self.signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self.paused_at is not None:
            self.paused_total += time.monotonic() - self.paused_at
            self.paused_at = None
            self.signal(signal.SIGCONT)

    def cancel(self) -> None:
        """SIGTERM at once (waking a stopped group); the attempt records the cancel and sends
        SIGKILL if the group outlives the grace period."""
        self.cancel_requested = True
        self.terminate()
        if self._on_cancel is not None:
            self._on_cancel()

    def terminate(self) -> None:
        """SIGTERM the group, waking it if stopped (a pause ends here and never counts as
        running time); what a cancel and a timeout both send first."""
        if self.paused_at is not None:
            self.paused_total += time.monotonic() - self.paused_at
            self.paused_at = None
        self.signal(signal.SIGTERM)
        self.signal(signal.SIGCONT)

    def running_time(self, started: float) -> float:
        now = time.monotonic()
        paused = self.paused_total + (now - self.paused_at if self.paused_at else 0.0)
        return now - started - paused


_DEVNULL: int | None = None


def _devnull() -> int:
    """One /dev/null fd for every child's stdin, instead of an open() per spawn."""
    global _DEVNULL
    if _DEVNULL is None:
        _DEVNULL = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
    return _DEVNULL


class _Lines:
    """Splits a pipe's bytes into lines for `ctx.on_line`."""

    __slots__ = ("buf", "ctx", "stream")

    def __init__(self, stream: str, ctx: RunContext) -> None:
        self.stream, self.ctx, self.buf = stream, ctx, b""

    def feed(self, chunk: bytes) -> None:
        *lines, self.buf = (self.buf + chunk).split(b"\n")
        if len(self.buf) > MAX_LINE:  # a runaway line: emit what we have
            lines.append(self.buf)
            self.buf = b""
        for raw in lines:
            self.ctx.on_line(self.stream, raw.decode("utf-8", "replace").rstrip("\r"))

    def close(self) -> None:
        if self.buf:
            self.ctx.on_line(self.stream, self.buf.decode("utf-8", "replace").rstrip("\r"))
            self.buf = b""


class _Watcher:
    """One epoll for every attempt's pipes and pidfds of a loop, which the loop watches as a
    single descriptor. asyncio's own `add_reader` builds a handle, a selector key and a
    transport check per call; six of those per attempt were a tenth of the engine's CPU on
    plans of short tasks."""

    _by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Watcher] = (
        weakref.WeakKeyDictionary()
    )

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.epoll = select.epoll()
        self.handlers: dict[int, Callable[[], None]] = {}
        loop.add_reader(self.epoll.fileno(), self._dispatch)

    @classmethod
    def of(cls, loop: asyncio.AbstractEventLoop) -> _Watcher:
        watcher = cls._by_loop.get(loop)
        if watcher is None or watcher.epoll.closed:
            watcher = cls._by_loop[loop] = cls(loop)
        return watcher

    def add(self, fd: int, handler: Callable[[], None]) -> None:
        self.handlers[fd] = handler
        self.epoll.register(fd, select.EPOLLIN)

    def remove(self, fd: int) -> None:
        if self.handlers.pop(fd, None) is not None:
            self.epoll.unregister(fd)

    def _dispatch(self) -> None:
        for fd, _ in self.epoll.poll(0):
            handler = self.handlers.get(fd)  # None: removed by an earlier handler this round
            if handler is None:
                continue
            try:
                handler()
            except Exception as exc:  # one attempt's failure must not starve the others
                self.loop.call_exception_handler(
                    {"message": "subprocess executor callback failed", "exception": exc}
                )


class _Attempt:
    """One running child: its pipes, its pidfd and its timers, all driven by loop callbacks."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, ctx: RunContext, pid: int, owner: SubprocessExecutor
    ) -> None:
        self.loop, self.ctx, self.pid, self.owner = loop, ctx, pid, owner
        self.started = time.monotonic()
        self.done: asyncio.Future[Outcome] = loop.create_future()
        self.control = ProcessControl(pid, on_cancel=self._cancel_soon)
        self.verdict: tuple[str, str] | None = None
        self.exited: tuple[int, os.struct_rusage] | None = None
        self.pipes: dict[int, _Lines] = {}
        self.timer: asyncio.TimerHandle | None = None  # timeout, kill or drain: one at a time
        self.kill_at: float | None = None
        self.leftovers_killed = False
        self.pidfd: int | None = None
        self.exit_watch: asyncio.TimerHandle | None = None
        self.watcher = _Watcher.of(loop)

    def start(self, out_r: int, err_r: int) -> None:
        self.exit_watch = self.loop.call_later(WATCH_EXIT_AFTER_S, self._watch_exit)
        self.watch(out_r, "stdout")
        self.watch(err_r, "stderr")
        if self.ctx.timeout is not None:
            self._at(self.ctx.timeout, self._check_timeout)

    def watch(self, fd: int, stream: str) -> None:
        self.pipes[fd] = _Lines(stream, self.ctx)
        self.watcher.add(fd, partial(self._on_readable, fd))

    # -- timers ------------------------------------------------------------------------------

    def _at(self, delay: float, fn: Callable[[], None]) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.timer = self.loop.call_later(max(0.0, delay), fn)

    def _check_timeout(self) -> None:
        self.timer = None
        if self.verdict is not None or self.exited is not None or self.ctx.timeout is None:
            return
        if self.control.cancel_requested:  # its verdict is on its way from the loop's queue
            return
        if self.control.paused_at is not None:
            self._at(PAUSED_TICK_S, self._check_timeout)
            return
        left = self.ctx.timeout - self.control.running_time(self.started)
        if left > 0:
            self._at(left, self._check_timeout)
            return
        self.verdict = ("timeout", f"timed out after {self.ctx.timeout:g}s")
        self.control.terminate()
        self._kill_after(self.owner.kill_grace_s)

    def _kill_after(self, grace: float) -> None:
        """SIGKILL the group `grace` seconds from now, unless a kill is already due sooner (a
        second cancel with no grace left, as a second Ctrl-C sends, brings it forward)."""
        at = time.monotonic() + grace
        if self.kill_at is None or at < self.kill_at:
            self.kill_at = at
            self._at(grace, self._kill)

    def _cancel_soon(self) -> None:
        # cancel() may be called from a signal handler or another thread: book it on the loop.
        self.loop.call_soon_threadsafe(self._on_cancel)

    def _on_cancel(self) -> None:
        if self.done.done():
            return
        if self.verdict is None:
            self.verdict = ("cancelled", "cancelled")
        if self.exited is None:
            self._kill_after(self.owner.kill_grace_s)

    def _kill(self) -> None:
        self.timer = None
        self.kill_at = None
        if self.exited is None:
            self.control.signal(signal.SIGKILL)

    def _drained_too_long(self) -> None:
        """The main process is gone but something of its group still holds our pipes."""
        self.timer = None
        if not self.leftovers_killed:
            self.control.signal(signal.SIGKILL)
            self.leftovers_killed = True
            self._at(LEFTOVER_S, self._drained_too_long)
            return
        for fd in list(self.pipes):
            self._close_pipe(fd)
        self._finish()

    # -- readiness ---------------------------------------------------------------------------

    def _on_readable(self, fd: int) -> None:
        chunk = os.read(fd, 65536)  # readable: returns at once (we are its only reader)
        if chunk:
            self.pipes[fd].feed(chunk)
            return
        self._close_pipe(fd)
        if not self.pipes and self.exited is None:
            self._await_exit()
        else:
            self._finish()

    def _await_exit(self) -> None:
        """Both pipes closed: almost always because the process exited, so reap it now."""
        if self.exit_watch is not None:
            self.exit_watch.cancel()
            self.exit_watch = None
        self._watch_exit()

    def _watch_exit(self) -> None:
        """Learn of the process' exit. Short tasks end by closing their pipes and are reaped at
        once, never needing a pidfd (four system calls fewer each); one still running after
        a moment, or that closed its output and carried on, gets a pidfd watched, so its exit
        is seen even while a leftover of its group holds the pipes open."""
        self.exit_watch = None
        if self.exited is not None or self.pidfd is not None:
            return
        pid, status, rusage = os.wait4(self.pid, os.WNOHANG)
        if pid:
            self._exited(status, rusage)
            self._finish()
            return
        self.pidfd = os.pidfd_open(self.pid)
        self.watcher.add(self.pidfd, self._on_exit)

    def _close_pipe(self, fd: int) -> None:
        lines = self.pipes.pop(fd, None)
        if lines is None:
            return
        self.watcher.remove(fd)
        os.close(fd)
        lines.close()

    def _on_exit(self) -> None:
        _, status, rusage = os.wait4(self.pid, 0)
        self._close_pidfd()
        self._exited(status, rusage)
        self._finish()

    def _exited(self, status: int, rusage: os.struct_rusage) -> None:
        self.exited = (status, rusage)
        self.kill_at = None
        if self.pipes:
            self._at(DRAIN_S, self._drained_too_long)

    def _close_pidfd(self) -> None:
        if self.pidfd is not None:
            self.watcher.remove(self.pidfd)
            os.close(self.pidfd)
            self.pidfd = None

    def _stop_timers(self) -> None:
        for handle in (self.timer, self.exit_watch):
            if handle is not None:
                handle.cancel()
        self.timer = self.exit_watch = None

    def _finish(self) -> None:
        if self.exited is None or self.pipes or self.done.done():
            return
        self._stop_timers()
        status, rusage = self.exited
        wall = time.monotonic() - self.started
        cpu = rusage.ru_utime + rusage.ru_stime
        if self.verdict is None and self.control.cancel_requested:
            self.verdict = ("cancelled", "cancelled")
        state, code, reason = exit_outcome(status, self.verdict)
        self.done.set_result(Outcome(state, code, reason, wall, cpu, int(rusage.ru_maxrss)))

    def abandon(self) -> None:
        """Nobody awaits this attempt any more (its worker was torn down, or setting it up
        failed): stop listening, SIGKILL the whole group and reap the child on a thread, so
        neither a zombie nor a leftover holding the pipes survives it."""
        self._stop_timers()
        for fd in list(self.pipes):
            self.watcher.remove(fd)
            os.close(fd)
        self.pipes.clear()
        self.control.signal(signal.SIGKILL)  # also what remains of an exited main process
        if self.exited is None:
            self._close_pidfd()
            threading.Thread(target=_reap, args=(self.pid,), name="br-reap", daemon=True).start()


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, 0)  # the group was sent SIGKILL: this returns at once
    except ChildProcessError:
        pass


class SubprocessExecutor:
    """Runs `ctx.argv`; the default executor for `run = "..."` tasks."""

    kill_grace_s = KILL_GRACE_S

    async def run(self, ctx: RunContext, slot: ControlSlot) -> Outcome:
        assert ctx.argv, "subprocess executor needs argv"
        loop = asyncio.get_running_loop()
        out_r, out_w = os.pipe2(os.O_CLOEXEC)
        err_r, err_w = os.pipe2(os.O_CLOEXEC)
        try:
            pid = spawn(ctx.argv, ctx.env, ctx.cwd, (_devnull(), out_w, err_w))
        except (OSError, ValueError) as exc:
            os.close(out_r)
            os.close(err_r)
            what = getattr(exc, "strerror", None) or str(exc)
            return Outcome("failed", exit_code=127, reason=f"cannot start {ctx.argv[0]}: {what}",
                           retryable=False)  # fmt: skip
        finally:
            os.close(out_w)
            os.close(err_w)
        attempt = _Attempt(loop, ctx, pid, self)
        try:
            attempt.start(out_r, err_r)
        except BaseException:
            for fd in (out_r, err_r):
                if fd not in attempt.pipes:
                    os.close(fd)
            attempt.abandon()
            raise
        ctx.on_spawn(pid)
        slot.attach(attempt.control)
        try:
            return await attempt.done
        except asyncio.CancelledError:
            attempt.abandon()
            raise
        finally:
            slot.detach()

"""On a Dask worker: run one attempt of a task as its own process group and report back.

This module is what the owner submits (`run_attempt`) and what its controls call through
`Client.run` (`control`, `kill_session`, `sweep_orphans`); it is imported on the worker by
reference, so every worker needs br-tui installed at the owner's version (`VERSION` is checked
when the owner connects).

Why the process is steered from here and not through Dask: `Future.cancel()` does not stop a
running task (dask/distributed #2617), and a worker thread cannot be interrupted. So each
attempt registers itself in `_RUNNING`; a control from the owner signals its process group
directly (pause SIGSTOP, resume SIGCONT, cancel SIGTERM then SIGKILL after a grace period),
and the attempt's own loop enforces the timeout and notices when the scheduler released its
key (the owner cancelled it or went away) and kills the group then too.

Output travels as batches of lines through `Worker.log_event` on the session's topic (masked
here first, so no secret sits in the scheduler's event log); a short attempt sends none at all
and returns its lines with its result.
"""

from __future__ import annotations

import os
import select
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from engine.executors.exits import exit_outcome
from engine.executors.spawn import spawn
from engine.security.masking import redact

#: Bumped when the job or the messages change shape; the owner refuses workers that differ.
VERSION = 1
MAX_LINE = 64 * 1024
FLUSH_S = 0.05  # a line waits at most this long before its batch is sent
BATCH_LINES = 256
BATCH_BYTES = 32 * 1024
START_S = 0.02  # an attempt still running this long is announced (shorter ones never are)
TICK_S = 0.2  # the loop looks at controls, timeouts and its key this often when idle
DRAIN_S = 0.2  # output may flow this long after the main process exited
LEFTOVER_S = 1.0
TOMBSTONE_S = 3600.0
#: Environment variable that marks every process an attempt starts with the worker process
#: that started it (`pid:starttime`), so a worker can find the orphans of one that died.
MARK = "BR_DASK_WORKER"

_LOCK = threading.Lock()
_RUNNING: dict[str, _Attempt] = {}
_TOMBSTONES: dict[str, float] = {}  # keys cancelled before they started here
_DEVNULL: int | None = None


def version() -> int:
    return VERSION


def _devnull() -> int:
    global _DEVNULL
    if _DEVNULL is None:
        _DEVNULL = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
    return _DEVNULL


def _start_time(pid: int) -> str | None:
    """The kernel's start time of `pid` (clock ticks since boot): with the pid, an identity
    that a recycled pid does not share. None when it is gone or a zombie (a dead worker whose
    parent died too may stay a zombie where nothing reaps orphans)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] == b"Z" else fields[19].decode()


def _mark() -> str:
    return f"{os.getpid()}:{_start_time(os.getpid())}"


def _signal(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


@dataclass
class _Attempt:
    """One process group running on this worker for one attempt of one task."""

    job: dict[str, Any]
    address: str
    send: Any  # (msg) -> None: Worker.log_event bound to the session's topic
    pid: int = 0
    started: float = field(default_factory=time.monotonic)
    paused_at: float | None = None
    paused_total: float = 0.0
    verdict: tuple[str, str] | None = None
    kill_at: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    # -- controls (called on the worker's event loop by `control`) ---------------------------

    def pause(self) -> None:
        with self.lock:
            if self.paused_at is None and self.verdict is None:
                self.paused_at = time.monotonic()
                _signal(self.pid, signal.SIGSTOP)

    def resume(self) -> None:
        with self.lock:
            if self.paused_at is not None:
                self.paused_total += time.monotonic() - self.paused_at
                self.paused_at = None
                _signal(self.pid, signal.SIGCONT)

    def stop(self, state: str, reason: str, grace: float) -> None:
        """SIGTERM now (waking a stopped group), SIGKILL when the grace period is over; a
        second stop with less grace left brings the kill forward."""
        with self.lock:
            if self.verdict is None:
                self.verdict = (state, reason)
            if self.paused_at is not None:
                self.paused_total += time.monotonic() - self.paused_at
                self.paused_at = None
            _signal(self.pid, signal.SIGTERM)
            _signal(self.pid, signal.SIGCONT)
            at = time.monotonic() + max(0.0, grace)
            if self.kill_at is None or at < self.kill_at:
                self.kill_at = at

    def running_time(self, now: float) -> float:
        paused = self.paused_total + (now - self.paused_at if self.paused_at else 0.0)
        return now - self.started - paused

    # -- the run (on a worker thread) --------------------------------------------------------

    def run(self, released: Any) -> dict[str, Any]:
        job = self.job
        argv: list[str] = job["argv"]
        env = {**os.environ, **job["env"], MARK: _mark()}
        out_r, out_w = os.pipe2(os.O_CLOEXEC)
        err_r, err_w = os.pipe2(os.O_CLOEXEC)
        try:
            self.pid = spawn(argv, env, job["cwd"], (_devnull(), out_w, err_w))
        except (OSError, ValueError) as exc:
            os.close(out_r)
            os.close(err_r)
            what = getattr(exc, "strerror", None) or str(exc)
            return _result("failed", 127, f"cannot start {argv[0]} on {self.address}: {what}",
                           retryable=False)  # fmt: skip
        finally:
            os.close(out_w)
            os.close(err_w)
        self.started = time.monotonic()
        return _Loop(self, out_r, err_r, released).run()


class _Loop:
    """Reads the group's output, batches it, and enforces timeout, kill and drain deadlines."""

    def __init__(self, att: _Attempt, out_r: int, err_r: int, released: Any) -> None:
        self.att = att
        self.released = released  # () -> bool: the scheduler let go of our key
        self.poll = select.poll()
        self.pipes = {out_r: ["stdout", b""], err_r: ["stderr", b""]}
        for fd in self.pipes:
            self.poll.register(fd, select.POLLIN)
        self.pidfd = os.pidfd_open(att.pid)
        self.poll.register(self.pidfd, select.POLLIN)
        self.exited: tuple[int, Any] | None = None
        self.batch: list[list[str]] = []
        self.batch_bytes = 0
        self.batch_since = 0.0
        self.sent = 0
        self.last_sent = time.monotonic()
        self.announced = False
        self.drain_until: float | None = None
        self.leftovers_killed = False
        job = att.job
        self.timeout: float | None = job.get("timeout")
        self.beat_s: float = job.get("heartbeat_s", 1.0)
        self.mask: bool = job.get("mask", True)

    def run(self) -> dict[str, Any]:
        att = self.att
        try:
            while self.pipes or self.exited is None:
                now = time.monotonic()
                self._deadlines(now)
                if not self.pipes and self.exited is not None:
                    break
                wait = self._next_wait(now)
                for fd, _ in self.poll.poll(wait * 1000):
                    if fd == self.pidfd:
                        self._reap()
                    elif fd in self.pipes:
                        self._read(fd)
                if self.exited is None and not self.pipes:
                    self._reap()  # both pipes closed: almost always the process exited
        finally:
            for fd in list(self.pipes):
                self._close(fd)
            if self.pidfd is not None:
                os.close(self.pidfd)
                self.pidfd = None
            if self.exited is None:  # an error in this loop: leave nothing behind
                _signal(att.pid, signal.SIGKILL)
                self._reap(block=True)
        status, rusage = self.exited
        wall = time.monotonic() - att.started
        out = _result(*exit_outcome(status, att.verdict))
        out.update(wall_s=wall, cpu_s=rusage.ru_utime + rusage.ru_stime,
                   peak_rss_kb=int(rusage.ru_maxrss), batches=self.sent, tail=self.batch,
                   pid=att.pid)  # fmt: skip
        return out

    def _next_wait(self, now: float) -> float:
        due = [now + TICK_S]
        if not self.announced:
            due.append(self.att.started + START_S)
        if self.batch:
            due.append(self.batch_since + FLUSH_S)
        if self.att.kill_at is not None:
            due.append(self.att.kill_at)
        if self.drain_until is not None:
            due.append(self.drain_until)
        if self.timeout is not None and self.att.paused_at is None and self.att.verdict is None:
            due.append(now + max(0.0, self.timeout - self.att.running_time(now)))
        return max(0.0, min(due) - now)

    def _deadlines(self, now: float) -> None:
        att = self.att
        if self.batch and now - self.batch_since >= FLUSH_S:
            self._flush()
        elif not self.announced and now - att.started >= START_S:
            self._send({"e": "start"})
        elif now - self.last_sent >= self.beat_s:
            self._send({"e": "beat"})
        if (
            self.timeout is not None
            and att.verdict is None
            and att.paused_at is None
            and att.running_time(now) >= self.timeout
        ):
            att.stop("timeout", f"timed out after {self.timeout:g}s", att.job.get("grace", 2.0))
        if att.verdict is None and self.exited is None and self.released():
            att.stop("cancelled", "released by the scheduler (owner gone or cancelled)", 0.0)
        if att.kill_at is not None and now >= att.kill_at and self.exited is None:
            _signal(att.pid, signal.SIGKILL)
            att.kill_at = None
        if self.drain_until is not None and now >= self.drain_until:
            _signal(att.pid, signal.SIGKILL)  # what remains of the group holds our pipes
            if self.leftovers_killed:
                for fd in list(self.pipes):
                    self._close(fd)
                self.drain_until = None
            else:
                self.leftovers_killed = True
                self.drain_until = now + LEFTOVER_S

    def _read(self, fd: int) -> None:
        chunk = os.read(fd, 65536)
        if not chunk:
            self._close(fd)
            return
        entry = self.pipes[fd]
        *lines, rest = (entry[1] + chunk).split(b"\n")
        if len(rest) > MAX_LINE:
            lines.append(rest)
            rest = b""
        entry[1] = rest
        for raw in lines:
            self._line(entry[0], raw)

    def _line(self, stream: str, raw: bytes) -> None:
        text = raw.decode("utf-8", "replace").rstrip("\r")
        if self.mask:
            text = redact(text)
        if not self.batch:
            self.batch_since = time.monotonic()
        self.batch.append([stream, text])
        self.batch_bytes += len(text)
        if len(self.batch) >= BATCH_LINES or self.batch_bytes >= BATCH_BYTES:
            self._flush()

    def _close(self, fd: int) -> None:
        entry = self.pipes.pop(fd, None)
        if entry is None:
            return
        self.poll.unregister(fd)
        os.close(fd)
        if entry[1]:
            self._line(entry[0], entry[1])

    def _reap(self, block: bool = False) -> None:
        if self.exited is not None:
            return
        pid, status, rusage = os.wait4(self.att.pid, 0 if block else os.WNOHANG)
        if not pid:
            return
        self.exited = (status, rusage)
        self.att.kill_at = None
        if self.pidfd is not None:
            self.poll.unregister(self.pidfd)
            os.close(self.pidfd)
            self.pidfd = None
        if self.pipes:
            self.drain_until = time.monotonic() + DRAIN_S

    def _flush(self) -> None:
        if self.batch:
            self._send({"e": "out", "n": self.sent, "lines": self.batch})
            self.sent += 1
            self.batch = []
            self.batch_bytes = 0

    def _send(self, msg: dict[str, Any]) -> None:
        """Every message names the process: the first one the owner sees is the start."""
        msg["pid"] = self.att.pid
        self.att.send(msg)
        self.announced = True
        self.last_sent = time.monotonic()


def _result(state: str, code: int | None, reason: str | None, *, retryable: bool = True
            ) -> dict[str, Any]:  # fmt: skip
    return {
        "v": VERSION,
        "status": state,
        "exit_code": code,
        "reason": reason,
        "wall_s": 0.0,
        "cpu_s": None,
        "peak_rss_kb": None,
        "retryable": retryable,
        "batches": 0,
        "tail": [],
        "pid": None,
    }


# -- entry points ----------------------------------------------------------------------------


def run_attempt(job: dict[str, Any]) -> dict[str, Any]:
    """The task Dask runs: one attempt, start to exit, on this worker."""
    from distributed import get_worker

    worker = get_worker()
    key: str = job["key"]
    topic: str = job["topic"]
    address = worker.address

    def send(msg: dict[str, Any]) -> None:
        msg["k"] = key
        msg["w"] = address
        worker.log_event(topic, msg)

    def released() -> bool:
        ts = worker.state.tasks.get(key)
        return ts is None or ts.state in ("cancelled", "released", "forgotten")

    att = _Attempt(job, address, send)
    with _LOCK:
        if _TOMBSTONES.pop(key, None) is not None:
            return _result("cancelled", None, "cancelled before it started")
        _RUNNING[key] = att
    try:
        result = att.run(released)
    finally:
        with _LOCK:
            _RUNNING.pop(key, None)
    result["w"] = address
    # The result rides the same ordered stream as the output, after its last batch: the owner
    # takes it from there and never has to gather it from this worker.
    send({"e": "end", "r": result, "pid": result.get("pid")})
    return result


def control(key: str, action: str, grace: float = 2.0) -> str:
    """Pause, resume, cancel or kill the attempt `key` if it runs here. A cancel or kill for
    an attempt not (yet) here leaves a tombstone, so it never starts here later."""
    with _LOCK:
        att = _RUNNING.get(key)
        if att is None:
            if action in ("cancel", "kill"):
                now = time.monotonic()
                for old in [k for k, t in _TOMBSTONES.items() if now - t > TOMBSTONE_S]:
                    del _TOMBSTONES[old]
                _TOMBSTONES[key] = now
            return "absent"
    if action == "pause":
        att.pause()
    elif action == "resume":
        att.resume()
    elif action == "cancel":
        att.stop("cancelled", "cancelled", grace)
    elif action == "kill":
        att.stop("cancelled", "lost: its owner moved it elsewhere", 0.0)
    else:
        return f"unknown action {action!r}"
    return "ok"


def kill_session(session_id: str) -> int:
    """Kill every attempt of a session still running here (a dead owner's leftovers, found by
    the next owner when it connects). Returns how many groups were killed."""
    prefix = f"br-{session_id}-"
    with _LOCK:
        found = [att for key, att in _RUNNING.items() if key.startswith(prefix)]
    for att in found:
        att.stop("cancelled", "killed: a new owner took the session over", 0.0)
    return len(found)


def sweep_orphans() -> int:
    """Kill process groups that a dead worker process on this host left behind.

    A task's group is its own, so it survives the worker that started it (killed, or crashed).
    Every such process carries `BR_DASK_WORKER=pid:starttime` of its worker; any whose worker is
    gone is killed with its group. Returns how many groups were killed.
    """
    me = os.getpid()
    alive: dict[str, bool] = {}
    killed: set[int] = set()
    prefix = f"{MARK}=".encode()
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == me:
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as f:
                env = f.read()
        except OSError:
            continue
        start = env.find(prefix)
        if start < 0 or (start > 0 and env[start - 1] != 0):
            continue
        end = env.find(b"\0", start)
        mark = env[start + len(prefix) : end if end >= 0 else None].decode()
        if mark not in alive:
            wpid, _, wstart = mark.partition(":")
            alive[mark] = wpid.isdigit() and _start_time(int(wpid)) == wstart
        if alive[mark]:
            continue
        try:
            pgid = os.getpgid(int(name))
        except ProcessLookupError:
            continue
        if pgid not in killed and pgid != os.getpgid(0):
            _signal(pgid, signal.SIGKILL)
            _signal(pgid, signal.SIGCONT)
            killed.add(pgid)
    return len(killed)


def running_here() -> list[str]:
    """The attempt keys running on this worker (for tests and diagnostics)."""
    with _LOCK:
        return sorted(_RUNNING)

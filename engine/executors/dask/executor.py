"""The owner's side of a Dask session: submit attempts, stream their output, steer them.

The session's owner stays the single source of truth. The runner decides what runs (deps,
locks, budget) exactly as for local workers and calls `run(ctx, slot)`; only then is the
attempt submitted, as one Dask task with its own key. What comes back:

- messages on the session's topic (`Worker.log_event` → `Client.subscribe_topic`): the first
  names the worker and the process (the attempt has started: recorded, control attached),
  then batches of output lines in order, heartbeats while it runs, and its end with exit
  code, wall, CPU and peak memory;
- loss: a worker that leaves the cluster, falls silent for the heartbeat timeout, or whose
  attempt the scheduler restarted elsewhere ends the attempt as "lost", which the runner
  requeues with the attempt counted. The duplicate Dask may have started is killed.

Control goes to the worker through `Client.run` (see `remote`): Dask's own cancel does not
stop a running task.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import time
from collections.abc import Mapping
from typing import Any

from distributed import Client, LocalCluster

from engine.executors.base import ControlSlot, ExecutorUnavailable, Outcome, RunContext
from engine.executors.dask import remote
from engine.executors.dask.members import members_from_identity, offline_op
from engine.plan import TaskSpec
from engine.plan.executor import local_workers
from engine.store import Store, now_iso

log = logging.getLogger(__name__)

MONITOR_S = 1.0  # how often the cluster's workers are looked at
CONTROL_TIMEOUT_S = 10.0
END_GRACE_S = 2.0  # a finished future waits this long for its end message before a gather
DEFAULT_CONNECT_S = 10.0


def in_flight(threads: int) -> int:
    """How many attempts the session keeps submitted when the user did not say (`--workers`).

    More than the cluster's threads: a worker that finishes a short task should find its next
    one already queued, not wait a round trip through the owner and the scheduler (~10 ms
    here, several times a trivial task). The constant matters on small clusters, where a
    round trip is many task lengths; on large ones the pool's `max_workers` caps it.
    """
    return 2 * max(1, threads) + 12


class _Flight:
    """One submitted attempt, as the owner tracks it."""

    __slots__ = ("batches", "chain", "ctx", "ended", "future", "key", "last_seen", "lost",
                 "pending", "pid", "settled", "slot", "worker")  # fmt: skip

    def __init__(self, key: str, ctx: RunContext, slot: ControlSlot) -> None:
        loop = asyncio.get_running_loop()
        self.key = key
        self.ctx = ctx
        self.slot = slot
        self.future: Any = None
        self.worker: str | None = None
        self.pid: int | None = None
        self.last_seen = time.monotonic()
        self.batches = 0  # output batches delivered, in order
        self.pending: dict[int, list[list[str]]] = {}  # batches that came early
        self.ended: asyncio.Future[dict[str, Any]] = loop.create_future()
        self.lost: asyncio.Future[str] = loop.create_future()
        # The Dask future ended without an end message (an error, a cancel): seen by the
        # monitor, or at once after a withdrawal. (A done-callback per future would cost a
        # thread-pool hop per task; the end message is what normally ends an attempt.)
        self.settled: asyncio.Future[None] = loop.create_future()
        self.chain: asyncio.Future[Any] | None = None  # controls go out one after another


class _Pending:
    """The control of an attempt submitted but not yet started: a cancel withdraws it."""

    def __init__(self, owner: DaskExecutor, flight: _Flight) -> None:
        self.owner, self.flight = owner, flight

    def pause(self) -> None:  # applied when it starts (the slot remembers)
        pass

    def resume(self) -> None:
        pass

    def cancel(self) -> None:
        self.owner._withdraw(self.flight)


class _Remote:
    """The control of a started attempt: signals reach its process group on the worker."""

    def __init__(self, owner: DaskExecutor, flight: _Flight) -> None:
        self.owner, self.flight = owner, flight

    def pause(self) -> None:
        self.owner._control(self.flight, "pause")

    def resume(self) -> None:
        self.owner._control(self.flight, "resume")

    def cancel(self) -> None:
        self.owner._control(self.flight, "cancel")


class DaskExecutor:
    """Runs a session's attempts on a Dask cluster (`kind = "dask"` in the plan's [executor])."""

    kill_grace_s = 2.0

    def __init__(
        self,
        store: Store,
        session_id: str,
        table: Mapping[str, Any],
        specs: Mapping[str, TaskSpec],
        *,
        heartbeat_timeout: float = 30.0,
    ) -> None:
        self.store = store
        self.session_id = session_id
        self.address: str = table["address"]
        self.connect_timeout = float(table.get("connect_timeout") or DEFAULT_CONNECT_S)
        self.specs = specs
        self.heartbeat_timeout = heartbeat_timeout
        self.topic = f"br-{session_id}"
        self.nonce = secrets.token_hex(3)  # keys of this owner never meet a dead owner's
        self.client: Any = None
        self.cluster: Any = None
        self.threads = 0
        self._flights: dict[str, _Flight] = {}
        self._done: dict[str, int] = {}
        self._failed: dict[str, int] = {}
        self._seen: set[str] = set()
        self._workers: dict[str, dict[str, Any]] = {}
        self._written: Any = None
        self._monitor: asyncio.Task[None] | None = None
        self._background: set[asyncio.Future[Any]] = set()

    # -- lifecycle ---------------------------------------------------------------------------

    async def open(self) -> int:
        """Connect (or start a local cluster), check the workers, kill what a dead owner of
        this session left running there. Returns the cluster's thread count."""
        try:
            n_local = local_workers(self.address)
            if n_local is not None:
                self.cluster = await _local_cluster(n_local)
                target = self.cluster.scheduler_address
            else:
                target = self.address
            self.client = await Client(
                target, asynchronous=True, timeout=self.connect_timeout, set_as_default=False
            )
            await self.client.wait_for_workers(1, timeout=self.connect_timeout)
            await self._check_workers()
        except ExecutorUnavailable:
            await self.aclose()
            raise
        except (OSError, TimeoutError) as exc:
            await self.aclose()
            why = str(exc) or type(exc).__name__
            raise ExecutorUnavailable(f"cannot use the Dask cluster at {self.address}: {why}"
                                      ) from None  # fmt: skip
        self.client.subscribe_topic(self.topic, self._on_event)
        await self.client.run(remote.kill_session, self.session_id, on_error="ignore")
        await self.client.run(remote.sweep_orphans, on_error="ignore")
        ident = await self.client.scheduler.identity(n_workers=-1)
        self._workers = dict(ident.get("workers") or {})
        self.threads = sum(int(w.get("nthreads") or 0) for w in self._workers.values())
        self._write_members()
        self._monitor = asyncio.create_task(self._monitor_loop(), name="br-dask-monitor")
        return in_flight(self.threads)

    async def _check_workers(self) -> None:
        """Every worker must import our worker module, at our version."""
        answers = await self.client.run(remote.version, on_error="return")
        for address, answer in sorted(answers.items()):
            if isinstance(answer, BaseException):
                raise ExecutorUnavailable(
                    f"Dask worker {address} cannot run br-tui tasks ({answer!r}):"
                    " install br-tui[dask] there, at the owner's version"
                )
            if answer != remote.VERSION:
                raise ExecutorUnavailable(
                    f"Dask worker {address} has br-tui's worker module version {answer},"
                    f" the owner {remote.VERSION}: install the same br-tui on every worker"
                )

    async def aclose(self) -> None:
        if self._monitor is not None:
            self._monitor.cancel()
            await asyncio.gather(self._monitor, return_exceptions=True)
            self._monitor = None
        for fut in list(self._background):
            fut.cancel()
        if self.client is not None:
            self._write_members()  # the last counts, then everything offline
            self.store.write([offline_op(self.session_id, now_iso())])
            try:
                await asyncio.wait_for(self.client.close(), 5.0)
            except Exception:  # a cluster that is gone can't be closed politely
                pass
            self.client = None
        if self.cluster is not None:
            try:
                await asyncio.wait_for(self.cluster.close(), 10.0)
            except Exception:
                pass
            self.cluster = None

    def place_agent(self, agent: Any) -> None:
        """Agent tasks run their CLI on the cluster too: routing, budgets and costs stay with
        the owner; the command backend's process goes to a Dask worker. (The anthropic
        backend makes HTTP calls from the owner: there is no process to place.)"""
        backend = getattr(agent, "backend", None)
        if getattr(backend, "name", None) == "command":
            backend.runner = self

    # -- one attempt -------------------------------------------------------------------------

    async def run(self, ctx: RunContext, slot: ControlSlot) -> Outcome:
        assert ctx.argv, "the Dask executor runs argv"
        spec = self.specs.get(ctx.task_id)
        key = f"br-{self.session_id}-{ctx.attempt}-{self.nonce}-{ctx.task_id}"
        env = dict(spec.env) if spec else {}
        env.update({k: ctx.env[k] for k in ("BR_SESSION", "BR_TASK") if k in ctx.env})
        job = {
            "key": key,
            "topic": self.topic,
            "argv": list(ctx.argv),
            "cwd": ctx.cwd,
            "env": env,
            "timeout": ctx.timeout,
            "grace": self.kill_grace_s,
            "heartbeat_s": min(1.0, self.heartbeat_timeout / 4),
        }
        flight = _Flight(key, ctx, slot)
        self._flights[key] = flight
        started = time.monotonic()
        try:
            flight.future = self.client.submit(
                remote.run_attempt,
                job,
                key=key,
                resources=dict(spec.resources) if spec and spec.resources else None,
                priority=spec.priority if spec else 0,
                retries=0,
            )
            slot.attach(_Pending(self, flight))
            await asyncio.wait({flight.ended, flight.lost, flight.settled},
                               return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
            outcome = await self._outcome(flight, started)
        except asyncio.CancelledError:
            self._abandon(flight)  # the runner is tearing this worker down
            raise
        finally:
            self._flights.pop(key, None)
            slot.detach()
        if outcome.status == "lost":
            self._abandon(flight)
        elif flight.worker is not None:
            tally = self._done if outcome.status == "succeeded" else self._failed
            tally[flight.worker] = tally.get(flight.worker, 0) + 1
        if flight.future is not None:
            flight.future.release()
        return outcome

    async def _outcome(self, flight: _Flight, started: float) -> Outcome:
        if flight.lost.done() and not flight.ended.done():
            return Outcome("lost", reason=flight.lost.result(), wall_s=time.monotonic() - started)
        fut = flight.future
        if not flight.ended.done():
            status = fut.status
            if status == "finished":  # its end message may be a moment behind: else gather
                try:
                    await asyncio.wait_for(asyncio.shield(flight.ended), END_GRACE_S)
                except TimeoutError:
                    self._end(flight, await fut)
            elif status == "cancelled":
                return Outcome("cancelled", reason="cancelled", wall_s=time.monotonic() - started)
            else:
                exc = await fut.exception()
                if type(exc).__name__ == "KilledWorker":
                    return Outcome("lost", reason=f"Dask: {exc}",
                                   wall_s=time.monotonic() - started)  # fmt: skip
                return Outcome("failed", reason=f"Dask task error: {exc!r}",
                               wall_s=time.monotonic() - started)  # fmt: skip
        result = flight.ended.result()
        return Outcome(
            result["status"],
            exit_code=result["exit_code"],
            reason=result["reason"],
            wall_s=result["wall_s"],
            cpu_s=result["cpu_s"],
            peak_rss_kb=result["peak_rss_kb"],
            retryable=result["retryable"],
        )

    # -- messages from the workers ------------------------------------------------------------

    def _on_event(self, event: tuple[float, dict[str, Any]]) -> None:
        msg = event[1]
        flight = self._flights.get(msg.get("k", ""))
        if flight is None or flight.ended.done() or flight.lost.done():
            return  # an attempt already decided (or another owner's)
        worker, pid = msg.get("w"), msg.get("pid")
        if flight.worker is None:
            if pid is not None:
                self._started(flight, worker, pid)
        elif (worker, pid) != (flight.worker, flight.pid):
            # Dask restarted the task elsewhere after losing its worker: that run is not ours
            # to keep (the runner counts a new attempt); kill it wherever it is.
            flight.lost.set_result(
                f"Dask worker {flight.worker} was lost; the scheduler restarted the task on"
                f" {worker}"
            )
            return
        flight.last_seen = time.monotonic()
        kind = msg.get("e")
        if kind == "out":
            flight.pending[msg["n"]] = msg["lines"]
            self._deliver(flight)
        elif kind == "end":
            self._end(flight, msg["r"])

    def _started(self, flight: _Flight, worker: str | None, pid: int) -> None:
        flight.worker, flight.pid = worker, pid
        flight.ctx.on_spawn(pid)
        flight.slot.attach(_Remote(self, flight))

    def _deliver(self, flight: _Flight) -> None:
        while flight.batches in flight.pending:
            for stream, line in flight.pending.pop(flight.batches):
                flight.ctx.on_line(stream, line)
            flight.batches += 1

    def _end(self, flight: _Flight, result: dict[str, Any]) -> None:
        if flight.ended.done():
            return
        if flight.worker is None and result.get("pid") is not None:
            self._started(flight, result.get("w"), result["pid"])  # ended before it was announced
        self._deliver(flight)
        if flight.batches < result["batches"]:
            log.warning("attempt %s: %d output batches missing", flight.key,
                        result["batches"] - flight.batches)  # fmt: skip
        for stream, line in result["tail"]:
            flight.ctx.on_line(stream, line)
        flight.ended.set_result(result)

    # -- control -----------------------------------------------------------------------------

    def _control(self, flight: _Flight, action: str) -> None:
        prev = flight.chain
        flight.chain = self._spawn(self._send(flight, action, prev))

    async def _send(self, flight: _Flight, action: str, prev: Any) -> None:
        if prev is not None:
            await asyncio.gather(prev, return_exceptions=True)
        workers = [flight.worker] if flight.worker else None
        try:
            await asyncio.wait_for(
                self.client.run(remote.control, flight.key, action, self.kill_grace_s,
                                workers=workers, on_error="ignore"),
                CONTROL_TIMEOUT_S,
            )  # fmt: skip
        except Exception as exc:  # the worker is gone: the monitor finds the attempt lost
            log.info("control %s of %s not delivered: %r", action, flight.key, exc)

    def _withdraw(self, flight: _Flight) -> None:
        """Cancel before the start was heard of: take it back from the scheduler, and stop it
        on whichever worker may have just started it (or keep it from starting there)."""
        if flight.future is not None:
            self._spawn(self._cancel_future(flight))
        self._spawn(self._send(flight, "cancel", None))

    async def _cancel_future(self, flight: _Flight) -> None:
        try:
            await flight.future.cancel()
        finally:
            if not flight.settled.done():
                flight.settled.set_result(None)

    def _abandon(self, flight: _Flight) -> None:
        """Nobody waits for this attempt any more: withdraw it and kill any run of it."""
        if flight.future is not None and not flight.future.done():
            self._spawn(flight.future.cancel())
        if self.client is not None:
            flight.worker = None  # to every worker: a restarted duplicate may be anywhere
            self._spawn(self._send(flight, "kill", None))
            self._spawn(self._sweep())

    def _spawn(self, aw: Any) -> asyncio.Future[Any]:
        fut = asyncio.ensure_future(aw)
        self._background.add(fut)
        fut.add_done_callback(self._background.discard)
        return fut

    async def _sweep(self) -> None:
        """Workers on the host of one that died kill the groups it left behind."""
        try:
            await asyncio.wait_for(
                self.client.run(remote.sweep_orphans, on_error="ignore"), CONTROL_TIMEOUT_S
            )
        except Exception as exc:
            log.info("orphan sweep failed: %r", exc)

    # -- watching the cluster ----------------------------------------------------------------

    async def _monitor_loop(self) -> None:
        while True:
            await asyncio.sleep(MONITOR_S)
            try:
                ident = await asyncio.wait_for(
                    self.client.scheduler.identity(n_workers=-1), CONTROL_TIMEOUT_S
                )
            except Exception as exc:
                log.info("scheduler identity failed: %r", exc)
                ident = None
            if ident is not None:
                workers = dict(ident.get("workers") or {})
                if set(self._workers) - set(workers):
                    self._spawn(self._sweep())
                self._workers = workers
                self.threads = sum(int(w.get("nthreads") or 0) for w in workers.values())
            self._check_flights()
            self._write_members()

    def _check_flights(self) -> None:
        now = time.monotonic()
        for flight in list(self._flights.values()):
            if flight.ended.done() or flight.lost.done():
                continue
            if flight.future is not None and flight.future.done() and not flight.settled.done():
                flight.settled.set_result(None)
            if flight.worker is None:
                continue
            if flight.worker not in self._workers:
                flight.lost.set_result(f"Dask worker {flight.worker} left the cluster")
            elif now - flight.last_seen > self.heartbeat_timeout:
                flight.lost.set_result(
                    f"no word from Dask worker {flight.worker} for {now - flight.last_seen:.0f}s"
                )

    def _write_members(self) -> None:
        running: dict[str, list[str]] = {}
        for flight in self._flights.values():
            if flight.worker is not None and not flight.ended.done():
                running.setdefault(flight.worker, []).append(flight.ctx.task_id)
        self._seen.update(self._workers)
        members = members_from_identity(
            self._workers, running, self._done, self._failed, gone=self._seen
        )
        shape = [(m.address, m.status, m.tasks, m.done, m.failed, m.memory) for m in members]
        if shape == self._written:
            return
        self._written = shape
        stamp = now_iso()
        self.store.write([m.op(self.session_id, stamp) for m in members])


async def _local_cluster(n: int) -> Any:
    """`--dask local[:N]`: N single-threaded worker processes on this machine."""
    return await LocalCluster(
        n_workers=n or os.cpu_count() or 2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        asynchronous=True,
        silence_logs=logging.ERROR,
    )

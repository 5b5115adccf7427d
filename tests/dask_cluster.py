"""A real Dask cluster for the tests: `dask scheduler` and two `dask worker` processes on
127.0.0.1, started once per test session (each start costs a second or two of CI time).

Worker `w0` offers the resource `gpu=1`, `w1` none, so resource placement can be checked. A
test that kills a worker gets it back through `ensure()` before the next test runs.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from engine_helpers import child_pythonpath

WORKER_RESOURCES = {"w0": "gpu=1", "w1": ""}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _dask() -> list[str]:
    exe = Path(sys.executable).with_name("dask")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "dask"]


@dataclass
class DaskCluster:
    address: str
    logs: Path
    scheduler: subprocess.Popen[bytes]
    workers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        return {**os.environ, "PYTHONPATH": child_pythonpath()}

    def start_worker(self, name: str) -> None:
        args = [*_dask(), "worker", self.address, "--nthreads", "1", "--no-dashboard",
                "--name", name]  # fmt: skip
        if WORKER_RESOURCES[name]:
            args += ["--resources", WORKER_RESOURCES[name]]
        with open(self.logs / f"{name}.log", "ab") as log:
            self.workers[name] = subprocess.Popen(
                args, stdout=log, stderr=log, stdin=subprocess.DEVNULL, env=self.env(),
                start_new_session=True,
            )  # fmt: skip

    def kill_worker(self, name: str) -> None:
        """SIGKILL the worker's nanny and worker process at once (its process group)."""
        proc = self.workers.pop(name)
        _killpg(proc)

    def worker_pids(self) -> dict[str, set[int]]:
        """Every process of each `dask worker` (nanny and worker), by name."""
        out: dict[str, set[int]] = {}
        for name, proc in self.workers.items():
            out[name] = {
                int(p) for p in os.listdir("/proc") if p.isdigit() and _pgid(int(p)) == proc.pid
            }
        return out

    def ensure(self, timeout: float = 60.0) -> None:
        """Both workers up and known to the scheduler."""
        from distributed import Client

        for name in WORKER_RESOURCES:
            if name not in self.workers or self.workers[name].poll() is not None:
                self.start_worker(name)
        with Client(self.address, timeout=timeout, set_as_default=False) as client:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                names = {w["name"] for w in client.scheduler_info()["workers"].values()}
                if names == set(WORKER_RESOURCES):
                    return
                time.sleep(0.1)
        raise AssertionError(f"Dask workers did not come up; logs in {self.logs}")

    def close(self) -> None:
        for proc in [*self.workers.values(), self.scheduler]:
            _killpg(proc)


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


def _killpg(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=10)


def start_scheduler(logs: Path) -> DaskCluster:
    """A scheduler process on a free loopback port, logging under `logs`; no workers yet."""
    port = _free_port()
    with open(logs / "scheduler.log", "ab") as log:
        scheduler = subprocess.Popen(
            [*_dask(), "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
            stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True,
            env={**os.environ, "PYTHONPATH": child_pythonpath()},
        )  # fmt: skip
    return DaskCluster(f"tcp://127.0.0.1:{port}", logs, scheduler)


@pytest.fixture(scope="session")
def dask_cluster_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaskCluster]:
    pytest.importorskip("distributed")
    cluster = start_scheduler(tmp_path_factory.mktemp("dask-logs"))
    try:
        cluster.ensure()
        yield cluster
    finally:
        cluster.close()


@pytest.fixture
def dask_cluster(dask_cluster_session: DaskCluster) -> DaskCluster:
    """The session's cluster, with both workers back if an earlier test killed one."""
    dask_cluster_session.ensure()
    return dask_cluster_session

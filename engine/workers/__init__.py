"""The pool of asyncio workers: idle / busy / offline / error, heartbeats, scaling."""

from engine.workers.pool import Pool, Worker, WorkerStatus

__all__ = ["Pool", "Worker", "WorkerStatus"]

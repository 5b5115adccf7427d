"""The run summary: what users of task-runner UIs ask for on exit — totals, and the failed
tasks with the last lines they printed. One answer for `br-tui run`, `resume`, the background
owner's log and the app's exit summary."""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.views.base import Queryable, session_row

#: Failed tasks shown with their output; the rest are counted.
FAILED_SHOWN = 10
#: Last output lines shown per failed task.
TAIL_LINES = 5


@dataclass(slots=True)
class FailedTask:
    id: str
    reason: str | None
    tail: list[str] = field(default_factory=list)


@dataclass(slots=True)
class RunSummary:
    session_id: str
    name: str
    status: str
    total: int
    succeeded: int
    failed: int
    cancelled: int
    failures: list[FailedTask]  # the first FAILED_SHOWN, in the order they ended
    failed_more: int  # failed tasks beyond those

    def text(self, wall_s: float | None = None) -> str:
        lines = [
            f"session {self.session_id} ({self.name}): {self.status}"
            f"  {self.succeeded} succeeded, {self.failed} failed, {self.cancelled} cancelled"
            f" of {self.total}" + (f" in {wall_s:.2f}s" if wall_s is not None else "")
        ]
        for t in self.failures:
            lines.append(f"  ✗ {t.id}: {t.reason or 'failed'}")
            lines += [f"      {line}" for line in t.tail]
        if self.failed_more:
            lines.append(
                f"  … and {self.failed_more} more failed (br-tui status {self.session_id})"
            )
        return "\n".join(lines)


def run_summary(db: Queryable, session_id: str) -> RunSummary:
    row = session_row(db, session_id)
    failed = list(
        db.query(
            "SELECT id, reason FROM tasks WHERE session_id=? AND state='failed' ORDER BY ended_at",
            (session_id,),
        )
    )
    failures = []
    for t in failed[:FAILED_SHOWN]:
        tail = [
            r["line"]
            for r in db.query(
                "SELECT line FROM output WHERE session_id=? AND task_id=?"
                " ORDER BY seq DESC LIMIT ?",
                (session_id, t["id"], TAIL_LINES),
            )
        ]
        failures.append(FailedTask(t["id"], t["reason"], tail[::-1]))
    return RunSummary(
        session_id=row["id"],
        name=row["name"],
        status=row["status"],
        total=row["total"],
        succeeded=row["succeeded"],
        failed=row["failed"],
        cancelled=row["cancelled"],
        failures=failures,
        failed_more=max(0, len(failed) - FAILED_SHOWN),
    )

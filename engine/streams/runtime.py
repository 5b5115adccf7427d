"""What the session runner asks of streams around each task: two calls, before and after.

    prep = await runtime.before_task(spec, attempt)   # worktree, cwd, env, prompt context
    ... the executor runs the task in prep.spec.cwd ...
    events = await runtime.after_task(prep, outcome)  # decisions file, commit on the branch

Before: a stream task gets its worktree (made on first use, the same one on every resume),
synced to the latest checkpoint that merged it ("streams that continue start their next task
from the new integration point"), and its `cwd` resolved inside it. Every agent task gets the
shared decisions and, for a stream task, the stream's last conflict or gate failure in its
prompt context. Tasks get `$BR_DECISIONS` (a private file to append decisions to) and `$BR_DB`
(so a checkpoint task's `python -m engine.streams checkpoint` finds the same database).

After: lines in the decisions file become entries; a stream task that changed files becomes
one commit on the stream's branch.

Git work runs in a thread (`asyncio.to_thread`), never on the owner's event loop; one lock per
stream keeps two of its tasks from committing at once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.events import Event, EventType
from engine.executors.base import Outcome
from engine.plan import TaskSpec
from engine.security.masking import redact
from engine.store import Store
from engine.streams import decisions, git, records
from engine.streams.commits import SUMMARY_LINES, commit_task, title_of
from engine.streams.records import StreamState
from engine.streams.worktrees import StreamError, clear_stale_lock, ensure_worktree


@dataclass(slots=True)
class TaskPrep:
    spec: TaskSpec  # with cwd inside the stream's worktree for a stream task
    env: dict[str, str] = field(default_factory=dict)
    context: str = ""  # added to an agent task's prompt
    error: str | None = None  # the stream couldn't be prepared: the attempt fails with this
    decisions_file: Path | None = None
    events: list[Event] = field(default_factory=list)


class StreamRuntime:
    """Per session, in the owner. Cheap when the plan has no streams: only agent tasks get
    decisions context, and only when someone recorded one."""

    def __init__(self, store: Store, session_id: str, config: dict[str, Any]) -> None:
        self.store = store
        self.session_id = session_id
        self.active = bool(config.get("streams"))
        self._locks: dict[str, asyncio.Lock] = {}
        # A stream's tasks share its worktree: one runs at a time, so each commit holds exactly
        # one task's changes. The holder is a task id, so a task requeued after its worker was
        # lost takes its own claim back instead of waiting for itself.
        self._busy: dict[str, str] = {}
        self._freed: asyncio.Condition | None = None
        self._recovered: set[str] = set()  # streams whose leftovers this owner has cleared

    # -- before ------------------------------------------------------------------------------

    async def before_task(self, spec: TaskSpec, attempt: int) -> TaskPrep:
        prep = TaskPrep(spec)
        if not self.active and spec.prompt is None:
            return prep
        prep.env["BR_DB"] = str(Path(self.store.path).resolve())
        folder = await asyncio.to_thread(decisions.decisions_dir, self.store, self.session_id)
        prep.decisions_file = folder / f"{spec.id}.{attempt}.txt"
        prep.env["BR_DECISIONS"] = str(prep.decisions_file)
        row = None
        if spec.stream is not None:
            await self._claim(spec.stream, spec.id)
            async with self._lock(spec.stream):
                try:
                    row = await asyncio.to_thread(self._prepare_stream, spec.stream, prep)
                except (StreamError, git.GitError) as exc:
                    prep.error = f"stream {spec.stream}: {exc}"
                    return prep
            prep.spec = dataclasses.replace(spec, cwd=str(Path(row["worktree"]) / spec.cwd))
            prep.env["BR_STREAM"] = spec.stream
            prep.env["BR_WORKTREE"] = row["worktree"]
        if spec.prompt is not None:
            prep.context = await asyncio.to_thread(self._context, spec, row)
        return prep

    def _lock(self, stream_id: str) -> asyncio.Lock:
        return self._locks.setdefault(stream_id, asyncio.Lock())

    async def _claim(self, stream_id: str, task_id: str) -> None:
        if self._freed is None:
            self._freed = asyncio.Condition()
        free = self._freed
        while True:
            async with free:
                try:
                    await asyncio.wait_for(
                        free.wait_for(lambda: self._busy.get(stream_id) in (None, task_id)), 1.0
                    )
                    self._busy[stream_id] = task_id
                    return
                except TimeoutError:
                    pass
            holder = self._busy.get(stream_id)
            # a holder that ended without its after_task (its worker was torn down, then it
            # failed for good) must not keep the stream forever
            ended = holder is not None and await asyncio.to_thread(self._ended, holder)
            if ended and self._busy.get(stream_id) == holder:
                del self._busy[stream_id]

    def _ended(self, task_id: str) -> bool:
        rows = self.store.query(
            "SELECT state FROM tasks WHERE session_id=? AND id=?", (self.session_id, task_id)
        )
        return bool(rows) and rows[0]["state"] in ("succeeded", "failed", "cancelled")

    async def _free(self, stream_id: str, task_id: str) -> None:
        if self._freed is None or self._busy.get(stream_id) != task_id:
            return
        async with self._freed:
            del self._busy[stream_id]
            self._freed.notify_all()

    def _prepare_stream(self, stream_id: str, prep: TaskPrep) -> dict[str, Any]:
        self.store.flush()
        row = records.stream(self.store, self.session_id, stream_id)
        if row is None:
            raise StreamError("no such stream in this session")
        changes: dict[str, Any] = {}
        if row["state"] == StreamState.PENDING and not json.loads(row["spec"] or "{}").get("base"):
            point = records.latest_merge(self.store, self.session_id, row["target"])
            if point is not None and point["merged_commit"] != row["base"]:
                # a stream that starts after a checkpoint starts from what it merged
                changes["base"] = point["merged_commit"]
                changes["synced_checkpoint"] = point["id"]
                row = {**row, **changes}
        made = ensure_worktree(row)
        if stream_id not in self._recovered:
            self._recovered.add(stream_id)
            if not made.created:
                clear_stale_lock(made.path)
        if made.created:
            changes["state"] = StreamState.ACTIVE
            prep.events.append(
                Event(EventType.STREAM_CREATED, self.session_id, prep.spec.id,
                      data={"stream": stream_id, "branch": row["branch"],
                            "worktree": row["worktree"], "base": row["base"],
                            "copied": made.copied})
            )  # fmt: skip
        if made.setup_ran:
            changes["setup_done"] = 1
        synced = self._sync(row, made.path)
        if synced is not None:
            changes.update(synced)
            prep.events.append(
                Event(EventType.STREAM_SYNCED, self.session_id, prep.spec.id,
                      data={"stream": stream_id, **synced})
            )  # fmt: skip
        if changes:
            self.store.write([records.update_stream_op(self.session_id, stream_id, **changes)])
            row = {**row, **changes}
        return row

    def _sync(self, row: dict[str, Any], path: Path) -> dict[str, Any] | None:
        """Bring an idle stream up to the newest checkpoint that merged it."""
        merged = records.merged_checkpoints_after(
            self.store, self.session_id, row["id"], row["synced_checkpoint"]
        )
        if not merged:
            return None
        last = merged[-1]
        point = last["merged_commit"]
        if not point or git.dirty_paths(path):
            return None  # uncommitted work (a crashed attempt's): leave it, try next time
        head = git.out(path, "rev-parse", "HEAD")
        ours = json.loads(last["streams"] or "{}").get(row["id"])
        env = git.identity(path)
        if git.is_ancestor(path, head, point) or head == ours:
            git.run(path, "reset", "-q", "--keep", point)  # nothing of ours is missing there
        elif last["strategy"] == "merge":
            p = git.run(path, "merge", "-q", "--no-edit", point, check=False, env=env)
            if p.returncode != 0:
                git.run(path, "merge", "--abort", check=False)
                return {"notice": f"could not bring in {last['target']} after checkpoint"
                        f" {last['name']}: merge conflict; resolve it on this branch",
                        "synced_checkpoint": last["id"], "notice_task": None}  # fmt: skip
        else:  # squash/rebase: replay what came after the merged head onto the new point
            p = git.run(path, "rebase", "-q", "--onto", point, ours or point, check=False, env=env)
            if p.returncode != 0:
                git.run(path, "rebase", "--abort", check=False)
                return {"notice": f"could not replay this stream onto {last['target']} after"
                        f" checkpoint {last['name']}; resolve it on this branch",
                        "synced_checkpoint": last["id"], "notice_task": None}  # fmt: skip
        new_head = git.out(path, "rev-parse", "HEAD")
        return {"synced_checkpoint": last["id"], "head": new_head, "merged_head": new_head,
                "state": StreamState.ACTIVE}  # fmt: skip

    def _context(self, spec: TaskSpec, row: dict[str, Any] | None) -> str:
        parts = []
        entries = records.decisions(self.store, self.session_id)
        if entries:
            parts.append(decisions.context(entries))
        if row is not None:
            notice = row.get("notice")
            if notice and row.get("notice_task") in (None, spec.id):
                parts.append(f"Attention (stream {row['id']}): {notice}")
                self.store.write(
                    [records.update_stream_op(self.session_id, row["id"], notice_task=spec.id)]
                )
            parts.append(
                f"You are working in stream '{row['id']}' on branch {row['branch']}, in its own"
                " git worktree; your changes are committed for you when you finish."
            )
        if self.active or entries:
            parts.append(
                "To record a decision the other streams must know, append one line per decision"
                " to the file named in $BR_DECISIONS."
            )
        return "\n\n".join(parts)

    # -- after -------------------------------------------------------------------------------

    async def after_task(self, prep: TaskPrep, outcome: Outcome, attempt: int) -> list[Event]:
        events = list(prep.events)
        spec = prep.spec
        if prep.decisions_file is not None:
            added = await asyncio.to_thread(
                decisions.collect_file, self.store, self.session_id, prep.decisions_file,
                task_id=spec.id, stream_id=spec.stream,
            )  # fmt: skip
            del added  # each entry carries its own event
        if spec.stream is None:
            return events
        try:
            if prep.error is not None:
                return events
            async with self._lock(spec.stream):
                try:
                    event = await asyncio.to_thread(self._commit, spec, outcome, attempt)
                except git.GitError as exc:
                    event = Event(EventType.STREAM_COMMITTED, self.session_id, spec.id,
                                  data={"stream": spec.stream, "error": str(exc)})  # fmt: skip
            if event is not None:
                events.append(event)
            return events
        finally:
            await self._free(spec.stream, spec.id)

    def _commit(self, spec: TaskSpec, outcome: Outcome, attempt: int) -> Event | None:
        row = records.stream(self.store, self.session_id, spec.stream or "")
        if row is None:
            return None
        self.store.flush()  # the task's output lines are the commit's body
        lines = self.store.query(
            "SELECT line FROM output WHERE session_id=? AND task_id=? AND attempt=?"
            " ORDER BY seq DESC LIMIT ?",
            (self.session_id, spec.id, attempt, SUMMARY_LINES),
        )
        summary = "\n".join(r["line"] for r in reversed(lines))
        made = commit_task(
            row["worktree"],
            session_id=self.session_id,
            stream_id=row["id"],
            task_id=spec.id,
            status=outcome.status,
            summary=summary,
            title=redact(title_of(spec.prompt or spec.run)),
        )
        if made is None:
            return None
        state = row["state"] if row["state"] in (StreamState.CONFLICT, StreamState.GATE_FAILED) \
            else StreamState.ACTIVE  # fmt: skip
        self.store.write([records.update_stream_op(self.session_id, row["id"], head=made.sha,
                                                   state=state)])  # fmt: skip
        return Event(EventType.STREAM_COMMITTED, self.session_id, spec.id,
                     data={"stream": row["id"], "commit": made.sha, "files": len(made.files),
                           "subject": made.subject})  # fmt: skip


def with_context(prompt: str, context: str | None) -> str:
    """The prompt an agent backend is sent: the task's own, then the session's context."""
    if not context:
        return prompt
    return f"{prompt}\n\n---\n{context}"

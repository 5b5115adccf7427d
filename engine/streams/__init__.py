"""Streams: parallel work in git worktrees, checkpoint merges behind gates, shared decisions.

Public surface:
- `stream_rows(plan, session_id, stamp)`: the rows a new session records (base commit, target)
- `StreamRuntime`: the runner's two calls around each task (`before_task`, `after_task`)
- `run_checkpoint(store, session_id, name, target=...)` -> `CheckpointResult`
- `add_decision`, `stream_views`, `cleanup_worktrees`: the CLI's and the app's verbs
- `commit_task`, `ensure_worktree`: the git building blocks, usable on their own
"""

from engine.streams.checkpoint import (
    CONFLICT,
    GATE_FAILED,
    MERGED,
    NOTHING,
    CheckpointError,
    CheckpointResult,
    run_checkpoint,
)
from engine.streams.cleanup import cleanup_worktrees
from engine.streams.commits import TaskCommit, commit_task
from engine.streams.decisions import DecisionError
from engine.streams.decisions import add as add_decision
from engine.streams.git import GitError
from engine.streams.runtime import StreamRuntime, TaskPrep, with_context
from engine.streams.views import (
    Overview,
    StreamView,
    checkpoint_views,
    decision_views,
    gate_output,
    overview,
    stream_diff,
    stream_views,
)
from engine.streams.worktrees import StreamError, ensure_worktree, stream_rows

__all__ = [
    "CONFLICT",
    "GATE_FAILED",
    "MERGED",
    "NOTHING",
    "CheckpointError",
    "CheckpointResult",
    "DecisionError",
    "GitError",
    "Overview",
    "StreamError",
    "StreamRuntime",
    "StreamView",
    "TaskCommit",
    "TaskPrep",
    "add_decision",
    "checkpoint_views",
    "cleanup_worktrees",
    "commit_task",
    "decision_views",
    "ensure_worktree",
    "gate_output",
    "overview",
    "run_checkpoint",
    "stream_diff",
    "stream_rows",
    "stream_views",
    "with_context",
]

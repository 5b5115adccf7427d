"""A checkpoint: bring streams' committed work into a target branch, behind gates.

    conflict check (`git merge-tree --write-tree`, touching no work tree or index)
      -> merge in the session's integration worktree (merge | squash | rebase)
      -> gates on the merged tree
      -> advance the target by fast-forward, and only if every gate passed

The target moves by `git update-ref` with the old value as a guard when no work tree has it
checked out; when one does (the user's checkout, typically) it moves there the way
`git merge --ff-only` moves it, keeping uncommitted changes, and is refused — with the files
named and nothing changed — when that would touch a file with uncommitted changes.

A conflict or failed gate merges nothing: the target and every stream branch stay where they
were; the stream rows get a notice that the stream's next agent task is told about.
"""

from __future__ import annotations

import fcntl
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.events import Event, EventType
from engine.plan import CheckpointSpec, GateSpec
from engine.store import Store
from engine.streams import git, records
from engine.streams.gates import GateResult, gate_env, run_gate
from engine.streams.records import StreamState
from engine.streams.worktrees import integration_worktree, session_dir

MERGED, CONFLICT, GATE_FAILED, NOTHING = "merged", "conflict", "gate_failed", "nothing_to_merge"


class CheckpointError(Exception):
    """A checkpoint that can't be attempted (usage): unknown checkpoint, no target, no streams."""


@dataclass(slots=True)
class CheckpointResult:
    session_id: str
    status: str
    target: str
    merged_commit: str | None = None
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    gates: list[GateResult] = field(default_factory=list)
    message: str = ""
    checkpoint_id: int | None = None

    @property
    def ok(self) -> bool:
        return self.status in (MERGED, NOTHING)

    def to_json(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "status": self.status,
            "target": self.target,
            "merged_commit": self.merged_commit,
            "conflicts": self.conflicts,
            "gates": [
                {"name": g.name, "status": g.status, "exit_code": g.exit_code} for g in self.gates
            ],
        }


def resolve_spec(config: dict[str, Any], name: str | None) -> CheckpointSpec:
    specs = [CheckpointSpec.from_json(c) for c in config.get("checkpoints", [])]
    if name is None:
        return CheckpointSpec("manual")  # every stream, default target, every gate, merge
    for spec in specs:
        if spec.id == name:
            return spec
    known = ", ".join(s.id for s in specs) or "none in the plan"
    raise CheckpointError(f"unknown checkpoint '{name}' ({known})")


def run_checkpoint(
    store: Store,
    session_id: str,
    name: str | None = None,
    *,
    target: str | None = None,
    on_line: Callable[[str], None] | None = None,
) -> CheckpointResult:
    """Run one checkpoint of a session; raises CheckpointError for a usage problem."""
    say = on_line or (lambda line: None)
    session = records.session_row(store, session_id)
    if session is None:
        raise CheckpointError(f"unknown session '{session_id}'")
    config = records.streams_config(session)
    rows = {r["id"]: r for r in records.streams(store, session_id)}
    if not rows:
        raise CheckpointError(f"session {session_id} has no streams")
    spec = resolve_spec(config, name)
    chosen = [s for s in (spec.streams or tuple(rows)) if s in rows]
    repo = Path(next(iter(rows.values()))["repo"])
    target = target or spec.target or next(iter(rows.values()))["target"]
    if not target:
        raise CheckpointError(
            "no target branch: the session was created on a detached HEAD; pass --target BRANCH"
        )
    target_sha = git.rev(repo, f"refs/heads/{target}")
    if target_sha is None:
        raise CheckpointError(f"target branch '{target}' does not exist in {repo}")
    gates = [GateSpec.from_json(g) for g in config.get("gates", [])]
    if spec.gates is not None:
        gates = [g for g in gates if g.name in spec.gates]

    lock_path = session_dir(repo, session_id) / ".checkpoint.lock"
    with open(lock_path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one checkpoint per session at a time
        return _run(store, session_id, spec, rows, chosen, repo, target, target_sha, gates, say)


def _pending_streams(
    repo: Path, rows: dict[str, dict[str, Any]], chosen: list[str], target_sha: str
) -> dict[str, str]:
    """stream -> head for streams with commits the target doesn't have yet."""
    heads: dict[str, str] = {}
    for sid in chosen:
        head = git.rev(repo, f"refs/heads/{rows[sid]['branch']}")
        if head is None or head == rows[sid]["merged_head"]:
            continue  # never created, or merged (squash/rebase leave no ancestry) already
        if git.is_ancestor(repo, head, target_sha):
            continue
        heads[sid] = head
    return heads


def check_conflicts(repo: Path, base: str, heads: dict[str, str]) -> list[dict[str, Any]]:
    """Merge every stream onto `base` in turn with `git merge-tree --write-tree` (objects only,
    no work tree, no index); the streams that conflict and their files."""
    conflicts = []
    current = base
    for sid, head in heads.items():
        p = git.run(repo, "merge-tree", "--write-tree", "--name-only", "-z", current, head,
                    check=False)  # fmt: skip
        if p.returncode not in (0, 1):
            raise git.GitError(["merge-tree"], p.returncode, p.stderr.decode("utf-8", "replace"))
        listing = p.stdout.split(b"\0\0", 1)[0]
        tree, *files = git.z_paths(listing)
        if p.returncode == 1:
            conflicts.append({"stream": sid, "files": sorted(set(files))})
            continue
        current = git.out(
            repo,
            "commit-tree",
            tree,
            "-p",
            current,
            "-p",
            head,
            "-m",
            f"br-tui: check {sid}",
            env=git.identity(repo),
        )  # a dangling commit: the next stream is checked against the merge so far
    return conflicts


def _merge_into(tree: Path, spec: CheckpointSpec, sid: str, branch: str, head: str) -> list[str]:
    """Merge one stream into the integration worktree's HEAD; conflicting files or []."""
    env = git.identity(tree)
    title = f"br-tui checkpoint {spec.id}: stream {sid} ({branch})"
    if spec.strategy == "rebase":
        onto = git.out(tree, "rev-parse", "HEAD")
        git.run(tree, "checkout", "-q", "--detach", head)
        p = git.run(tree, "rebase", "-q", onto, check=False, env=env)
        if p.returncode != 0:
            files = _unmerged(tree)
            git.run(tree, "rebase", "--abort", check=False)
            return files or ["(rebase failed)"]
        return []
    if spec.strategy == "squash":
        p = git.run(tree, "merge", "-q", "--squash", head, check=False, env=env)
        if p.returncode != 0:
            files = _unmerged(tree)
            git.run(tree, "reset", "-q", "--hard", "HEAD", check=False)
            return files or ["(merge failed)"]
        log = git.out(tree, "log", "--format=- %s", f"HEAD..{head}")
        git.run(tree, "commit", "-q", "--no-verify", "--allow-empty", "-m", title, "-m", log,
                env=env)  # fmt: skip
        return []
    p = git.run(
        tree, "merge", "-q", "--no-ff", "--no-edit", "-m", title, head, check=False, env=env
    )
    if p.returncode != 0:
        files = _unmerged(tree)
        git.run(tree, "merge", "--abort", check=False)
        return files or ["(merge failed)"]
    return []


def _unmerged(tree: Path) -> list[str]:
    return sorted(set(git.z_paths(
        git.run(tree, "diff", "--name-only", "--diff-filter=U", "-z", check=False).stdout
    )))  # fmt: skip


def _run(
    store: Store,
    session_id: str,
    spec: CheckpointSpec,
    rows: dict[str, dict[str, Any]],
    chosen: list[str],
    repo: Path,
    target: str,
    target_sha: str,
    gates: list[GateSpec],
    say: Callable[[str], None],
) -> CheckpointResult:
    result = CheckpointResult(session_id, NOTHING, target)
    heads = _pending_streams(repo, rows, chosen, target_sha)
    if not heads:
        result.message = f"nothing to merge into {target}: no stream has new commits"
        say(result.message)
        return result
    cid = records.start_checkpoint(store, session_id, spec.id, str(repo), target, spec.strategy)
    result.checkpoint_id = cid
    say(f"checkpoint {spec.id}: {', '.join(heads)} -> {target} ({spec.strategy})")

    conflicts = check_conflicts(repo, target_sha, heads)
    tree: Path | None = None
    if not conflicts:
        tree = integration_worktree(repo, session_id, target_sha)
        for sid, head in heads.items():
            files = _merge_into(tree, spec, sid, rows[sid]["branch"], head)
            if files:
                conflicts.append({"stream": sid, "files": files})
                break
    if conflicts:
        for c in conflicts:
            say(f"conflict: stream {c['stream']}: {', '.join(c['files'])}")
        notice = "; ".join(f"{', '.join(c['files'])}" for c in conflicts)
        result.status, result.conflicts = CONFLICT, conflicts
        result.message = f"conflicts with {target}: {notice}"
        _finish(store, result, cid, target_sha, heads, spec, rows)
        return result

    assert tree is not None
    merged = git.out(tree, "rev-parse", "HEAD")
    say(f"merged tree {merged[:12]}; running {len(gates)} gate(s)")
    env = gate_env({"BR_SESSION": session_id, "BR_CHECKPOINT": spec.id, "BR_TARGET": target})
    for gate in gates:
        ratchet = (
            records.coverage_floor(store, str(repo), target, gate.name)
            if gate.kind == "coverage"
            else None
        )
        say(f"gate {gate.name} ({gate.kind}) ...")
        g = run_gate(gate, tree, base=target_sha, env=env, ratchet=ratchet, on_line=None)
        for line in g.output.splitlines()[-40:]:
            say(f"  {line}")
        say(f"gate {gate.name}: {g.status} (exit {g.exit_code})")
        result.gates.append(g)
        _record_gate(store, session_id, cid, str(repo), target, spec.id, g)
    failed = [g for g in result.gates if g.status != "passed"]
    if failed:
        result.status = GATE_FAILED
        result.message = "; ".join(
            f"gate {g.name} failed (exit {g.exit_code}): {_tail(g.output)}" for g in failed
        )
        _finish(store, result, cid, target_sha, heads, spec, rows)
        return result

    refusal = advance_target(repo, target, target_sha, merged)
    if refusal is not None:
        result.status = CONFLICT
        result.conflicts = [{"stream": None, "files": refusal[1], "worktree": refusal[0]}]
        result.message = refusal[2]
        say(result.message)
        _finish(store, result, cid, target_sha, heads, spec, rows)
        return result
    result.status, result.merged_commit = MERGED, merged
    result.message = f"{target} advanced {target_sha[:12]} -> {merged[:12]}"
    say(result.message)
    _finish(store, result, cid, target_sha, heads, spec, rows)
    return result


def _tail(text: str, lines: int = 6) -> str:
    return " | ".join(x.strip() for x in text.strip().splitlines()[-lines:] if x.strip())


def advance_target(
    repo: Path, target: str, old: str, new: str
) -> tuple[str, list[str], str] | None:
    """Move `target` from `old` to `new` by fast-forward; (worktree, files, message) if refused."""
    checked_out = next(
        (w["worktree"] for w in git.worktrees(repo) if w.get("branch") == f"refs/heads/{target}"),
        None,
    )
    if git.rev(repo, f"refs/heads/{target}") != old:
        return (checked_out or "", [], f"{target} moved while the checkpoint ran; run it again")
    if checked_out is None:
        git.run(repo, "update-ref", "-m", "br-tui checkpoint", f"refs/heads/{target}", new, old)
        return None
    changed = set(git.z_paths(git.run(repo, "diff", "--name-only", "-z", old, new).stdout))
    dirty = set(git.dirty_paths(checked_out))
    touched = sorted(changed & dirty)
    if touched:
        return (
            checked_out,
            touched,
            f"refused: {target} is checked out at {checked_out} with uncommitted changes to"
            f" {', '.join(touched)}, which the merge changes; commit or stash them (or use"
            " --target OTHER_BRANCH) and run the checkpoint again. Nothing was changed.",
        )
    p = git.run(checked_out, "merge", "-q", "--ff-only", new, check=False)
    if p.returncode != 0:
        why = " ".join(p.stderr.decode("utf-8", "replace").split())
        return (checked_out, [], f"refused: {target} at {checked_out}: {why}. Nothing was changed.")
    return None


def _record_gate(
    store: Store, session_id: str, cid: int, repo: str, target: str, name: str, g: GateResult
) -> None:
    from engine.store import now_iso

    stamp = now_iso()
    store.write(
        [
            records.gate_result_op(
                {
                    "checkpoint_id": cid,
                    "session_id": session_id,
                    "repo": repo,
                    "target": target,
                    "name": g.name,
                    "kind": g.kind,
                    "status": g.status,
                    "exit_code": g.exit_code,
                    "coverage": g.coverage,
                    "floor": g.floor,
                    "output": g.output,
                    "started_at": stamp,
                    "ended_at": stamp,
                    "wall_s": g.wall_s,
                }
            )
        ],
        [
            Event(EventType.GATE_RESULT, session_id, None if name == "manual" else name,
                  data={"checkpoint": name, "gate": g.name, "kind": g.kind, "status": g.status,
                        "exit_code": g.exit_code, "coverage": g.coverage, "floor": g.floor,
                        "wall_s": g.wall_s})
        ],
    )  # fmt: skip


def _finish(
    store: Store,
    result: CheckpointResult,
    cid: int,
    target_sha: str,
    heads: dict[str, str],
    spec: CheckpointSpec,
    rows: dict[str, dict[str, Any]],
) -> None:
    ops = [
        records.finish_checkpoint_op(
            cid,
            result.status,
            target_before=target_sha,
            merged_commit=result.merged_commit,
            streams=heads,
            conflicts=result.conflicts,
            message=result.message,
        )
    ]
    by_stream = {c["stream"]: c["files"] for c in result.conflicts if c.get("stream")}
    for sid, head in heads.items():
        if result.status == MERGED:
            changes: dict[str, Any] = {"state": StreamState.MERGED, "merged_head": head,
                                       "notice": None, "notice_task": None}  # fmt: skip
        elif result.status == CONFLICT and sid in by_stream:
            changes = {
                "state": StreamState.CONFLICT,
                "notice": f"checkpoint {spec.id} could not merge this stream into"
                f" {result.target}: conflicts in {', '.join(by_stream[sid])}. Make these files"
                f" merge cleanly with {result.target}.",
                "notice_task": None,
            }
        elif result.status == GATE_FAILED:
            changes = {
                "state": StreamState.GATE_FAILED,
                "notice": f"checkpoint {spec.id} merged nothing: {result.message}",
                "notice_task": None,
            }
        else:
            continue
        ops.append(records.update_stream_op(result.session_id, sid, **changes))
    etype = {
        MERGED: EventType.CHECKPOINT_MERGED,
        CONFLICT: EventType.CHECKPOINT_CONFLICT,
        GATE_FAILED: EventType.CHECKPOINT_GATE_FAILED,
    }[result.status]
    data = {
        "checkpoint": spec.id,
        "target": result.target,
        "strategy": spec.strategy,
        "streams": list(heads),
        "merged_commit": result.merged_commit,
        "conflicts": result.conflicts,
        "gates": [{"name": g.name, "status": g.status} for g in result.gates],
        "message": result.message,
    }
    task = None if spec.id == "manual" else spec.id  # a plan's checkpoint is also a task
    store.write(ops, [Event(etype, result.session_id, task, data=data)])
    store.flush()


def checkpoint_streams(row: dict[str, Any]) -> dict[str, str]:
    return json.loads(row.get("streams") or "{}")

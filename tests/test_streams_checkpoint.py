"""Streams engine on real git repositories: worktrees, commits, checkpoints, gates, cleanup.

Each test makes a repository in a temp dir with a session whose streams are prepared and
committed through the engine's own functions (the runner-driven path is test_streams_run.py).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from engine.plan import TaskSpec, load_plan
from engine.sessions import create_session
from engine.store import Store
from engine.streams import (
    CheckpointError,
    add_decision,
    cleanup_worktrees,
    commit_task,
    ensure_worktree,
    records,
    run_checkpoint,
    stream_diff,
    stream_views,
)
from tests.streams_helpers import checkout_state, commit, git, make_repo

PLAN = """
[[stream]]
id = "a"
[[stream]]
id = "b"
{extra}
[[task]]
id = "ta"
stream = "a"
run = "true"
[[task]]
id = "tb"
stream = "b"
run = "true"
"""


def setup_session(tmp_path: Path, extra: str = "", files: dict[str, str] | None = None):
    repo = make_repo(tmp_path / "repo", files)
    plan = repo / "plan.toml"
    plan.write_text(PLAN.format(extra=extra))
    store = Store(tmp_path / "br.db")
    sid = create_session(store, load_plan(plan))
    store.flush()
    return repo, store, sid


def work(store: Store, sid: str, stream: str, files: dict[str, str], task: str = "t") -> Path:
    """Make the stream's worktree (as its first task would) and commit `files` there."""
    row = records.stream(store, sid, stream)
    assert row is not None
    path = ensure_worktree(row).path
    store.write([records.update_stream_op(sid, stream, state="active")])
    for rel, text in files.items():
        (path / rel).parent.mkdir(parents=True, exist_ok=True)
        (path / rel).write_text(text)
    made = commit_task(path, session_id=sid, stream_id=stream, task_id=task, summary="did it")
    assert made is not None
    store.flush()
    return path


def test_session_records_base_and_target_and_worktree_reuses(tmp_path: Path) -> None:
    repo, store, sid = setup_session(tmp_path)
    rows = records.streams(store, sid)
    head = git(repo, "rev-parse", "HEAD")
    assert [(r["id"], r["base"], r["target"], r["state"]) for r in rows] == [
        ("a", head, "main", "pending"),
        ("b", head, "main", "pending"),
    ]
    assert rows[0]["branch"] == f"br/{sid}/a"
    assert Path(rows[0]["worktree"]) == repo / ".buildrunner" / "worktrees" / sid / "a"
    commit(repo, {"later.txt": "x\n"}, "the user moves on")  # the stream keeps its base
    first = ensure_worktree(rows[0])
    assert first.created and git(first.path, "rev-parse", "HEAD") == head
    again = ensure_worktree(rows[0])
    assert not again.created and again.path == first.path
    # .buildrunner/worktrees ignores itself: the user's `git status` doesn't see it
    assert ".buildrunner" not in git(repo, "status", "--porcelain")


def test_include_and_worktreeinclude_copy_gitignored_files_and_setup_runs_once(
    tmp_path: Path,
) -> None:
    extra = '[[stream]]\nid = "c"\ninclude = ["config/*.local"]\nsetup = "echo ran >> setup.log"\n'
    repo, store, sid = setup_session(
        tmp_path,
        extra,
        files={".gitignore": ".env\nconfig/*.local\nsetup.log\n", ".worktreeinclude": ".env\n"},
    )
    (repo / ".env").write_text("TOKEN=local\n")
    (repo / "config").mkdir()
    (repo / "config" / "db.local").write_text("db\n")
    (repo / "untracked.txt").write_text("not ignored: not copied\n")
    row = records.stream(store, sid, "c")
    made = ensure_worktree(row)
    assert sorted(made.copied) == [".env", "config/db.local"]
    assert (made.path / ".env").read_text() == "TOKEN=local\n"
    assert not (made.path / "untracked.txt").exists()
    assert made.setup_ran and (made.path / "setup.log").read_text() == "ran\n"
    store.write([records.update_stream_op(sid, "c", setup_done=1)])
    store.flush()
    assert not ensure_worktree(records.stream(store, sid, "c")).setup_ran


def test_commit_per_task_names_the_task_and_carries_the_summary(tmp_path: Path) -> None:
    _repo, store, sid = setup_session(tmp_path)
    path = work(store, sid, "a", {"a.txt": "a\n"}, task="write-a")
    message = git(path, "log", "-1", "--format=%B")
    assert message.startswith("br-tui: task write-a")
    assert "did it" in message and f"BR-Session: {sid}" in message
    assert commit_task(path, session_id=sid, stream_id="a", task_id="noop") is None
    assert git(path, "rev-list", "--count", "HEAD") == "2"


def test_clean_checkpoint_merges_both_and_keeps_the_users_dirty_checkout(tmp_path: Path) -> None:
    extra = '[[gate]]\nname = "both"\nrun = "test -f a.txt && test -f b.txt"\n'
    repo, store, sid = setup_session(tmp_path, extra)
    (repo / "README.md").write_text("my unsaved edit\n")  # uncommitted, not touched by the merge
    (repo / "scratch.txt").write_text("untracked\n")
    work(store, sid, "a", {"a.txt": "a\n"})
    work(store, sid, "b", {"b.txt": "b\n"})
    before = git(repo, "rev-parse", "main")
    result = run_checkpoint(store, sid)
    assert result.status == "merged", result.message
    assert [g.status for g in result.gates] == ["passed"]
    assert git(repo, "rev-parse", "main") == result.merged_commit != before
    # advanced in the user's checkout like `git merge --ff-only`: new files, edits kept
    assert (repo / "a.txt").read_text() == "a\n" and (repo / "b.txt").exists()
    assert (repo / "README.md").read_text() == "my unsaved edit\n"
    assert (repo / "scratch.txt").exists()
    assert {v.id: v.state for v in stream_views(store, sid)} == {"a": "merged", "b": "merged"}
    again = run_checkpoint(store, sid)
    assert again.status == "nothing_to_merge"
    json_shape = result.to_json()
    assert set(json_shape) == {"session_id", "status", "target", "merged_commit", "conflicts",
                               "gates"}  # fmt: skip
    assert json_shape["gates"] == [{"name": "both", "status": "passed", "exit_code": 0}]


def test_target_advances_only_after_every_gate_passes(tmp_path: Path) -> None:
    extra = '[[gate]]\nname = "fails"\nrun = "echo broken build; exit 3"\n'
    repo, store, sid = setup_session(tmp_path, extra)
    work(store, sid, "a", {"a.txt": "a\n"})
    state = checkout_state(repo)
    result = run_checkpoint(store, sid)
    assert result.status == "gate_failed"
    assert [(g.name, g.status, g.exit_code) for g in result.gates] == [("fails", "failed", 3)]
    assert checkout_state(repo) == state  # nothing merged: target, checkout, index unchanged
    row = records.stream(store, sid, "a")
    assert row["state"] == "gate_failed" and "broken build" in row["notice"]
    gates = store.query("SELECT name, status, exit_code, output FROM gate_results")
    assert gates[0]["status"] == "failed" and "broken build" in gates[0]["output"]
    kinds = [r["type"] for r in store.query("SELECT type FROM events ORDER BY id")]
    assert "gate.result" in kinds and "checkpoint.gate_failed" in kinds


def test_conflict_reports_files_and_merges_nothing(tmp_path: Path) -> None:
    repo, store, sid = setup_session(tmp_path)
    work(store, sid, "a", {"src/app.py": "x = 'a'\n"})
    work(store, sid, "b", {"src/app.py": "x = 'b'\n", "b.txt": "b\n"})
    state = checkout_state(repo)
    result = run_checkpoint(store, sid)
    assert result.status == "conflict"
    assert result.conflicts == [{"stream": "b", "files": ["src/app.py"]}]
    assert checkout_state(repo) == state
    assert not (repo / ".buildrunner" / "worktrees" / sid / "_integration").exists()
    notice = records.stream(store, sid, "b")["notice"]
    assert "src/app.py" in notice
    assert records.stream(store, sid, "a")["state"] == "active"


def test_target_checked_out_with_uncommitted_change_to_a_merged_file_is_refused(
    tmp_path: Path,
) -> None:
    repo, store, sid = setup_session(tmp_path)
    work(store, sid, "a", {"README.md": "stream's readme\n"})
    (repo / "README.md").write_text("my uncommitted readme\n")
    state = checkout_state(repo)
    result = run_checkpoint(store, sid)
    assert result.status == "conflict"
    assert result.conflicts[0]["files"] == ["README.md"]
    assert "uncommitted changes to README.md" in result.message
    assert checkout_state(repo) == state


def test_target_not_checked_out_moves_by_ref_only(tmp_path: Path) -> None:
    repo, store, sid = setup_session(tmp_path)
    git(repo, "branch", "integration")
    work(store, sid, "a", {"a.txt": "a\n"})
    state = checkout_state(repo)
    result = run_checkpoint(store, sid, target="integration")
    assert result.status == "merged"
    assert git(repo, "rev-parse", "integration") == result.merged_commit
    assert checkout_state(repo) == state  # main, the checkout and its index untouched
    with pytest.raises(CheckpointError, match="does not exist"):
        run_checkpoint(store, sid, target="nope")


@pytest.mark.parametrize("strategy", ["squash", "rebase"])
def test_squash_and_rebase_strategies_keep_history_linear(tmp_path: Path, strategy: str) -> None:
    extra = f'[[checkpoint]]\nid = "cp"\nafter = ["ta", "tb"]\nstrategy = "{strategy}"\n'
    repo, store, sid = setup_session(tmp_path, extra)
    work(store, sid, "a", {"a.txt": "a\n"}, task="t1")
    work(store, sid, "a", {"a2.txt": "a\n"}, task="t2")
    work(store, sid, "b", {"b.txt": "b\n"})
    result = run_checkpoint(store, sid, "cp")
    assert result.status == "merged"
    merges = git(repo, "rev-list", "--merges", "--count", "main")
    assert merges == "0"
    added = int(git(repo, "rev-list", "--count", "main")) - 1
    assert added == (2 if strategy == "squash" else 3)
    assert (repo / "a2.txt").exists() and (repo / "b.txt").exists()
    assert run_checkpoint(store, sid, "cp").status == "nothing_to_merge"


COVERAGE_FILES = {
    "pytest.ini": "[pytest]\npythonpath = .\n",
    ".gitignore": ".coverage\ncoverage.xml\n__pycache__/\n",
    "calc.py": "def add(a, b):\n    return a + b\n",
    "tests/test_calc.py": "from calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n",
}


def test_coverage_gate_fails_under_threshold_and_ratchets(tmp_path: Path) -> None:
    extra = '[[gate]]\nname = "coverage"\nkind = "coverage"\nfail_under = 60\n'
    repo, store, sid = setup_session(tmp_path, extra, files=COVERAGE_FILES)
    # a stream adds untested code: 7 of 14 statements covered, under 60 %
    body = "".join(f"    v{i} = x + {i}\n" for i in range(6))
    untested = f"def big(x):\n{body}    return x\n"
    work(store, sid, "a", {"more.py": untested, "tests/test_more.py": "import more\n"})
    state = checkout_state(repo)
    result = run_checkpoint(store, sid)
    assert result.status == "gate_failed"
    gate = result.gates[0]
    assert gate.exit_code == 2 and gate.coverage is not None and gate.coverage < 60
    assert checkout_state(repo) == state

    # a fully covered stream passes and sets the ratchet at 100 %
    tested = "from calc import add\n\n\ndef test_more():\n    assert add(2, 2) == 4\n"
    work(store, sid, "b", {"tests/test_b.py": tested})
    passed = run_checkpoint_only(store, sid, ["b"])
    assert passed.status == "merged" and passed.gates[0].coverage == 100.0

    # then less than 100 % is refused although above fail_under: the ratchet
    work(store, sid, "b", {"neg.py": "def neg(a):\n    return -a\n",
                           "tests/test_neg.py": "import neg\n"}, task="t3")  # fmt: skip
    dropped = run_checkpoint_only(store, sid, ["b"])
    assert dropped.status == "gate_failed"
    assert dropped.gates[0].floor == 100.0
    assert 60 < dropped.gates[0].coverage < 100.0
    assert "last passing checkpoint" in dropped.gates[0].output


def run_checkpoint_only(store: Store, sid: str, streams: list[str]):
    """A checkpoint of some streams: set through the session's stored plan config."""
    session = records.session_row(store, sid)
    config = json.loads(session["config"])
    config["streams"]["checkpoints"] = [
        {"id": "only", "after": ["ta"], "streams": streams, "strategy": "merge"}
    ]
    store.write([("UPDATE sessions SET config=? WHERE id=?", (json.dumps(config), sid))])
    store.flush()
    return run_checkpoint(store, sid, "only")


def test_scan_gate_fails_on_a_secret_added_in_a_stream(tmp_path: Path) -> None:
    extra = '[[gate]]\nname = "secrets"\nkind = "scan"\n'
    repo, store, sid = setup_session(tmp_path, extra)
    key = "AKIA" + "Q3EGHT7XNDKS4VRB"
    work(store, sid, "a", {"settings.py": f'AWS_ACCESS_KEY_ID = "{key}"\n'})
    state = checkout_state(repo)
    result = run_checkpoint(store, sid)
    assert result.status == "gate_failed"
    assert result.gates[0].name == "secrets" and result.gates[0].exit_code == 1
    assert checkout_state(repo) == state
    stored = store.query("SELECT output FROM gate_results")[0]["output"]
    assert "settings.py" in stored and key not in stored  # reported, never unmasked


def test_diff_cover_gate_measures_changed_lines(tmp_path: Path) -> None:
    extra = (
        '[[gate]]\nname = "coverage"\nkind = "coverage"\n'
        '[[gate]]\nname = "changed"\nkind = "diff-cover"\nfail_under = 90\n'
    )
    _repo, store, sid = setup_session(tmp_path, extra, files=COVERAGE_FILES)
    work(store, sid, "a", {"more.py": "def sub(a, b):\n    return a - b\n",
                           "tests/test_more.py": "import more\n"})  # fmt: skip
    result = run_checkpoint(store, sid)
    assert [(g.name, g.status) for g in result.gates] == [
        ("coverage", "passed"),
        ("changed", "failed"),
    ]
    assert "more.py" in result.gates[1].output


def test_cleanup_removes_merged_and_keeps_unmerged_without_force(tmp_path: Path) -> None:
    repo, store, sid = setup_session(tmp_path)
    path_a = work(store, sid, "a", {"a.txt": "a\n"})
    path_b = work(store, sid, "b", {"src/app.py": "x = 2\n"})
    assert run_checkpoint_only(store, sid, ["a"]).status == "merged"
    store.write([("UPDATE sessions SET status='completed' WHERE id=?", (sid,))])
    store.flush()
    dry = cleanup_worktrees(store, dry_run=True)
    assert [r["stream"] for r in dry["removed"] if r["stream"]] == ["a"] and path_a.exists()
    report = cleanup_worktrees(store)
    assert [r["stream"] for r in report["removed"] if r["stream"]] == ["a"]
    assert [(r["stream"], r["reason"].split(":")[0]) for r in report["kept"]] == [("b", "unmerged")]
    assert not path_a.exists() and path_b.exists()
    branches = git(repo, "branch", "--list", "br/*")
    assert f"br/{sid}/b" in branches and f"br/{sid}/a" not in branches
    assert str(path_a) not in git(repo, "worktree", "list")
    forced = cleanup_worktrees(store, force=True)
    assert [r["stream"] for r in forced["removed"] if r["stream"]] == ["b"]
    assert not path_b.exists() and git(repo, "branch", "--list", "br/*") == ""


def test_running_session_worktrees_are_never_cleaned(tmp_path: Path) -> None:
    _repo, store, sid = setup_session(tmp_path)
    path = work(store, sid, "a", {"a.txt": "a\n"})
    store.write([("UPDATE sessions SET status='running' WHERE id=?", (sid,))])
    store.flush()
    report = cleanup_worktrees(store, force=True)
    assert report["removed"] == [] and path.exists()


def test_decisions_are_masked_timestamped_and_attributed(tmp_path: Path) -> None:
    _, store, sid = setup_session(tmp_path)
    key = "AKIA" + "Q3EGHT7XNDKS4VRB"
    text = add_decision(store, sid, f"use the staging key {key} for now", author="person dev")
    store.flush()
    rows = records.decisions(store, sid)
    assert key not in text and key not in rows[0]["text"]
    assert rows[0]["author"] == "person dev" and rows[0]["ts"]
    events = store.query("SELECT data FROM events WHERE type='decision.added'")
    assert key not in events[0]["data"]


def test_stream_diff_shows_what_a_checkpoint_would_bring(tmp_path: Path) -> None:
    _, store, sid = setup_session(tmp_path)
    work(store, sid, "a", {"a.txt": "hello\n"})
    files, diff = stream_diff(store, sid, "a")
    assert files == ["A\ta.txt"] and "+hello" in diff
    views = {v.id: v for v in stream_views(store, sid)}
    assert views["a"].ahead == 1 and views["a"].behind == 0
    assert views["b"].head is None and views["b"].state == "pending"


def prepare(store: Store, sid: str, spec: Any, attempt: int = 1) -> Any:
    from engine.streams import StreamRuntime

    session = records.session_row(store, sid)
    runtime = StreamRuntime(store, sid, json.loads(session["config"]))

    async def go() -> Any:
        prep = await runtime.before_task(spec, attempt)
        await runtime._free(spec.stream, spec.id)  # as after_task would
        return prep

    return asyncio.run(go())


def test_a_conflict_reaches_the_streams_next_agent_task_once(tmp_path: Path) -> None:
    _repo, store, sid = setup_session(tmp_path)
    work(store, sid, "a", {"src/app.py": "x = 'a'\n"})
    work(store, sid, "b", {"src/app.py": "x = 'b'\n"})
    add_decision(store, sid, "x is a string", author="person dev")
    assert run_checkpoint(store, sid).status == "conflict"
    agent = TaskSpec("fix-b", prompt="resolve it", stream="b")
    prep = prepare(store, sid, agent)
    assert "Attention (stream b)" in prep.context and "src/app.py" in prep.context
    assert "x is a string" in prep.context  # the shared decisions, every agent task
    assert prep.spec.cwd == str(Path(records.stream(store, sid, "b")["worktree"]) / ".")
    assert prep.env["BR_DECISIONS"] and prep.env["BR_STREAM"] == "b"
    store.flush()
    again = prepare(store, sid, agent, attempt=2)  # its retry is told again
    assert "Attention" in again.context
    other = prepare(store, sid, TaskSpec("next-b", prompt="go on", stream="b"))
    assert "Attention" not in other.context and "x is a string" in other.context
    shell = prepare(store, sid, TaskSpec("sh-a", run="true", stream="a"))
    assert shell.context == ""


def test_streams_continue_from_the_integration_point(tmp_path: Path) -> None:
    extra = '[[stream]]\nid = "late"\n'
    _repo, store, sid = setup_session(tmp_path, extra)
    work(store, sid, "a", {"a.txt": "a\n"})
    work(store, sid, "b", {"b.txt": "b\n"})
    result = run_checkpoint_only(store, sid, ["a", "b"])
    assert result.status == "merged"
    merged = result.merged_commit
    # a merged stream's next task starts from the merged commit (it holds b's work too)
    prep = prepare(store, sid, TaskSpec("a2", run="true", stream="a"))
    assert git(Path(prep.env["BR_WORKTREE"]), "rev-parse", "HEAD") == merged
    assert (Path(prep.env["BR_WORKTREE"]) / "b.txt").exists()
    # a stream whose first task comes after the checkpoint starts there too
    late = prepare(store, sid, TaskSpec("l1", run="true", stream="late"))
    assert git(Path(late.env["BR_WORKTREE"]), "rev-parse", "HEAD") == merged
    store.flush()
    assert records.stream(store, sid, "late")["base"] == merged

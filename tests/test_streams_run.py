"""Streams driven by real sessions: `br-tui run` / `resume` / `checkpoint` / `streams` /
`decide` / `cleanup` as subprocesses, on real git repositories with a dirty user checkout."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

from tests.engine_helpers import query, spawn_br, wait_for
from tests.streams_helpers import AGENT, checkout_state, git, make_repo
from tests.streams_helpers import env as child_env

BR = [sys.executable, "-m", "br_tui"]


def br(*args: str, db: Path, cwd: Path | None = None, extra_env: dict[str, str] | None = None):
    return subprocess.run(
        [*BR, *args, "--db", str(db)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        stdin=subprocess.DEVNULL,
        env={**child_env(), **(extra_env or {})},
    )


def dirty_repo(tmp_path: Path) -> Path:
    repo = make_repo(tmp_path / "repo", {"README.md": "readme\n", "src/app.py": "x = 1\n"})
    (repo / "README.md").write_text("my uncommitted edit\n")
    (repo / "src" / "app.py").write_text("x = 2  # staged\n")
    git(repo, "add", "src/app.py")
    (repo / "notes.txt").write_text("untracked notes\n")
    return repo


def test_two_streams_in_parallel_leave_the_users_checkout_byte_for_byte(tmp_path: Path) -> None:
    repo = dirty_repo(tmp_path)
    flag = tmp_path / "b-started"
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    # a-wait finishes only once b1 has started: the two streams run at the same time
    wait_for_b = (
        f"i=0; while [ ! -f {flag} ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done;"
        f" test -f {flag} && echo waited >> a.txt"
    )
    plan = repo / "plan.toml"
    plan.write_text(
        AGENT
        + f"""
[[stream]]
id = "a"
[[stream]]
id = "b"

[[task]]
id = "a1"
stream = "a"
prompt = "append one to a.txt"
[[task]]
id = "a-wait"
stream = "a"
needs = ["a1"]
run = "{wait_for_b}"
[[task]]
id = "a-noop"
stream = "a"
needs = ["a-wait"]
run = "cat a.txt"
[[task]]
id = "b1"
stream = "b"
run = "touch {flag}; echo 'use utf-8 everywhere' >> \\"$BR_DECISIONS\\"; echo b >> b.txt"
[[task]]
id = "b2"
stream = "b"
needs = ["b1", "a1"]
prompt = "append two to b.txt"
"""
    )
    before = checkout_state(repo)
    db = tmp_path / "br.db"
    out = br("run", str(plan), "--workers", "3", "--json", db=db,
             extra_env={"FAKE_AGENT_PROMPTS": str(prompts)})  # fmt: skip
    assert out.returncode == 0, out.stderr + out.stdout
    assert checkout_state(repo) == before  # work tree, index, HEAD, main: all as they were

    sid = json.loads(out.stdout)["session_id"]
    a, b = f"br/{sid}/a", f"br/{sid}/b"
    subjects_a = git(repo, "log", "--format=%s", f"main..{a}").splitlines()
    subjects_b = git(repo, "log", "--format=%s", f"main..{b}").splitlines()
    # one commit per task that changed files; a-noop changed nothing
    assert [s.split(" — ")[0] for s in subjects_a] == ["br-tui: task a-wait", "br-tui: task a1"]
    assert [s.split(" — ")[0] for s in subjects_b] == ["br-tui: task b2", "br-tui: task b1"]
    assert git(repo, "show", f"{a}:a.txt") == "one\nwaited"
    assert git(repo, "show", f"{b}:b.txt") == "b\ntwo"
    # the decision b1 wrote reached b2's prompt, attributed
    assert "use utf-8 everywhere" in (prompts / "b2.txt").read_text()
    rows = query(db, "SELECT text, task_id, stream_id, author FROM decisions")
    assert [(r["text"], r["task_id"], r["stream_id"]) for r in rows] == [
        ("use utf-8 everywhere", "b1", "b")
    ]
    commits = query(db, "SELECT count(*) AS n FROM events WHERE type='stream.committed'")
    assert commits[0]["n"] == 4

    listing = br("streams", sid, "--json", db=db)
    assert listing.returncode == 0, listing.stderr
    data = json.loads(listing.stdout)
    assert data["session_id"] == sid
    assert [set(s) for s in data["streams"]] == [
        {"id", "branch", "worktree", "base", "head", "ahead", "behind", "state"}
    ] * 2
    by_id = {s["id"]: s for s in data["streams"]}
    assert by_id["a"]["ahead"] == 2 and by_id["a"]["behind"] == 0
    assert by_id["a"]["head"] == git(repo, "rev-parse", a)


def test_kill_9_owner_mid_stream_then_resume_continues_in_the_same_worktree(
    tmp_path: Path,
) -> None:
    repo = make_repo(tmp_path / "repo")
    gate = tmp_path / "second-attempt"
    second = (  # the first attempt is killed with its owner; the second finishes
        f"pwd >> {tmp_path}/cwds; echo partial >> work.txt;"
        f" if [ -f {gate} ]; then echo done >> work.txt; else touch {gate}; sleep 60; fi"
    )
    plan = repo / "plan.toml"
    plan.write_text(
        f"""
[[stream]]
id = "s"
[[task]]
id = "t1"
stream = "s"
run = "echo first >> work.txt"
[[task]]
id = "t2"
stream = "s"
needs = ["t1"]
run = "{second}"
"""
    )
    db = tmp_path / "br.db"
    owner = spawn_br("run", str(plan), "--workers", "2", db=db)
    wait_for(lambda: gate.exists(), what="t2 running")
    sid = query(db, "SELECT id FROM sessions")[0]["id"]
    owner.send_signal(signal.SIGKILL)
    owner.wait()
    worktree = repo / ".buildrunner" / "worktrees" / sid / "s"
    assert git(worktree, "log", "-1", "--format=%s").startswith("br-tui: task t1")
    out = br("resume", sid, "--json", db=db)
    assert out.returncode == 0, out.stderr
    cwds = (tmp_path / "cwds").read_text().split()
    assert cwds == [str(worktree), str(worktree)]  # the same worktree, both attempts
    assert (worktree / "work.txt").read_text() == "first\npartial\npartial\ndone\n"
    subjects = git(repo, "log", "--format=%s", f"main..br/{sid}/s").splitlines()
    assert [s.split(" — ")[0] for s in subjects] == ["br-tui: task t2", "br-tui: task t1"]
    assert git(worktree, "status", "--porcelain") == ""  # nothing left uncommitted
    trees = [w for w in git(repo, "worktree", "list").splitlines() if f"/{sid}/" in w]
    assert len(trees) == 1


def test_plan_checkpoint_merges_before_integration_and_failure_cancels_it(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    body = """
[[stream]]
id = "a"
[[stream]]
id = "b"
[[gate]]
name = "check"
run = "{gate}"
[[task]]
id = "ta"
stream = "a"
run = "echo a > a.txt"
[[task]]
id = "tb"
stream = "b"
run = "echo b > b.txt"
[[checkpoint]]
id = "merge-all"
after = ["ta", "tb"]
[[task]]
id = "integration"
needs = ["merge-all"]
run = "cat a.txt b.txt"
"""
    plan = repo / "plan.toml"
    db = tmp_path / "br.db"
    plan.write_text(body.format(gate="grep -q a a.txt"))
    out = br("run", str(plan), "--json", db=db, cwd=repo)
    assert out.returncode == 0, out.stderr + out.stdout
    assert (repo / "a.txt").read_text() == "a\n"  # main advanced in the checkout, then read
    lines = [r["line"] for r in query(db, "SELECT line FROM output WHERE task_id='integration'")]
    assert lines == ["a", "b"]

    repo2 = make_repo(tmp_path / "repo2")
    plan2 = repo2 / "plan.toml"
    plan2.write_text(body.format(gate="echo 'gate says no'; exit 1"))
    before = checkout_state(repo2)
    db2 = tmp_path / "br2.db"
    out = br("run", str(plan2), "--json", db=db2, cwd=repo2)
    assert out.returncode == 1
    states = {r["id"]: r["state"] for r in query(db2, "SELECT id, state FROM tasks")}
    assert states == {"ta": "succeeded", "tb": "succeeded", "merge-all": "failed",
                      "integration": "cancelled"}  # fmt: skip
    assert checkout_state(repo2) == before
    output = [r["line"] for r in query(db2, "SELECT line FROM output WHERE task_id='merge-all'")]
    assert any("gate says no" in line for line in output)
    assert any("gate check: failed" in line for line in output)


def test_checkpoint_cli_json_and_exit_codes(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    plan = repo / "plan.toml"
    plan.write_text(
        """
[[stream]]
id = "a"
[[stream]]
id = "b"
[[task]]
id = "ta"
stream = "a"
run = "echo a > README.md"
[[task]]
id = "tb"
stream = "b"
run = "echo b > README.md"
"""
    )
    db = tmp_path / "br.db"
    assert br("run", str(plan), db=db).returncode == 0
    sid = query(db, "SELECT id FROM sessions")[0]["id"]

    out = br("checkpoint", sid, "--json", db=db)
    assert out.returncode == 1, out.stderr
    result = json.loads(out.stdout)
    assert result == {
        "session_id": sid,
        "status": "conflict",
        "target": "main",
        "merged_commit": None,
        "conflicts": [{"stream": "b", "files": ["README.md"]}],
        "gates": [],
    }
    assert br("checkpoint", "nope", "--json", db=db).returncode == 2
    assert br("checkpoint", sid, "--target", "missing", db=db).returncode == 2
    assert br("checkpoint", sid, "--bogus", db=db).returncode == 2

    git(repo, "branch", "side")
    out = br("checkpoint", sid, "--target", "side", "--json", db=db)
    assert out.returncode == 1  # still conflicting: both streams edit README.md

    decided = br("decide", sid, "README belongs to stream a", db=db)
    assert decided.returncode == 0, decided.stderr
    rows = query(db, "SELECT text, author FROM decisions")
    assert rows[0]["text"] == "README belongs to stream a"
    assert rows[0]["author"].startswith("person ")
    assert br("decide", sid, "   ", db=db).returncode == 2

    # cleanup keeps both unmerged branches, and reports them
    out = br("cleanup", "--json", db=db)
    assert out.returncode == 0, out.stderr
    kept = json.loads(out.stdout)["worktrees"]["kept"]
    assert sorted(k["stream"] for k in kept) == ["a", "b"]
    assert git(repo, "branch", "--list", f"br/{sid}/*").count("br/") == 2


def test_tasks_of_one_stream_take_turns_so_each_commit_is_one_tasks_work(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    tasks = "".join(
        f'[[task]]\nid = "t{i}"\nstream = "s"\nrun = "echo {i} > f{i}.txt; sleep 0.2"\n'
        for i in range(3)
    )
    plan = repo / "plan.toml"
    plan.write_text('[[stream]]\nid = "s"\n' + tasks)
    db = tmp_path / "br.db"
    out = br("run", str(plan), "--workers", "3", "--json", db=db)
    assert out.returncode == 0, out.stderr
    sid = json.loads(out.stdout)["session_id"]
    shas = git(repo, "rev-list", f"main..br/{sid}/s").split()
    assert len(shas) == 3
    for sha in shas:
        files = git(repo, "diff-tree", "--no-commit-id", "--name-only", "-r", sha).split()
        subject = git(repo, "log", "-1", "--format=%s", sha)
        task = subject.split()[2]
        assert files == [f"f{task[1:]}.txt"], (subject, files)


def test_the_streams_example_runs_offline_in_a_scratch_repository(tmp_path: Path) -> None:
    """examples/streams-demo.sh, as the README runs it: foundation, three streams, a
    checkpoint behind tests / coverage / changed lines / scan, then integration."""
    root = Path(__file__).resolve().parent.parent
    demo = tmp_path / "demo"
    path = f"{Path(sys.executable).parent}:{child_env()['PATH']}"
    out = subprocess.run(
        ["sh", str(root / "examples" / "streams-demo.sh"), str(demo)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**child_env(), "PATH": path},
        stdin=subprocess.DEVNULL,
    )
    assert out.returncode == 0, out.stderr
    assert "completed  8/8 succeeded" in out.stdout, out.stdout + out.stderr
    db = demo / ".buildrunner" / "br.db"
    gates = query(db, "SELECT name, status FROM gate_results ORDER BY id")
    assert [(g["name"], g["status"]) for g in gates] == [
        ("tests", "passed"),
        ("tests", "passed"),
        ("coverage", "passed"),
        ("changed-lines", "passed"),
        ("secrets", "passed"),
    ]
    assert (demo / "app" / "api.py").exists() and (demo / "docs" / "guide.md").exists()
    assert (demo / "NOTES.txt").read_text() == "notes: your uncommitted work\n"
    decisions = [r["text"] for r in query(db, "SELECT text FROM decisions ORDER BY id")]
    assert len(decisions) == 2 and "slug" in decisions[0]

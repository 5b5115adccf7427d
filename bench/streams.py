"""Streams on a generated 20,000-file repository: setting up N stream worktrees against plain
`git worktree add`, and a three-stream checkpoint, phase by phase.

Setting up a stream is what a stream's first task pays: `git worktree add -b BRANCH PATH BASE`
plus br-tui's own work (reading the stream row, listing registered worktrees, copying
`include` / `.worktreeinclude` files, writing the row). The plain baseline is the same
`git worktree add` with nothing else. The checkpoint merges three streams (each changed 10
files) with a trivial gate, through the full path: conflict check with `git merge-tree`, the
integration worktree (a checkout of the whole tree the first time, a reset after), merges,
the gate, the fast-forward of the target in the user's checkout.

    python bench/streams.py [--files 20000] [--streams 4] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from engine.plan import load_plan
from engine.sessions import create_session
from engine.store import Store
from engine.streams import commit_task, ensure_worktree, records, run_checkpoint
from engine.streams.checkpoint import check_conflicts

ENV = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True, env=ENV
    ).stdout.strip()


def make_repo(root: Path, files: int) -> Path:
    repo = root / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.email", "bench@example.com")
    git(repo, "config", "user.name", "bench")
    per_dir = 100
    for i in range(files):
        d = repo / "src" / f"pkg{i // per_dir:03d}"
        if i % per_dir == 0:
            d.mkdir(parents=True)
        (d / f"mod{i % per_dir:03d}.py").write_text(
            f"VALUE_{i} = {i}\n\n\ndef f{i}():\n    return {i}\n"
        )
    (repo / ".gitignore").write_text(".env\n")
    (repo / ".env").write_text("LOCAL=1\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "generated")
    return repo


def plan_text(streams: int) -> str:
    text = "".join(f'[[stream]]\nid = "s{i}"\ninclude = [".env"]\n' for i in range(streams))
    text += '[[gate]]\nname = "ok"\nrun = "true"\n'
    text += "".join(
        f'[[task]]\nid = "t{i}"\nstream = "s{i}"\nrun = "true"\n' for i in range(streams)
    )
    return text


def plain_add(repo: Path, name: str) -> float:
    t0 = time.perf_counter()
    git(repo, "worktree", "add", "-q", "-b", f"plain/{name}", str(repo.parent / name), "HEAD")
    return time.perf_counter() - t0


def setup_round(
    repo: Path, store: Store, n: int, r: int
) -> tuple[list[float], list[float], str, float]:
    """One round: a session of n streams, then each stream's worktree made right after a plain
    `git worktree add` of the same tree, so both see the same machine load."""
    inside = repo / f"plan-{r}.toml"  # in the repository, uncommitted, as a user's plan is
    inside.write_text(plan_text(n))
    t0 = time.perf_counter()
    sid = create_session(store, load_plan(inside))
    store.flush()
    created = time.perf_counter() - t0
    plain, ours = [], []
    for i, row in enumerate(records.streams(store, sid)):
        plain.append(plain_add(repo, f"plain-{r}-{i}"))
        t0 = time.perf_counter()
        ensure_worktree(row)
        ours.append(time.perf_counter() - t0)
    return plain, ours, sid, created


def checkpoint(repo: Path, store: Store, sid: str) -> dict[str, float]:
    rows = records.streams(store, sid)[:3]
    for i, row in enumerate(rows):
        path = Path(row["worktree"])
        packages = sorted((path / "src").iterdir())
        for j in range(10):
            f = packages[(i * 10 + j) % len(packages)] / f"mod{i:03d}.py"
            f.write_text(f.read_text() + f"EXTRA = {i}\n")
        commit_task(path, session_id=sid, stream_id=row["id"], task_id=f"t{i}")
    config = records.session_row(store, sid)
    import json

    cfg = json.loads(config["config"])
    cfg["streams"]["checkpoints"] = [
        {"id": "three", "after": ["t0"], "streams": [r["id"] for r in rows], "strategy": "merge"}
    ]
    store.write([("UPDATE sessions SET config=? WHERE id=?", (json.dumps(cfg), sid))])
    store.flush()
    heads = {r["id"]: git(repo, "rev-parse", r["branch"]) for r in rows}
    t0 = time.perf_counter()
    check_conflicts(repo, git(repo, "rev-parse", "main"), heads)
    conflict_check = time.perf_counter() - t0
    t0 = time.perf_counter()
    result = run_checkpoint(store, sid, "three")
    full = time.perf_counter() - t0
    assert result.status == "merged", result.message
    return {"conflict_check": conflict_check, "checkpoint_first": full}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=20_000)
    ap.add_argument("--streams", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="br-bench-streams-") as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        repo = make_repo(root, args.files)
        print(f"generated repository: {args.files} files in {time.perf_counter() - t0:.1f}s")
        plain: list[float] = []
        ours: list[float] = []
        creates: list[float] = []
        sessions = []
        store = Store(root / "br.db")
        for r in range(args.repeat):
            p_times, o_times, sid, created = setup_round(repo, store, args.streams, r)
            plain += p_times
            ours += o_times
            creates.append(created)
            sessions.append(sid)
        p, o = statistics.median(plain), statistics.median(ours)
        c = statistics.median(creates)
        n = args.streams
        print(f"per worktree, median of {len(plain)}: plain `git worktree add` {p * 1000:.0f} ms,"
              f" br-tui stream set-up {o * 1000:.0f} ms (ratio {o / p:.2f}x)")  # fmt: skip
        print(f"session with {n} streams created (base commit and target recorded): "
              f"{c * 1000:.0f} ms")  # fmt: skip
        print(f"{n} streams: plain {p * n:.2f}s, br-tui {o * n + c:.2f}s")
        phases = checkpoint(repo, store, sessions[-1])
        # a second checkpoint reuses the integration worktree (a reset, not a fresh checkout)
        rows = records.streams(store, sessions[-1])[:3]
        for i, row in enumerate(rows):
            path = Path(row["worktree"])
            (path / f"again{i}.txt").write_text("again\n")
            commit_task(path, session_id=sessions[-1], stream_id=row["id"], task_id=f"u{i}")
        t0 = time.perf_counter()
        again = run_checkpoint(store, sessions[-1], "three")
        phases["checkpoint_again"] = time.perf_counter() - t0
        assert again.status == "merged", again.message
        print(
            "three-stream conflict check (git merge-tree):"
            f" {phases['conflict_check'] * 1000:.0f} ms"
        )
        print(f"three-stream checkpoint, first (integration worktree checked out): "
              f"{phases['checkpoint_first']:.2f}s")  # fmt: skip
        print(f"three-stream checkpoint, again (integration worktree reset):       "
              f"{phases['checkpoint_again']:.2f}s")  # fmt: skip
        store.close()


if __name__ == "__main__":
    main()

"""Real git repositories in a temp dir for the streams tests, and snapshots of a checkout."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from tests.engine_helpers import child_pythonpath

FAKE_CLAUDE = Path(__file__).resolve().parent / "standins" / "fake_claude.py"
AGENT = f'[agent]\ncommand = "{sys.executable} {FAKE_CLAUDE} -p {{prompt}} --model {{model}}"\n'
GIT_ENV = {
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def env() -> dict[str, str]:
    return {**os.environ, **GIT_ENV, "PYTHONPATH": child_pythonpath()}


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True, env=env()
    ).stdout.strip()


def make_repo(path: Path, files: dict[str, str] | None = None) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.email", "dev@example.com")
    git(path, "config", "user.name", "dev")
    files = files or {"README.md": "readme\n", "src/app.py": "x = 1\n"}
    for rel, text in files.items():
        p = path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "start")
    return path


def commit(repo: Path, files: dict[str, str], message: str) -> str:
    for rel, text in files.items():
        p = repo / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def checkout_state(repo: Path) -> dict[str, str]:
    """Everything a user would call "my checkout": each file's bytes outside .git and
    .buildrunner, the index file, HEAD, and every ref of the repository's own branches."""
    state: dict[str, str] = {}
    for p in sorted(repo.rglob("*")):
        rel = p.relative_to(repo).as_posix()
        if rel.startswith((".git/", ".buildrunner")) or rel == ".git" or not p.is_file():
            continue
        state[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    state[".git/index"] = hashlib.sha256((repo / ".git" / "index").read_bytes()).hexdigest()
    state[".git/HEAD"] = (repo / ".git" / "HEAD").read_text()
    state["refs/heads/main"] = git(repo, "rev-parse", "refs/heads/main")
    state["status"] = git(
        repo, "--no-optional-locks", "status", "--porcelain=v1", "--untracked-files=all"
    )
    return state

"""br:allow-file -- The headless scanner as hooks and CI use it: exit codes, formats, masking.

Secrets are assembled at run time so this file itself scans clean.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from engine_helpers import child_pythonpath

from engine.security.cli import hooks_main, main

KEY = "".join(["AK", "IAZ7Q4KD2M5XW3RT6Y"])
TOKEN = "".join(["gh", "p_", "Zx8Qm2Lp7Rt4Vw9Kc3Nb6Hy1Jd5Fg0SaAb3d"])
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "app.py").write_text(f"KEY = '{KEY}'\nTOKEN = \"{TOKEN}\"\n")
    (tmp_path / "clean.md").write_text("nothing to see\n")
    (tmp_path / "blob.bin").write_bytes(b"\0\1\2" + KEY.encode())
    (tmp_path / "latin1.txt").write_bytes(b"caf\xe9 " + KEY.encode())
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("fmt", ["text", "json", "sarif"])
def test_formats_mask_every_secret(tree: Path, fmt: str, capsys: pytest.CaptureFixture) -> None:
    assert main(["--format", fmt, "."]) == 1
    out = capsys.readouterr().out
    assert KEY not in out and TOKEN not in out
    assert KEY[:4] in out  # masked form keeps the first four
    if fmt == "json":
        findings = json.loads(out)["findings"]
        assert {f["rule_id"] for f in findings} == {"aws-access-key-id", "github-token"}
        assert set(findings[0]) >= {
            "path",
            "line",
            "column",
            "rule_id",
            "kind",
            "severity",
            "message",
            "match",
            "fingerprint",
        }
    if fmt == "sarif":
        log = json.loads(out)
        assert log["version"] == "2.1.0"
        result = log["runs"][0]["results"][0]
        assert result["locations"][0]["physicalLocation"]["region"]["startLine"] >= 1


def test_exit_codes(tree: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["clean.md"]) == 0
    assert main(["app.py"]) == 1
    assert main(["missing-dir"]) == 2
    assert main(["--format", "xml"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 2  # one line per error


def test_baseline_accepts_by_fingerprint(tree: Path) -> None:
    assert main(["--update-baseline", "."]) == 0
    assert main(["."]) == 0
    (tree / "app.py").write_text(f"\n\n# moved down\nKEY = '{KEY}'\nTOKEN = \"{TOKEN}\"\n")
    assert main(["."]) == 0  # a moved line stays accepted
    assert main(["--no-baseline", "."]) == 1


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=False)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "config", "user.name", "Test")
    _git(tmp_path, "config", "user.email", "test@example.invalid")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_staged_reads_the_index_not_the_work_tree(repo: Path) -> None:
    (repo / "a.env").write_text("nothing\n")
    _git(repo, "add", "a.env")
    (repo / "a.env").write_text(f"KEY={KEY}\n")  # unstaged change
    assert main(["--staged"]) == 0
    _git(repo, "add", "a.env")
    assert main(["--staged"]) == 1


def test_diff_reports_added_lines_only(repo: Path) -> None:
    (repo / "old.env").write_text(f"KEY={KEY}\n")
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "old")
    assert main(["--diff", "HEAD"]) == 0
    (repo / "old.env").write_text(f"KEY={KEY}\nTOKEN={TOKEN}\n")
    assert main(["--diff", "HEAD", "--format", "json"]) == 1


def test_installed_hook_blocks_a_key_and_passes_clean(repo: Path) -> None:
    (repo / ".git" / "hooks" / "pre-commit").write_text("#!/bin/sh\necho chained >> chained.log\n")
    (repo / ".git" / "hooks" / "pre-commit").chmod(0o755)
    assert hooks_main(["install"]) == 0
    env = {**os.environ, "PATH": os.environ.get("PATH", ""), "PYTHONPATH": child_pythonpath()}
    env["PATH"] = os.pathsep.join(
        p for p in env["PATH"].split(os.pathsep) if not (Path(p) / "br-tui").exists()
    )
    (repo / "leak.env").write_text(f"TOKEN={TOKEN}\n")
    _git(repo, "add", "leak.env")
    blocked = subprocess.run(
        ["git", "commit", "-qm", "leak"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert blocked.returncode != 0
    assert TOKEN not in blocked.stdout + blocked.stderr
    _git(repo, "rm", "-q", "--cached", "leak.env")
    (repo / "ok.txt").write_text("clean\n")
    _git(repo, "add", "ok.txt")
    done = subprocess.run(
        ["git", "commit", "-qm", "clean"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (repo / "chained.log").exists()  # the existing hook still ran
    assert hooks_main(["uninstall"]) == 0
    assert "chained" in (repo / ".git" / "hooks" / "pre-commit").read_text()


def test_module_entry_point(tree: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "engine.security", "--format", "json", "."],
        cwd=tree,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": child_pythonpath()},
    )
    assert done.returncode == 1
    assert KEY not in done.stdout


def test_staged_outside_a_repository_is_a_one_line_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    assert main(["--staged"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("br-tui --scan: ") and err.count("\n") == 1


def test_staged_git_failure_read_ahead_is_reported_by_the_scan(
    repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """The index is read on a thread while the scanner loads; a git error there still ends the
    run as an error (exit 2, git's own message), never as a clean pass."""
    interval = sys.getswitchinterval()
    (repo / "a.env").write_text(f"KEY={KEY}\n")
    _git(repo, "add", "a.env")
    (repo / "bad-index").write_bytes(b"not an index file at all" * 4)
    monkeypatch.setenv("GIT_INDEX_FILE", str(repo / "bad-index"))
    assert main(["--staged"]) == 2
    assert "br-tui --scan:" in capsys.readouterr().err
    monkeypatch.delenv("GIT_INDEX_FILE")
    assert main(["--staged"]) == 1
    assert sys.getswitchinterval() == interval  # restored after the read-ahead


def test_git_runner_moves_big_input_and_output_and_reports_failures() -> None:
    from engine.security.sources import GitError, _git, _spawned

    data = os.urandom(1 << 20)  # far over a pipe's buffer both ways: no deadlock
    assert _spawned(["cat"], data) == (0, data, b"")
    assert _spawned(["sh", "-c", "echo out; echo err >&2; exit 3"], None) == (3, b"out\n", b"err\n")
    assert _spawned(["sh", "-c", "exec head -c 10"], data)[1] == data[:10]  # stops reading early
    with pytest.raises(FileNotFoundError):
        _spawned(["no-such-command-br-tui"], None)
    code, _, err = _git(["rev-parse", "--verify", "no-such-rev"], ROOT)
    assert code != 0 and err
    with pytest.raises(GitError, match="not installed"):
        os.environ["PATH"], old = "", os.environ["PATH"]
        try:
            _git(["status"], ROOT)
        finally:
            os.environ["PATH"] = old


def test_a_config_error_during_the_read_ahead_still_cleans_up(
    repo: Path, capsys: pytest.CaptureFixture
) -> None:
    interval = sys.getswitchinterval()
    (repo / "br-tui.toml").write_text("[scan]\nexclude = 'not a list'\n")
    assert main(["--staged"]) == 2
    assert "exclude" in capsys.readouterr().err
    assert sys.getswitchinterval() == interval
    assert not [t for t in __import__("threading").enumerate() if t.name == "br-tui-staged"]

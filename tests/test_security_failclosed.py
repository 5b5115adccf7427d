"""br:allow-file -- The scanner fails closed: an unreadable input is an error, skips are said.

A hook that passes a file it could not read lets a secret through (issue 15, item 9). Secrets
are assembled at run time so this file itself scans clean.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.security import scan_paths, sources
from engine.security.cli import main
from engine.security.sources import UnreadableError

TOKEN = "".join(["gh", "p_", "Zx8Qm2Lp7Rt4Vw9Kc3Nb6Hy1Jd5Fg0SaAb3d"])
AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_non_utf8_file_is_scanned_not_skipped(tree: Path, capsys: pytest.CaptureFixture) -> None:
    (tree / "notes.txt").write_bytes(b"caf\xe9 \xff\xfe token=" + TOKEN.encode() + b"\n")
    assert main(["notes.txt"]) == 1
    assert main(["."]) == 1
    assert TOKEN not in capsys.readouterr().out


def test_utf16_file_with_bom_is_scanned(tree: Path) -> None:
    (tree / "win.env").write_bytes(f"GITHUB_TOKEN={TOKEN}\r\n".encode("utf-16"))
    assert main(["win.env"]) == 1


def _unreadable(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Reading `name` fails as it would without permission (tests may run as root)."""
    real = open

    def guarded(path, *args, **kwargs):  # type: ignore[no-untyped-def]
        if Path(path).name == name:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(sources, "open", guarded, raising=False)


@pytest.mark.parametrize("target", ["secret.env", "."])
def test_unreadable_file_fails_with_its_name(
    tree: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, target: str
) -> None:
    (tree / "secret.env").write_text(f"TOKEN={TOKEN}\n")
    (tree / "clean.txt").write_text("nothing\n")
    _unreadable(monkeypatch, "secret.env")
    assert main([target]) == 2
    err = capsys.readouterr().err
    assert "secret.env" in err and "cannot read" in err
    assert err.count("\n") == 1
    with pytest.raises(UnreadableError, match=r"secret\.env"):
        scan_paths([tree], baseline=False, jobs=1)


def test_unreadable_file_fails_the_process_pool_too(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(6):
        (tree / f"f{i}.txt").write_text("x = 1\n" * 100)
    (tree / "secret.env").write_text(f"TOKEN={TOKEN}\n")
    _unreadable(monkeypatch, "secret.env")
    with pytest.raises(UnreadableError, match=r"secret\.env"):
        scan_paths([tree], baseline=False, jobs=2)


@pytest.fixture
def shared_tree(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A tree another user may enter (pytest's own tmp dirs are private to their owner)."""
    with tempfile.TemporaryDirectory(prefix="br-failclosed-") as name:
        root = Path(name)
        root.chmod(0o755)
        monkeypatch.chdir(root)
        yield root


@contextlib.contextmanager
def unprivileged() -> Iterator[None]:
    """As root (CI is root), act as `nobody` meanwhile, so a mode-0 file is really unreadable."""
    if not AS_ROOT:
        yield
        return
    os.setegid(65534)
    os.seteuid(65534)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)


def test_unreadable_file_by_permission(shared_tree: Path, capsys: pytest.CaptureFixture) -> None:
    locked = shared_tree / "locked.env"
    locked.write_text(f"TOKEN={TOKEN}\n")
    locked.chmod(0)
    (shared_tree / "clean.txt").write_text("nothing\n")
    (shared_tree / "clean.txt").chmod(0o644)
    try:
        with unprivileged():
            assert main(["."]) == 2
        assert "locked.env" in capsys.readouterr().err
    finally:
        locked.chmod(0o600)


def test_unreadable_directory_is_an_error(
    tree: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    (tree / "ok.txt").write_text("fine\n")
    private = tree / "private"
    private.mkdir()
    (private / "k.env").write_text(f"TOKEN={TOKEN}\n")
    real = os.scandir

    def guarded(path="."):  # type: ignore[no-untyped-def]
        if Path(path).name == "private":
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", guarded)
    assert main(["."]) == 2
    err = capsys.readouterr().err
    assert "private" in err and "cannot read directory" in err


def test_unreadable_directory_by_permission(
    shared_tree: Path, capsys: pytest.CaptureFixture
) -> None:
    private = shared_tree / "private"
    private.mkdir()
    (private / "k.env").write_text(f"TOKEN={TOKEN}\n")
    private.chmod(0)
    try:
        with unprivileged():
            assert main(["."]) == 2
        assert "private" in capsys.readouterr().err
    finally:
        private.chmod(0o700)


def test_skipped_files_are_reported_with_the_reason(
    tree: Path, capsys: pytest.CaptureFixture
) -> None:
    (tree / "logo.png").write_bytes(b"\x89PNG" + TOKEN.encode())
    (tree / "blob.dat").write_bytes(b"\0\1\2" + TOKEN.encode())
    (tree / "huge.log").write_text("x" * 2_100_000)
    (tree / "clean.txt").write_text("nothing\n")
    assert main(["."]) == 0
    err = capsys.readouterr().err
    assert "logo.png" in err and "by name" in err
    assert "blob.dat" in err and "binary" in err
    assert "huge.log" in err and "max_file_size" in err
    skipped: list[tuple[str, str]] = []
    scan_paths([tree], baseline=False, skipped=skipped)
    assert {Path(p).name for p, _ in skipped} == {"logo.png", "blob.dat", "huge.log"}


def test_staged_scan_reports_skips_and_reads_non_utf8(
    tree: Path, capsys: pytest.CaptureFixture
) -> None:
    import subprocess

    subprocess.run(["git", "init", "-q"], cwd=tree, check=True)
    (tree / "img.png").write_bytes(b"\x89PNG\0")
    (tree / "latin.txt").write_bytes(b"\xe9t\xe9 " + TOKEN.encode())
    subprocess.run(["git", "add", "."], cwd=tree, check=True)
    assert main(["--staged"]) == 1
    assert "img.png" in capsys.readouterr().err

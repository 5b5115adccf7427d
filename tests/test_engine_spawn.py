"""What a task's process starts with, through libc's posix_spawn and through the Popen fallback."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from engine.executors import spawn as spawn_mod

#: The shell's descriptors are listed first, into a file: later, each `$(...)` holds a pipe open
#: in the shell while it runs (and under load a finished one's may not be closed yet), which
#: made the count flaky.
PROBE = (
    "ls /proc/$$/fd > fds.txt;"
    ' echo "pgid=$(ps -o pgid= -p $$ | tr -d " ")"; echo "pid=$$"; echo "cwd=$(pwd)";'
    ' echo "fds=$(sort -n fds.txt | tr "\\n" " ")";'
    ' echo "stdin=$(readlink /proc/$$/fd/0)"; grep SigIgn /proc/$$/status; echo "x=$X"'
)


@pytest.fixture(params=["posix_spawn", "popen"])
def spawner(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "popen":
        monkeypatch.setattr(spawn_mod, "_LIBC", None)
    else:
        monkeypatch.setattr(spawn_mod, "_LIBC", False)  # look libc up afresh
        if spawn_mod._libc() is None:
            pytest.skip("libc without posix_spawn_file_actions_addclosefrom_np")
    return request.param


def run(argv: list[str], cwd: str | None, env: dict[str, str]) -> tuple[int, int, dict[str, str]]:
    r, w = os.pipe2(os.O_CLOEXEC)
    devnull = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
    leak = os.open(os.devnull, os.O_RDONLY)  # inheritable on purpose: must not reach the task
    os.set_inheritable(leak, True)
    try:
        pid = spawn_mod.spawn(argv, env, cwd, (devnull, w, w))
    finally:
        os.close(w)
        os.close(devnull)
        os.close(leak)
    out = b""
    while chunk := os.read(r, 65536):
        out += chunk
    os.close(r)
    _, status = os.waitpid(pid, 0)
    fields = dict(line.split("=", 1) for line in out.decode().splitlines() if "=" in line)
    fields["SigIgn"] = next(
        (ln.split()[1] for ln in out.decode().splitlines() if ln.startswith("SigIgn")), ""
    )
    return pid, os.waitstatus_to_exitcode(status), fields


def test_task_process_starts_clean(spawner: str, tmp_path: Path) -> None:
    pid, code, f = run(["/bin/sh", "-c", PROBE], str(tmp_path), {"X": "y", "PATH": "/usr/bin:/bin"})
    assert code == 0
    assert f["pid"] == str(pid) and f["pgid"] == str(pid), "its own process group"
    assert f["cwd"] == str(tmp_path)
    assert f["stdin"] == "/dev/null"
    assert f["x"] == "y"
    # 0-2 and the directory listing's own fd (ls opens /proc/PID/fd) - nothing inherited
    assert [int(x) for x in f["fds"].split()][:3] == [0, 1, 2]
    assert len(f["fds"].split()) <= 4, f["fds"]
    ignored = int(f["SigIgn"], 16)
    assert not ignored & (1 << (signal.SIGPIPE - 1)), "SIGPIPE must be back to default"


def test_missing_working_directory_is_named(spawner: str, tmp_path: Path) -> None:
    gone = tmp_path / "nope"
    with pytest.raises(OSError, match=r"working directory .*nope does not exist"):
        spawn_mod.spawn(["/bin/sh", "-c", "true"], {}, str(gone), (0, 1, 2))


def test_missing_program_raises(spawner: str, tmp_path: Path) -> None:
    with pytest.raises(OSError):
        spawn_mod.spawn([str(tmp_path / "no-such-program")], {}, str(tmp_path), (0, 1, 2))


def test_bare_program_name_is_found_on_the_childs_path(spawner: str, tmp_path: Path) -> None:
    tool = tmp_path / "bin" / "my-tool"
    tool.parent.mkdir()
    tool.write_text("#!/bin/sh\necho tool ran\n")
    tool.chmod(0o755)
    r, w = os.pipe2(os.O_CLOEXEC)
    env = {"PATH": f"{tool.parent}:/usr/bin:/bin"}
    try:
        pid = spawn_mod.spawn(["my-tool"], env, str(tmp_path), (0, w, w))
    finally:
        os.close(w)
    out = os.read(r, 1000)
    os.close(r)
    os.waitpid(pid, 0)
    assert out == b"tool ran\n"
    with pytest.raises(FileNotFoundError):
        spawn_mod.spawn(["my-tool"], {"PATH": "/usr/bin:/bin"}, str(tmp_path), (0, 1, 2))


def test_null_byte_refused(spawner: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        spawn_mod.spawn(["/bin/sh", "-c", "true"], {"A": "x\0y"}, str(tmp_path), (0, 1, 2))

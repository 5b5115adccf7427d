"""Start a task's process: its own process group, our pipes, stdin from /dev/null, no stray fds.

On Linux with glibc this calls libc's `posix_spawn` through ctypes, which releases the GIL for
the call. That matters more than it looks: `posix_spawn` and `subprocess.Popen` both use a vfork,
so the calling thread waits until the child has exec'd, and on a busy machine the child may
first wait for a CPU. Python 3.11's `_posixsubprocess` and `os.posix_spawn` hold the GIL through
that wait, stopping every thread of the engine (the store's writer among them) ~0.4 ms per
spawn; through ctypes the writer keeps committing meanwhile. It is also a third less CPU than
`Popen`'s Python-level set-up. Where libc lacks what we need (`addclosefrom_np` and
`addchdir_np`, glibc 2.34+), `Popen` does the same job.
"""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence

_POSIX_SPAWN_SETPGROUP = 0x02
_POSIX_SPAWN_SETSIGDEF = 0x04
_POSIX_SPAWN_SETSIGMASK = 0x08
_FILE_ACTIONS_SIZE = 256  # glibc's posix_spawn_file_actions_t is 80 bytes; room to spare
_ATTR_SIZE = 512  # posix_spawnattr_t: 336 bytes
_SIGSET_SIZE = 128


class _Libc:
    """libc's posix_spawn family, typed once; `None` from `load()` where any piece is missing."""

    def __init__(self, lib: ctypes.CDLL) -> None:
        vp, c_int = ctypes.c_void_p, ctypes.c_int
        self.spawn = lib.posix_spawn
        self.spawn.argtypes = [ctypes.POINTER(c_int), ctypes.c_char_p, vp, vp, vp, vp]
        self.fa_init = lib.posix_spawn_file_actions_init
        self.fa_destroy = lib.posix_spawn_file_actions_destroy
        self.fa_dup2 = lib.posix_spawn_file_actions_adddup2
        self.fa_chdir = lib.posix_spawn_file_actions_addchdir_np
        self.fa_closefrom = lib.posix_spawn_file_actions_addclosefrom_np
        self.fa_init.argtypes = self.fa_destroy.argtypes = [vp]
        self.fa_dup2.argtypes = [vp, c_int, c_int]
        self.fa_chdir.argtypes = [vp, ctypes.c_char_p]
        self.fa_closefrom.argtypes = [vp, c_int]
        # One attribute set for every spawn (posix_spawn only reads it): a new process group,
        # no blocked signals, and SIGPIPE / SIGXFSZ back to their defaults — Python ignores
        # both, and an ignored disposition would survive the exec (Popen restores them too).
        self.attr = ctypes.create_string_buffer(_ATTR_SIZE)
        self._empty = ctypes.create_string_buffer(_SIGSET_SIZE)
        self._defaults = ctypes.create_string_buffer(_SIGSET_SIZE)
        lib.posix_spawnattr_init.argtypes = [vp]
        lib.posix_spawnattr_setflags.argtypes = [vp, ctypes.c_short]
        lib.posix_spawnattr_setpgroup.argtypes = [vp, c_int]
        lib.posix_spawnattr_setsigmask.argtypes = [vp, vp]
        lib.posix_spawnattr_setsigdefault.argtypes = [vp, vp]
        lib.sigemptyset.argtypes = [vp]
        lib.sigaddset.argtypes = [vp, c_int]
        checks = [
            lib.posix_spawnattr_init(self.attr),
            lib.sigemptyset(self._empty),
            lib.sigemptyset(self._defaults),
            *(lib.sigaddset(self._defaults, s) for s in (signal.SIGPIPE, signal.SIGXFSZ)),
            lib.posix_spawnattr_setflags(
                self.attr,
                _POSIX_SPAWN_SETPGROUP | _POSIX_SPAWN_SETSIGDEF | _POSIX_SPAWN_SETSIGMASK,
            ),
            lib.posix_spawnattr_setpgroup(self.attr, 0),
            lib.posix_spawnattr_setsigmask(self.attr, self._empty),
            lib.posix_spawnattr_setsigdefault(self.attr, self._defaults),
        ]
        if any(checks):
            raise OSError("posix_spawnattr set-up failed")

    @staticmethod
    def load() -> _Libc | None:
        if not sys.platform.startswith("linux") or os.environ.get("BR_SPAWN") == "popen":
            return None
        try:
            return _Libc(ctypes.CDLL(None, use_errno=True))
        except (AttributeError, OSError):  # not glibc, or a glibc older than 2.34
            return None


_LIBC: _Libc | bool | None = False  # False: not looked up yet


def _libc() -> _Libc | None:
    global _LIBC
    if _LIBC is False:
        _LIBC = _Libc.load()
    return _LIBC  # type: ignore[return-value]


def _encode_env(env: Mapping[str, str]) -> list[bytes]:
    return [f"{k}={v}".encode("utf-8", "surrogateescape") for k, v in env.items()]


def spawn(
    argv: Sequence[str], env: Mapping[str, str], cwd: str | None, stdio: tuple[int, int, int]
) -> int:
    """Start `argv` in a new process group with `stdio` as fds 0-2 and nothing else inherited.

    Returns the pid (= the process group id). Raises OSError when it cannot start, with the
    working directory named if that is what is missing.
    """
    libc = _libc()
    if libc is None or any(fd < 3 and fd != target for target, fd in enumerate(stdio)):
        return _spawn_popen(argv, env, cwd, stdio)  # (a stdio fd among 0-2 elsewhere: rare)
    program = _find_program(argv[0], env)
    args = [os.fsencode(a) for a in argv]
    envb = _encode_env(env)
    if b"\0" in b"".join(args) or b"\0" in b"".join(envb):  # C strings would be cut short
        raise ValueError("embedded null byte")
    c_argv = (ctypes.c_char_p * (len(args) + 1))(*args, None)
    c_env = (ctypes.c_char_p * (len(envb) + 1))(*envb, None)
    fa = ctypes.create_string_buffer(_FILE_ACTIONS_SIZE)
    if libc.fa_init(fa):
        raise OSError("posix_spawn_file_actions_init failed")
    try:
        err = 0
        for target, fd in enumerate(stdio):
            err = err or libc.fa_dup2(fa, fd, target)
        if cwd:
            err = err or libc.fa_chdir(fa, os.fsencode(cwd))
        err = err or libc.fa_closefrom(fa, 3)
        if err:
            raise OSError(err, f"posix_spawn file actions: {os.strerror(err)}")
        pid = ctypes.c_int()
        err = libc.spawn(ctypes.byref(pid), program, fa, libc.attr, c_argv, c_env)
    finally:
        libc.fa_destroy(fa)
    if err:
        raise _cwd_missing(cwd, err) or OSError(err, os.strerror(err), argv[0])
    return pid.value


def _cwd_missing(cwd: str | None, err: int) -> FileNotFoundError | None:
    """A missing working directory fails the spawn like a missing program: name the cause."""
    if cwd and not os.path.isdir(cwd):
        return FileNotFoundError(err, f"working directory {cwd} does not exist")
    return None


def _find_program(name: str, env: Mapping[str, str]) -> bytes:
    """`posix_spawn` does not search PATH: look the program up as Popen does, on the PATH the
    child will have."""
    if "/" in name:
        return os.fsencode(name)
    found = shutil.which(name, path=env.get("PATH", os.defpath))
    if found is None:
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), name)
    return os.fsencode(found)


def _spawn_popen(
    argv: Sequence[str], env: Mapping[str, str], cwd: str | None, stdio: tuple[int, int, int]
) -> int:
    try:
        proc = subprocess.Popen(
            list(argv),
            stdin=stdio[0],
            stdout=stdio[1],
            stderr=stdio[2],
            cwd=cwd,
            env=env,
            process_group=0,
            close_fds=True,
        )
    except FileNotFoundError as exc:
        missing = _cwd_missing(cwd, exc.errno)
        if missing is not None:
            raise missing from exc
        raise
    proc.returncode = 0  # the caller reaps it with wait4: Popen must not poll it later
    return proc.pid

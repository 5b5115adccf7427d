"""Files and directories the engine creates are the user's alone: 0700 and 0600, whatever umask.

Task output, commands and costs live in the database and the owners' logs; with the default
umask (022) they were readable by every local user. Modes are set explicitly (`fchmod`/`chmod`
after creating), because `mkdir`/`open` modes are only ever narrowed by the umask, and a umask
of 0 would widen nothing but a umask of 0777 would leave a directory we cannot use.

SQLite creates the `-wal` and `-shm` files with the database file's own permissions, so
creating the database file 0600 before SQLite opens it makes those private too. A database or
`.buildrunner` directory left group- or world-readable by an older version is tightened when
the engine opens it (only where we own it: someone else's file is not ours to change).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import IO

DIR_MODE = 0o700
FILE_MODE = 0o600
#: Directories that are ours by name: tightened even when they already exist.
OWN_DIR_NAMES = {".buildrunner"}


def _tighten(path: Path, mode: int) -> None:
    try:
        st = path.stat()
        if st.st_uid == os.getuid() and stat.S_IMODE(st.st_mode) & ~mode:
            os.chmod(path, stat.S_IMODE(st.st_mode) & mode)
    except OSError:
        pass


def private_dir(path: str | os.PathLike[str]) -> Path:
    """Create `path` and any missing parents as 0700 (existing parents are left alone)."""
    path = Path(path)
    missing = []
    p = path
    while not p.exists() and p != p.parent:
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        try:
            d.mkdir(mode=DIR_MODE)
        except FileExistsError:  # another process made it meanwhile
            continue
        os.chmod(d, DIR_MODE)
    if path.name in OWN_DIR_NAMES:
        _tighten(path, DIR_MODE)
    return path


def private_file(path: str | os.PathLike[str]) -> Path:
    """Make sure `path` exists as a 0600 file (created so; an existing one of ours tightened)."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE)
    except FileExistsError:
        _tighten(path, FILE_MODE)
        return path
    try:
        os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)
    return path


def open_private(path: str | os.PathLike[str], mode: str = "ab") -> IO:
    """`open(path, mode)` for writing or appending, the file created (or kept) 0600."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC
    flags |= os.O_APPEND if mode.startswith("a") else os.O_TRUNC
    fd = os.open(path, flags, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
    except OSError:  # not ours (a shared file named by the user): leave its mode
        pass
    kwargs = {} if "b" in mode else {"encoding": "utf-8", "newline": ""}
    return os.fdopen(fd, mode, **kwargs)

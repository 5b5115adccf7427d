"""What to scan: files under paths (honouring .gitignore), the git index, lines added since a rev.

Text only: binary, lock, minified and oversized files are skipped (a hook that crashes or crawls
on a PNG gets turned off), and every skip is reported with its reason. A file that is not UTF-8 is
still scanned (read as Latin-1: every byte a character, so an ASCII token in it is found), and a
file or directory that cannot be read is an error, never a pass: a hook that cannot read what it
was asked to check must not let it through.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        "__pycache__",
        ".venv",
        "venv",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
        ".hypothesis",
        ".eggs",
        ".buildrunner",
    }
)
LOCK_FILES = frozenset(
    {
        "package-lock.json",
        "yarn.lock",
        "pnpm-lock.yaml",
        "poetry.lock",
        "Pipfile.lock",
        "Cargo.lock",
        "go.sum",
        "composer.lock",
        "uv.lock",
        "Gemfile.lock",
        "pdm.lock",
        "npm-shrinkwrap.json",
        "bun.lockb",
        "flake.lock",
        "packages.lock.json",
    }
)
BINARY_EXT = frozenset(
    [
        ".png",
        ".jpg",
        ".jpeg",
        ".gif",
        ".bmp",
        ".ico",
        ".webp",
        ".svgz",
        ".pdf",
        ".zip",
        ".gz",
        ".tgz",
        ".bz2",
        ".xz",
        ".zst",
        ".7z",
        ".rar",
        ".jar",
        ".war",
        ".whl",
        ".egg",
        ".so",
        ".dylib",
        ".dll",
        ".exe",
        ".bin",
        ".o",
        ".a",
        ".pyc",
        ".pyo",
        ".pyd",
        ".class",
        ".woff",
        ".woff2",
        ".ttf",
        ".otf",
        ".eot",
        ".mp3",
        ".mp4",
        ".mov",
        ".avi",
        ".wav",
        ".flac",
        ".ogg",
        ".db",
        ".sqlite",
        ".sqlite3",
        ".npy",
        ".npz",
        ".pkl",
        ".parquet",
        ".map",
        ".min.js",
        ".min.css",
        ".lockb",
        ".DS_Store",
    ]
)
_MINIFIABLE = (".js", ".mjs", ".cjs", ".css")


class GitError(RuntimeError):
    """git is missing or refused (not a repository, unknown revision)."""


def _spawned(cmd: list[str], data: bytes | None) -> tuple[int, bytes, bytes]:
    """(exit code, stdout, stderr) of `cmd` started with `os.posix_spawnp`: what
    `subprocess.run(..., capture_output=True)` gives, without importing `subprocess` (~4 ms of
    a git hook's start: signal, threading, selectors, locale). Input and output are moved by one
    poll loop, so neither side can block the other on a full pipe."""
    import select

    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    in_r, in_w = os.pipe() if data else (-1, -1)
    actions = [(os.POSIX_SPAWN_DUP2, out_w, 1), (os.POSIX_SPAWN_DUP2, err_w, 2)]
    if data:
        actions.append((os.POSIX_SPAWN_DUP2, in_r, 0))
    else:
        actions.append((os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0))
    try:
        pid = os.posix_spawnp(cmd[0], cmd, os.environ, file_actions=actions)
    except BaseException:
        for fd in (out_r, err_r, in_w):
            if fd >= 0:
                os.close(fd)
        raise
    finally:
        for fd in (out_w, err_w, in_r):
            if fd >= 0:
                os.close(fd)
    got: dict[int, list[bytes]] = {out_r: [], err_r: []}
    reading = {out_r, err_r}
    poller = select.poll()
    for fd in reading:
        poller.register(fd, select.POLLIN)
    view = memoryview(data or b"")
    if in_w >= 0:
        os.set_blocking(in_w, False)
        poller.register(in_w, select.POLLOUT)
    try:
        while reading or in_w >= 0:
            for fd, _ in poller.poll():
                if fd != in_w:
                    chunk = os.read(fd, 65536)
                    if chunk:
                        got[fd].append(chunk)
                    else:
                        poller.unregister(fd)
                        reading.discard(fd)
                    continue
                try:
                    view = view[os.write(in_w, view[:65536]) :]
                except BrokenPipeError:  # git exited without reading it all: its error says why
                    view = view[:0]
                if not view:
                    poller.unregister(in_w)
                    os.close(in_w)
                    in_w = -1
    finally:
        for fd in (out_r, err_r, in_w):
            if fd >= 0:
                os.close(fd)
        _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), b"".join(got[out_r]), b"".join(got[err_r])


def _git(args: list[str], cwd: Path, data: bytes | None = None) -> tuple[int, bytes, bytes]:
    """(exit code, stdout, stderr) of `git -C cwd ARGS`; GitError when git is not installed."""
    cmd = ["git", "-C", str(cwd), *args]
    try:
        if hasattr(os, "posix_spawnp"):
            return _spawned(cmd, data)
        import subprocess

        done = subprocess.run(cmd, input=data, capture_output=True, check=False)
        return done.returncode, done.stdout, done.stderr
    except FileNotFoundError as exc:
        raise GitError("git is not installed") from exc


def run_git(args: list[str], cwd: Path, data: bytes | None = None) -> bytes:
    code, out, err = _git(args, cwd, data)
    if code != 0:
        msg = err.decode(errors="replace").strip().splitlines()
        raise GitError(msg[-1] if msg else f"git {args[0]} failed")
    return out


_GIT_ENV = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_CEILING_DIRECTORIES",
    "GIT_DISCOVERY_ACROSS_FILESYSTEM",
)


def _find_root(cwd: Path | str) -> Path | None:
    """The nearest directory holding `.git` (a directory, or a file for worktrees and
    submodules), found without starting git; None when git itself must decide."""
    if any(os.environ.get(name) for name in _GIT_ENV):
        return None
    here = os.path.realpath(cwd)
    if ".git" in here.split(os.sep):
        return None
    while True:
        if os.path.exists(os.path.join(here, ".git")):
            return Path(here)
        parent = os.path.dirname(here)
        if parent == here:
            return None
        here = parent


def _outside_any_repo(path: Path | str) -> bool:
    """No `.git` in `path` or any directory above it, and no GIT_* variable pointing git
    elsewhere: git would find no repository either, so a directory scan need not start git to
    ask (~3 ms). False whenever git might know better."""
    if any(os.environ.get(name) for name in _GIT_ENV):
        return False
    here = os.path.realpath(path)
    while True:
        if os.path.lexists(os.path.join(here, ".git")):
            return False
        parent = os.path.dirname(here)
        if parent == here:
            return True
        here = parent


def repo_root(cwd: Path | str = ".", *, quick: bool = True) -> Path | None:
    """The work tree's top directory, or None outside a git repository (`quick`: trust a
    `.git` entry found walking up, rather than asking git)."""
    found = _find_root(cwd) if quick else None
    if found is not None:  # a hook pays ~3 ms per git process: ask git only when unsure
        return found
    try:
        out = run_git(["rev-parse", "--show-toplevel"], Path(cwd))
    except GitError:
        return None
    return Path(out.decode().strip())


def skip_name(name: str) -> bool:
    """Lock files and binary formats by name, before any byte is read."""
    if name in LOCK_FILES:
        return True
    low = name.lower()
    dot = low.rfind(".")
    if dot < 0:
        return False
    return low[dot:] in BINARY_EXT or low.endswith((".min.js", ".min.css"))


class UnreadableError(OSError):
    """A file or directory the scan was asked to cover cannot be read: the scan fails."""


#: Why a file was not scanned, as reported to the user.
SKIP_BINARY = "binary"
SKIP_TOO_LARGE = "over max_file_size"
SKIP_MINIFIED = "minified"
SKIP_BY_NAME = "binary or lock file by name"
SKIP_NOT_IN_INDEX = "not a file in the index"

#: (path, reason) of every file a scan did not read, for the report.
Skipped = list[tuple[str, str]]
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def decode(data: bytes, name: str, max_size: int) -> tuple[str | None, str]:
    """(text, "") for a scannable file, (None, why) for one skipped on its content.

    UTF-8 first; UTF-16 with a byte-order mark; anything else as Latin-1 (each byte one
    character), which cannot fail and keeps every ASCII token where it was."""
    if len(data) > max_size:
        return None, SKIP_TOO_LARGE
    if data[:2] in _UTF16_BOMS:
        try:
            return data.decode("utf-16"), ""
        except UnicodeDecodeError:
            pass
    if b"\0" in data[:8192]:
        return None, SKIP_BINARY
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    if name.endswith(_MINIFIABLE) and len(text) > 4096 and text.count("\n") * 1000 < len(text):
        return None, SKIP_MINIFIED
    return text, ""


def read_file(path: str | Path, max_size: int) -> bytes:
    """A file's first `max_size + 1` bytes; an UnreadableError naming it if it can't be read."""
    try:
        with open(path, "rb") as fh:
            return fh.read(max_size + 1)
    except OSError as exc:
        raise UnreadableError(f"cannot read {path}: {exc.strerror or exc}") from exc


def excluded(rel: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatch(rel, p) or fnmatch.fnmatch(Path(rel).name, p) for p in patterns)


def _gitignore(root: Path) -> list[str]:
    """Top-level .gitignore patterns, for trees outside git (inside git, git itself decides)."""
    try:
        lines = (root / ".gitignore").read_text("utf-8", "replace").splitlines()
    except OSError:
        return []
    return [ln.strip().rstrip("/") for ln in lines if ln.strip() and not ln.startswith(("#", "!"))]


def _unreadable_dir(exc: OSError) -> None:
    raise UnreadableError(f"cannot read directory {exc.filename}: {exc.strerror or exc}") from exc


def _walk(top: Path, ignore: list[str], skipped: Skipped) -> Iterator[tuple[str, str, str]]:
    """(directory as a Path prints it, directory relative to `top`, file name) of each file:
    one Path per directory rather than per file (a scan of 5,000 files spent ~8 ms on them)."""
    for dirpath, dirnames, filenames in os.walk(top, onerror=_unreadable_dir):
        dirnames[:] = [
            d for d in dirnames if d not in SKIP_DIRS and not (ignore and excluded(d, ignore))
        ]
        directory = rel_dir = ""
        for name in filenames:
            if ignore and excluded(name, ignore):
                continue
            if skip_name(name):
                skipped.append((os.path.join(dirpath, name), SKIP_BY_NAME))
                continue
            if not directory:
                as_path = Path(dirpath)
                directory, rel_dir = str(as_path), str(as_path.relative_to(top))
            yield directory, rel_dir, name


def _joined(directory: str, name: str) -> str:
    """`str(Path(directory, name))` for a directory already printed as a Path prints it."""
    return name if directory == "." else os.path.join(directory, name)


def _git_listing(path: Path) -> bytes:
    """`git ls-files` of tracked and untracked-not-ignored files under `path`; git only warns
    about a directory it cannot open, so that warning is turned into the error it is."""
    code, out, raw_err = _git(["ls-files", "-z", "-c", "-o", "--exclude-standard", "--", "."], path)
    err = raw_err.decode(errors="replace")
    for line in err.splitlines():
        if "could not open directory" in line or "Permission denied" in line:
            raise UnreadableError(line.removeprefix("warning: ").strip())
    if code != 0:
        lines = err.strip().splitlines()
        raise GitError(lines[-1] if lines else "git ls-files failed")
    return out


def iter_files(
    paths: Iterable[str | Path], exclude: Iterable[str] = (), skipped: Skipped | None = None
) -> Iterator[Path]:
    """Files to scan: named files as given, directories walked with .gitignore honoured.

    Files left out by name (binary formats, lock files) go to `skipped` with the reason."""
    for path in file_paths(paths, exclude, skipped):
        yield Path(path)


def file_paths(
    paths: Iterable[str | Path], exclude: Iterable[str] = (), skipped: Skipped | None = None
) -> Iterator[str]:
    """`iter_files` as strings (each as its Path would print), which the scanner uses: no Path
    object per file."""
    exclude = list(exclude)
    skipped = skipped if skipped is not None else []
    for raw in paths:
        path = Path(raw)
        if path.is_file():
            if excluded(str(path), exclude):
                continue
            if skip_name(path.name):
                skipped.append((str(path), SKIP_BY_NAME))
            else:
                yield str(path)
            continue
        if not path.is_dir():
            if os.path.lexists(path):
                raise UnreadableError(f"cannot scan {raw}: not a regular file or directory")
            raise FileNotFoundError(f"no such file or directory: {raw}")
        if not os.access(path, os.R_OK | os.X_OK):
            raise UnreadableError(f"cannot read directory {raw}: Permission denied")
        root = None if _outside_any_repo(path) else repo_root(path, quick=False)
        if root is not None:
            out = _git_listing(path)
            top = str(path)
            for rel in out.decode("utf-8", "surrogateescape").split("\0"):
                if not rel or any(part in SKIP_DIRS for part in rel.split("/")[:-1]):
                    continue
                candidate = _joined(top, rel)
                if excluded(rel, exclude) or not os.path.isfile(candidate):
                    continue
                if skip_name(rel.rsplit("/", 1)[-1]):
                    skipped.append((candidate, SKIP_BY_NAME))
                else:
                    yield candidate
        else:
            for directory, rel_dir, name in _walk(path, _gitignore(path), skipped):
                if not exclude or not excluded(_joined(rel_dir, name), exclude):
                    yield _joined(directory, name)


def staged_files(repo: Path, skipped: Skipped | None = None) -> list[tuple[str, bytes]]:
    """(path, content) of every added/copied/modified file as it stands in the index; files
    left out by name, or not a blob in the index (a submodule), go to `skipped`."""
    skipped = skipped if skipped is not None else []
    names = run_git(["diff", "--cached", "--name-only", "-z", "--diff-filter=ACMR"], repo)
    paths = [p for p in names.decode("utf-8", "surrogateescape").split("\0") if p]
    skipped += [(p, SKIP_BY_NAME) for p in paths if skip_name(p.rsplit("/", 1)[-1])]
    paths = [p for p in paths if not skip_name(p.rsplit("/", 1)[-1])]
    if not paths:
        return []
    query = "".join(f":{p}\n" for p in paths).encode("utf-8", "surrogateescape")
    blob = run_git(["cat-file", "--batch"], repo, query)
    out: list[tuple[str, bytes]] = []
    pos = 0
    for p in paths:
        header_end = blob.index(b"\n", pos)
        header = blob[pos:header_end].split()
        if len(header) < 3 or header[-1] == b"missing":
            skipped.append((p, SKIP_NOT_IN_INDEX))
            pos = header_end + 1
            continue
        if header[1] != b"blob":
            skipped.append((p, SKIP_NOT_IN_INDEX))
            pos = header_end + 1 + int(header[2]) + 1
            continue
        size = int(header[2])
        start = header_end + 1
        out.append((p, blob[start : start + size]))
        pos = start + size + 1
    return out


def added_lines(repo: Path, rev: str) -> dict[str, set[int]]:
    """Per file, the 1-based line numbers added in the work tree since `rev`."""
    out = run_git(["diff", "-U0", "--no-color", "--no-ext-diff", rev, "--"], repo)
    result: dict[str, set[int]] = {}
    current: set[int] | None = None
    for raw in out.decode("utf-8", "surrogateescape").splitlines():
        if raw.startswith("+++ "):
            target = raw[4:]
            current = None if target == "/dev/null" else result.setdefault(target[2:], set())
        elif raw.startswith("@@") and current is not None:
            plus = raw.split("+", 1)[1].split(" ", 1)[0]
            start, _, count = plus.partition(",")
            n = int(count) if count else 1
            current.update(range(int(start), int(start) + n))
    return {path: lines for path, lines in result.items() if lines}

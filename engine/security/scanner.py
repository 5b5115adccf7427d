"""The scanner's plain Python API: text, paths, the git index, a diff. One path per source.

Each source turns into (path, text) pairs and goes through `scan_text`; allow comments apply per
text, the baseline per scan. The SQL-injection analysers are imported only when a Python or
JS/TS file shows up, so a hook over YAML and Markdown never pays for `ast`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from engine.security.allow import allowed_lines, has_allow_marker
from engine.security.config import ScanConfig
from engine.security.finding import Finding
from engine.security.secrets import lowered, scan_secrets
from engine.security.sources import (
    added_lines,
    decode,
    iter_files,
    repo_root,
    skip_name,
    staged_files,
)

PY_EXT = (".py", ".pyw", ".pyi")
JS_EXT = (".js", ".jsx", ".mjs", ".cjs", ".ts", ".tsx", ".mts", ".cts")
# In a file's first lines, marks a whole file of deliberate fake secrets (scanner test suites).
FILE_MARKER = "br:allow-file"
_SQL_HINTS = ("execute", "query", "raw", "sql", "fetch", "text(", ".run(", "cursor", "filter")


def scan_text(text: str, path: str = "<text>", config: ScanConfig | None = None) -> list[Finding]:
    """Secrets everywhere, SQL injection in Python and JS/TS; allow comments honoured."""
    config = config or ScanConfig()
    if FILE_MARKER in text[:2000]:
        return []
    findings: list[Finding] = []
    low = lowered(text) if config.secrets or config.sqli else ""
    if config.secrets:
        findings += scan_secrets(text, path, config.ruleset(), low)
    if config.sqli and path.endswith(PY_EXT + JS_EXT) and any(h in low for h in _SQL_HINTS):
        if path.endswith(PY_EXT):
            from engine.security.sqli_python import scan_python

            findings += scan_python(text, path)
        else:
            from engine.security.sqli_js import scan_js

            findings += scan_js(text, path)
    if findings and has_allow_marker(text):
        allowed = allowed_lines(text)
        findings = [f for f in findings if f.line not in allowed]
    findings.sort(key=lambda f: (f.line, f.column))
    return findings


class _Display:
    """Paths as reported: relative to the working directory when under it, else as given.

    Resolving every file costs more than scanning a small one, so directories are resolved once
    and only files that are themselves symlinks are resolved one by one."""

    def __init__(self) -> None:
        self.cwd = str(Path.cwd().resolve())
        self.dirs: dict[str, str] = {}

    def __call__(self, path: Path) -> str:
        raw = str(path)
        head, name = os.path.split(raw)
        if os.path.islink(raw) or not name:
            full = str(path.resolve())
        else:
            real = self.dirs.get(head)
            if real is None:
                real = self.dirs[head] = str(Path(head or ".").resolve())
            full = os.path.join(real, name)
        cwd = self.cwd
        if full.startswith(cwd) and full[len(cwd) : len(cwd) + 1] == os.sep:
            return full[len(cwd) + 1 :]
        if cwd == os.sep and full.startswith(os.sep):
            return full[1:]
        return raw if full != cwd else "."


def _filter_baseline(findings: list[Finding], config: ScanConfig, use: bool) -> list[Finding]:
    if not use:
        return findings
    path = config.root / config.baseline
    if not path.exists():  # most repositories have none: don't import json for nothing
        return findings
    from engine.security.baseline import load_baseline

    accepted = load_baseline(path)
    return [f for f in findings if f.fingerprint not in accepted] if accepted else findings


def _scan_files(files: list[Path], config: ScanConfig) -> list[Finding]:
    display = _Display()
    findings: list[Finding] = []
    for file in files:
        try:
            with open(file, "rb") as fh:
                data = fh.read(config.max_file_size + 1)
        except OSError:
            continue
        text = decode(data, file.name, config.max_file_size)
        if text is not None:
            findings += scan_text(text, display(file), config)
    return findings


# Trees smaller than this are scanned in-process: starting workers costs more than it saves.
PARALLEL_BYTES = 4_000_000
_CHUNK_BYTES = 1_000_000
_pool_config: ScanConfig | None = None


def _pool_scan(files: list[Path]) -> list[Finding]:
    assert _pool_config is not None
    return _scan_files(files, _pool_config)


def _workers(files: list[Path], jobs: int | None) -> tuple[int, list[list[Path]]]:
    """How many processes to use and the chunks of files they take, in scan order."""
    if jobs == 1 or (jobs is None and (os.cpu_count() or 1) < 2):
        return 1, []
    if jobs is None:
        import threading  # fork only from a single-threaded process (a CLI run, a script)

        if threading.active_count() > 1:
            return 1, []
    chunks: list[list[Path]] = [[]]
    size = total = 0
    for file in files:
        try:
            n = os.path.getsize(file)
        except OSError:
            n = 0
        if size >= _CHUNK_BYTES:
            chunks.append([])
            size = 0
        chunks[-1].append(file)
        size += n
        total += n
    if jobs is None and total < PARALLEL_BYTES:
        return 1, []
    return min(jobs or os.cpu_count() or 1, len(chunks)), chunks


def scan_paths(
    paths: Iterable[str | Path],
    config: ScanConfig | None = None,
    *,
    baseline: bool = True,
    jobs: int | None = None,
) -> list[Finding]:
    """Scan files and directories (directories walked with .gitignore honoured).

    `jobs`: worker processes; None spreads a big tree (over PARALLEL_BYTES) over every core from
    a single-threaded process on a platform that forks, and scans anything else in-process."""
    global _pool_config
    config = config or ScanConfig()
    files = list(iter_files(paths, config.exclude))
    workers, chunks = _workers(files, jobs)
    if workers < 2:
        return _filter_baseline(_scan_files(files, config), config, baseline)
    import multiprocessing

    try:
        context = multiprocessing.get_context("fork")
    except ValueError:  # no fork (Windows): one process
        return _filter_baseline(_scan_files(files, config), config, baseline)
    config.ruleset().active("")  # keyword finder compiled once here, inherited by workers
    _pool_config = config
    try:
        with context.Pool(workers) as pool:
            findings = [f for part in pool.imap(_pool_scan, chunks) for f in part]
    finally:
        _pool_config = None
    return _filter_baseline(findings, config, baseline)


def _require_repo(repo: Path | str | None) -> Path:
    from engine.security.sources import GitError

    root = repo_root(repo or ".")
    if root is None:
        raise GitError(f"not a git repository: {Path(repo or '.').resolve()}")
    return root


def scan_staged(
    repo: Path | str | None = None, config: ScanConfig | None = None, *, baseline: bool = True
) -> list[Finding]:
    """Scan what is about to be committed: the index contents, not the working tree."""
    root = _require_repo(repo)
    config = config or ScanConfig(root=root)
    from engine.security.sources import _excluded

    findings: list[Finding] = []
    for rel, data in staged_files(root):
        if _excluded(rel, config.exclude):
            continue
        text = decode(data, rel, config.max_file_size)
        if text is not None:
            findings += scan_text(text, rel, config)
    return _filter_baseline(findings, config, baseline)


def scan_diff(
    repo: Path | str | None, rev: str, config: ScanConfig | None = None, *, baseline: bool = True
) -> list[Finding]:
    """Findings on lines added in the working tree since `rev` (whole files parsed for context)."""
    root = _require_repo(repo)
    config = config or ScanConfig(root=root)
    from engine.security.sources import _excluded

    findings: list[Finding] = []
    for rel, lines in added_lines(root, rev).items():
        if skip_name(rel.rsplit("/", 1)[-1]) or _excluded(rel, config.exclude):
            continue
        try:
            data = (root / rel).read_bytes()
        except OSError:
            continue
        text = decode(data, rel, config.max_file_size)
        if text is not None:
            findings += [f for f in scan_text(text, rel, config) if f.line in lines]
    return _filter_baseline(findings, config, baseline)

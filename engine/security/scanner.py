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
    SKIP_BY_NAME,
    GitError,
    Skipped,
    added_lines,
    decode,
    excluded,
    file_paths,
    read_file,
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
    """Paths as reported: relative to the working directory when under it, else as given; and
    the files a scan skipped, with the reason (`skipped`).

    Resolving every file costs more than scanning a small one, so directories are resolved once
    and only files that are themselves symlinks are resolved one by one."""

    def __init__(self, skipped: Skipped) -> None:
        self.skipped = skipped
        self.cwd = str(Path.cwd().resolve())
        self.dirs: dict[str, str] = {}

    def __call__(self, path: str | Path) -> str:
        raw = str(path)
        head, name = os.path.split(raw)
        if os.path.islink(raw) or not name:
            full = str(Path(raw).resolve())
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


def _read_scan(file: str | Path, config: ScanConfig, display: _Display) -> list[Finding]:
    """Findings in one file; a file skipped on its content is noted in `display.skipped`. A
    file that can't be read raises UnreadableError: the scan fails rather than pass it unseen."""
    data = read_file(file, config.max_file_size)
    text, why = decode(data, os.path.basename(file), config.max_file_size)
    if text is None:
        display.skipped.append((display(file), why))
        return []
    return scan_text(text, display(file), config)


def _scan_files(files: list[str], config: ScanConfig, skipped: Skipped) -> list[Finding]:
    display = _Display(skipped)
    findings: list[Finding] = []
    for file in files:
        findings += _read_scan(file, config, display)
    return findings


# Trees smaller than this are scanned in-process: starting workers costs more than it saves.
PARALLEL_BYTES = 4_000_000


def _workers(files: list[str], jobs: int | None) -> tuple[int, list[int]]:
    """How many processes to use (the caller's included) and each file's size."""
    if jobs == 1 or (jobs is None and (os.cpu_count() or 1) < 2):
        return 1, []
    if jobs is None:
        import threading  # fork only from a single-threaded process (a CLI run, a script)

        if threading.active_count() > 1:
            return 1, []
    if not hasattr(os, "fork"):  # Windows: one process
        return 1, []
    sizes = []
    for file in files:
        try:
            sizes.append(os.path.getsize(file))
        except OSError:
            sizes.append(0)
    if jobs is None and sum(sizes) < PARALLEL_BYTES:
        return 1, []
    return max(1, min(jobs or os.cpu_count() or 1, len(files))), sizes


_WARM_TEXT = (
    'api_key = "ghp_0123456789abcdefghijklmnopqrstuvwxyzAB"\n'
    'cursor.execute(f"SELECT * FROM t WHERE id = {x}")\n'
)


def _warm(config: ScanConfig) -> None:
    """Compile every regex and import every analyser once, before forking: workers inherit them."""
    ruleset = config.ruleset()
    ruleset.active("")
    for rule in ruleset.rules:
        _ = rule.rx, rule.pre_rx
    scan_text(_WARM_TEXT, "warm.py", config)
    scan_text(
        _WARM_TEXT.replace("cursor.execute(f", "db.query(`").replace('}")', "}`)"),
        "warm.js",
        config,
    )


# One work item: a run of `order` (start, stop) as two unsigned 32-bit numbers. Every item is
# written to a pipe before the fork and the pipe's write end closed, so the processes share the
# work by reading one item each: a pipe read of a whole item is atomic, and end of file means
# no work is left. (A `multiprocessing` counter did the same for ~15 ms of import and set-up.)
_ITEM = 8
_MAX_ITEMS = 2000  # 16 KiB: fits any pipe's buffer (macOS starts at 16 KiB), so never blocks


def _work_pipe(count: int) -> int:
    """The read end of a pipe holding the work items for `count` files in `order`: one file
    each (several of the smallest at the end when there are more files than items)."""
    per = -(-count // _MAX_ITEMS)
    items = b"".join(
        start.to_bytes(4, "little") + min(start + per, count).to_bytes(4, "little")
        for start in range(0, count, per)
    )
    read_fd, write_fd = os.pipe()
    try:
        os.write(write_fd, items)
    finally:
        os.close(write_fd)
    return read_fd


def _scan_shared(
    files: list[str],
    order: list[int],
    config: ScanConfig,
    work_fd: int,
    results: dict,
    skipped: Skipped,
) -> list[int]:
    """Scan files in `order` (largest first), taking the next work item from the shared pipe
    until none is left; findings go to `results` by file index. Returns the indexes taken."""
    display = _Display(skipped)
    taken: list[int] = []
    while True:
        item = os.read(work_fd, _ITEM)
        if len(item) < _ITEM:
            return taken
        for at in range(int.from_bytes(item[:4], "little"), int.from_bytes(item[4:], "little")):
            index = order[at]
            taken.append(index)
            found = _read_scan(files[index], config, display)
            if found:
                results[index] = found


def _scan_parallel(
    files: list[str], sizes: list[int], config: ScanConfig, workers: int, skipped: Skipped
) -> list[Finding]:
    """Scan on `workers` processes, this one included: forked children and this process take
    files one at a time, largest first, from a shared pipe of work, so all finish together;
    each child sends back its findings by file index through a pipe. Files a child did not
    report (it died) are scanned here. Findings come out in file order, as from one process."""
    import pickle

    _warm(config)
    order = sorted(range(len(files)), key=sizes.__getitem__, reverse=True)
    work_fd = _work_pipe(len(order))
    children: list[tuple[int, int]] = []
    try:
        for _ in range(workers - 1):
            read_fd, write_fd = os.pipe()
            pid = os.fork()
            if pid == 0:  # child: scan, report, exit without running the parent's code
                code = 1
                try:
                    os.close(read_fd)
                    mine: dict[int, list[Finding]] = {}
                    passed: Skipped = []
                    taken = _scan_shared(files, order, config, work_fd, mine, passed)
                    with os.fdopen(write_fd, "wb") as out:
                        pickle.dump((taken, mine, passed), out, pickle.HIGHEST_PROTOCOL)
                    code = 0
                finally:
                    os._exit(code)
            os.close(write_fd)
            children.append((pid, read_fd))
        results: dict[int, list[Finding]] = {}
        done = set(_scan_shared(files, order, config, work_fd, results, skipped))
        for pid, read_fd in children:
            with os.fdopen(read_fd, "rb") as src:
                data = src.read()
            children = [c for c in children if c[0] != pid]
            os.waitpid(pid, 0)
            try:
                taken, found, passed = pickle.loads(data)
            except Exception:  # the child died or failed: its files are scanned again below
                continue
            done.update(taken)
            results.update(found)
            skipped += passed
        display = _Display(skipped)
        for index in range(len(files)):
            if index not in done:  # an unreadable file raises here, in the caller
                found = _read_scan(files[index], config, display)
                if found:
                    results[index] = found
    finally:
        os.close(work_fd)
        for pid, read_fd in children:  # only on an error here: don't leave zombies
            os.close(read_fd)
            os.waitpid(pid, 0)
    return [f for index in sorted(results) for f in results[index]]


def scan_paths(
    paths: Iterable[str | Path],
    config: ScanConfig | None = None,
    *,
    baseline: bool = True,
    jobs: int | None = None,
    skipped: Skipped | None = None,
) -> list[Finding]:
    """Scan files and directories (directories walked with .gitignore honoured).

    `jobs`: processes; None spreads a big tree (over PARALLEL_BYTES) over every core from a
    single-threaded process on a platform that forks, and scans anything else in-process.
    `skipped` receives (path, reason) for every file not scanned; a file or directory that
    cannot be read raises UnreadableError (an OSError) naming it."""
    config = config or ScanConfig()
    skipped = skipped if skipped is not None else []
    files = list(file_paths(paths, config.exclude, skipped))
    workers, sizes = _workers(files, jobs)
    if workers < 2:
        found = _scan_files(files, config, skipped)
    else:
        found = _scan_parallel(files, sizes, config, workers, skipped)
    return _filter_baseline(found, config, baseline)


def _require_repo(repo: Path | str | None) -> Path:
    root = repo_root(repo or ".")
    if root is None:
        raise GitError(f"not a git repository: {Path(repo or '.').resolve()}")
    return root


def scan_staged(
    repo: Path | str | None = None,
    config: ScanConfig | None = None,
    *,
    baseline: bool = True,
    skipped: Skipped | None = None,
    index: list[tuple[str, bytes]] | None = None,
) -> list[Finding]:
    """Scan what is about to be committed: the index contents, not the working tree.

    `index`: those contents when the caller has read them already (`sources.staged_files`)."""
    root = _require_repo(repo)
    config = config or ScanConfig(root=root)
    skipped = skipped if skipped is not None else []
    findings: list[Finding] = []
    for rel, data in staged_files(root, skipped) if index is None else index:
        if excluded(rel, config.exclude):
            continue
        text, why = decode(data, rel, config.max_file_size)
        if text is None:
            skipped.append((rel, why))
        else:
            findings += scan_text(text, rel, config)
    return _filter_baseline(findings, config, baseline)


def scan_diff(
    repo: Path | str | None,
    rev: str,
    config: ScanConfig | None = None,
    *,
    baseline: bool = True,
    skipped: Skipped | None = None,
) -> list[Finding]:
    """Findings on lines added in the working tree since `rev` (whole files parsed for context).

    An added file that can no longer be read raises UnreadableError, as in `scan_paths`."""
    root = _require_repo(repo)
    config = config or ScanConfig(root=root)
    skipped = skipped if skipped is not None else []
    findings: list[Finding] = []
    for rel, lines in added_lines(root, rev).items():
        if excluded(rel, config.exclude):
            continue
        if skip_name(rel.rsplit("/", 1)[-1]):
            skipped.append((rel, SKIP_BY_NAME))
            continue
        data = read_file(root / rel, config.max_file_size)
        text, why = decode(data, rel, config.max_file_size)
        if text is None:
            skipped.append((rel, why))
        else:
            findings += [f for f in scan_text(text, rel, config) if f.line in lines]
    return _filter_baseline(findings, config, baseline)

"""Security: scan the project (or the staged changes), list findings (masked), show the file at
the finding's line, rescan when files change (watchfiles), `a` accepts a finding into the
baseline.

The preview is the one place the app reads a file that may hold a live secret, so every shown
line goes through the masker and the finding's own token is replaced by its masked match.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.syntax import Syntax
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Static

from br_tui.screens.base import LiveScreen
from br_tui.widgets.line import Line
from br_tui.widgets.live_table import Col, LiveTable
from br_tui.widgets.palette import colour, state_text
from engine import clock

CONTEXT = 6  # lines of the file shown above and below a finding
_TOKEN = re.compile(r"""[^\s'"`,;()\[\]{}]+""")


@dataclass(slots=True)
class ScanResult:
    findings: list[Any] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0
    staged: bool = False
    baseline: str = ""
    at: str = ""  # wall-clock time of the scan (the process's clock: tests freeze it)


def masked_lines(lines: list[str], findings: list[Any]) -> list[str]:
    """Lines fit for the screen: masked, and each finding's token swapped for its masked match."""
    from engine.security import redact

    out = [redact(line) for line in lines]
    for f, at in findings:
        if f.kind == "secret" and 0 <= at < len(out):
            line = lines[at]
            m = _TOKEN.search(line, max(0, f.column - 1))
            if m is not None:
                out[at] = redact(line[: m.start()] + f.match + line[m.end() :])
    return out


class SecurityScreen(LiveScreen):
    LABEL = "Security"
    TOPICS: frozenset[str] = frozenset()  # scans follow the files, not the engine's events
    READER = False  # a scan takes seconds: not on the shared reader thread

    BINDINGS = [
        Binding("s", "scan", "Rescan", id="security.scan"),
        Binding("t", "toggle_staged", "Staged/tree", id="security.staged"),
        Binding("a", "accept", "Accept", id="security.accept"),
        Binding("w", "toggle_watch", "Watch", id="security.watch"),
    ]

    class FilesChanged(Message):
        def __init__(self, count: int) -> None:
            super().__init__()
            self.count = count

    def __init__(self) -> None:
        super().__init__()
        self.staged = False
        self.result: ScanResult | None = None
        self._stop = threading.Event()
        self._watching = False
        self._findings: dict[str, Any] = {}

    def compose_body(self) -> ComposeResult:
        yield Line("", id="scan-status", classes="pane-title")
        self.table = LiveTable(
            [
                Col("severity", "SEV", 6, lambda s: state_text(self.app, s)),
                Col("kind", "KIND", 6),
                Col("rule", "RULE", 22),
                Col("where", "FILE:LINE", 30),
                Col(
                    "match",
                    "MATCH (masked)",
                    22,
                    lambda m: Text(m, style=colour(self.app, "br-secret")),
                ),
                Col("message", "MESSAGE", None),
            ],
            id="findings",
        )
        yield self.table
        with Vertical(id="preview-box"):
            yield Line("", id="preview-title", classes="pane-title")
            with VerticalScroll(id="preview-scroll"):
                yield Static("", id="preview")

    def on_mount(self) -> None:
        super().on_mount()
        self.table.focus()
        if self.br.watch_files:
            self._start_watch()

    def on_unmount(self) -> None:
        self._stop.set()

    def on_screen_resume(self) -> None:
        if self.result is None:
            self.request_refresh(frozenset({"scan"}))

    def request_refresh(self, topics: frozenset[str] = frozenset({"scan"})) -> None:
        if "scan" not in topics:
            return
        if self._inflight:
            self._again |= topics
            return
        self._inflight = True
        self._status(scanning=True)
        self._load(frozenset(topics))

    # -- scanning (thread) ---------------------------------------------------------------------

    def load(self, topics: frozenset[str]) -> ScanResult:
        try:
            from engine.security import load_config, scan_paths, scan_staged
        except ImportError as exc:
            return ScanResult(error=f"the scanner is not available yet ({exc})")
        root = self.br.project_root
        started = time.perf_counter()
        try:
            config = load_config(root)
            findings = scan_staged(root, config) if self.staged else scan_paths([root], config)
        except Exception as exc:  # not a git repo, unreadable config: one line for the user
            return ScanResult(error=str(exc), staged=self.staged)
        return ScanResult(
            sorted(
                findings,
                key=lambda f: ({"high": 0, "medium": 1}.get(f.severity, 2), f.path, f.line),
            ),
            None,
            time.perf_counter() - started,
            self.staged,
            config.baseline,
            clock.now_dt().strftime("%H:%M:%S"),
        )

    def show(self, data: ScanResult) -> None:
        self.result = data
        self._findings = {}
        rows: dict[str, tuple[Any, ...]] = {}
        for f in data.findings:
            key = f"{f.fingerprint}:{f.path}:{f.line}:{f.column}"
            self._findings[key] = f
            rows[key] = (
                f.severity,
                f.kind,
                f.rule_id,
                f"{self._rel(f.path)}:{f.line}",
                f.match,
                f.message,
            )
        self.table.sync(rows)
        self._status()
        self._preview()

    def _rel(self, path: str) -> str:
        p = Path(path)
        if p.is_absolute():
            try:
                return str(p.relative_to(self.br.project_root))
            except ValueError:
                return path
        return path

    def _status(self, scanning: bool = False) -> None:
        muted = colour(self.app, "br-muted")
        t = Text()
        t.append("staged changes" if self.staged else "working tree", "bold")
        t.append(f" of {self.br.project_root.name}", muted)
        r = self.result
        if scanning:
            t.append("  scanning…", colour(self.app, "br-running"))
        elif r is not None and r.error:
            t.append(f"  {r.error}", colour(self.app, "br-error"))
        elif r is not None:
            n = len(r.findings)
            t.append(
                f"  {n} finding{'s' if n != 1 else ''}",
                colour(self.app, "br-error" if n else "br-ok"),
            )
            t.append(f" · scanned {r.at}", muted)
        t.append("  · watching for changes" if self._watching else "  · not watching (w)", muted)
        self.query_one("#scan-status", Line).set(t)

    # -- preview -------------------------------------------------------------------------------

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table is self.table:
            self._preview()

    def _preview(self) -> None:
        key = self.table.cursor_key
        f = self._findings.get(key) if key else None
        if f is None:
            self.query_one("#preview-title", Line).set(
                Text("no finding selected", colour(self.app, "br-muted"))
            )
            self.query_one("#preview", Static).update("")
            return
        self._read_preview(f, [g for g in self._findings.values() if g.path == f.path])

    @work(thread=True, exit_on_error=False, exclusive=True, group="preview")
    def _read_preview(self, f: Any, same_file: list[Any]) -> None:
        path = Path(f.path)
        if not path.is_absolute():
            path = Path.cwd() / path
        try:
            lines = path.read_text("utf-8", errors="replace").splitlines()
        except OSError as exc:
            self.app.call_from_thread(self._show_preview, f, None, str(exc))
            return
        lo = max(0, f.line - 1 - CONTEXT)
        hi = min(len(lines), f.line + CONTEXT)
        window = lines[lo:hi]
        shown = masked_lines(window, [(g, g.line - 1 - lo) for g in same_file])
        self.app.call_from_thread(self._show_preview, f, (lo, shown), None)

    def _show_preview(self, f: Any, view: tuple[int, list[str]] | None, error: str | None) -> None:
        title = Text(f"{self._rel(f.path)}:{f.line}:{f.column}", "bold")
        title.append(f"  {f.rule_id} · {f.message}", colour(self.app, "br-muted"))
        self.query_one("#preview-title", Line).set(title)
        if view is None:
            self.query_one("#preview", Static).update(Text(error or "", "italic"))
            return
        lo, lines = view
        syntax = Syntax(
            "\n".join(lines),
            Syntax.guess_lexer(f.path, "\n".join(lines)),
            line_numbers=True,
            start_line=lo + 1,
            highlight_lines={f.line},
            theme="ansi_dark" if self.app.current_theme.dark else "ansi_light",
            word_wrap=False,
        )
        self.query_one("#preview", Static).update(syntax)

    # -- watching ------------------------------------------------------------------------------

    def _start_watch(self) -> None:
        self._stop.clear()
        self._watching = True
        self._watch()

    @work(thread=True, exit_on_error=False, group="watch")
    def _watch(self) -> None:
        from watchfiles import DefaultFilter, watch

        class Filter(DefaultFilter):
            ignore_dirs = (*DefaultFilter.ignore_dirs, ".buildrunner", "snapshots")

        try:
            for changes in watch(
                self.br.project_root,
                watch_filter=Filter(),
                stop_event=self._stop,
                debounce=400,
                rust_timeout=500,
                yield_on_timeout=False,
            ):
                if self._stop.is_set():
                    break
                self.post_message(self.FilesChanged(len(changes)))
        except Exception as exc:  # too many files to watch, a vanished root: say so
            self.app.call_from_thread(self.notify, f"watching stopped: {exc}", severity="warning")
        self._watching = False

    def on_security_screen_files_changed(self, message: FilesChanged) -> None:
        if self.result is not None:  # only after a first scan the user asked for
            self.request_refresh(frozenset({"scan"}))

    # -- keys ----------------------------------------------------------------------------------

    def action_scan(self) -> None:
        self.request_refresh(frozenset({"scan"}))

    def action_toggle_staged(self) -> None:
        self.staged = not self.staged
        self.request_refresh(frozenset({"scan"}))

    def action_toggle_watch(self) -> None:
        if self._watching:
            self._stop.set()
            self._watching = False
        else:
            self._start_watch()
        self._status()

    def action_accept(self) -> None:
        key = self.table.cursor_key
        f = self._findings.get(key) if key else None
        if f is None or self.result is None:
            return
        self._accept(f, self.result.baseline)

    @work(thread=True, exit_on_error=False, group="accept")
    def _accept(self, f: Any, baseline: str) -> None:
        try:
            from engine.security import accept
        except ImportError as exc:
            self.app.call_from_thread(
                self.notify, f"baselines not available yet ({exc})", severity="warning"
            )
            return
        path = self.br.project_root / (baseline or ".br-tui-baseline.json")
        accept(path, [f])
        self.app.call_from_thread(self.notify, f"accepted {f.rule_id} in {f.path} into {path.name}")
        self.app.call_from_thread(self.request_refresh, frozenset({"scan"}))

    def restyle(self) -> None:
        self.table.restyle()
        self._status()
        self._preview()

"""The app under load: key press -> screen reflects it, and memory while output streams.

A plan of N tasks (default 1,000) runs on 16 workers in a background owner process, as
`br-tui plan.toml` does (the app creates the session, a detached `br-tui resume` runs it, the
app steers it through control rows and follows it from the database); each task prints at
RATE/16 lines a second, so RATE (default 5,000) lines a second stream in total. The app runs
headless (`App.run_test`: composing, layout and
rendering all happen, only the terminal write is dropped). While it runs we press keys and time
each until the widget it should change shows the change:

  p / r       Sessions: pause / resume the session (an engine round trip) -> status cell
  2, 3, 1     switch screens -> the new screen is shown with its data (3: with its tasks
              listed and one followed, so the arrow keys after it have rows to move over)
  down / up   Feed: pick another task -> its output pane is titled and filled
  + / -       Workers: scale the pool (an engine round trip) -> worker rows appear / retire

and we sample the app's RSS, and the owner's, every 100,000 streamed lines until LINES
(default 1,000,000) have streamed.

    python bench/ui.py [--tasks 1000] [--workers 16] [--rate 5000] [--lines 1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from br_tui.app import BrApp  # noqa: E402
from engine.store import Store  # noqa: E402

TASK = (
    "perl -e '$|=1; my $n={lines}; my $b=16; my $dt=$b/{rate};"
    ' for my $i (1..$n) {{ print "[{tid}] step $i: compiling module_$i.py ok\\n";'
    " select(undef,undef,undef,$dt) if $i % $b == 0 }}'"
)


def write_plan(path: Path, tasks: int, workers: int, rate: int, lines: int) -> None:
    per_task = max(1, lines // tasks)
    per_rate = max(1.0, rate / workers)
    out = [f'name = "ui-bench"\nworkers = {workers}\n']
    for n in range(tasks):
        tid = f"t{n:04d}"
        run = TASK.format(lines=per_task, rate=per_rate, tid=tid)
        out.append(f"[[task]]\nid = \"{tid}\"\nrun = '''{run}'''\n")
    path.write_text("\n".join(out))


def rss_kb(pid: int | str = "self") -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def sqlite_kb() -> int:
    """SQLite's own heap in use (page caches, schemas, statements) across the process."""
    import ctypes
    import ctypes.util

    try:
        lib = ctypes.CDLL(ctypes.util.find_library("sqlite3") or "libsqlite3.so.0")
        lib.sqlite3_memory_used.restype = ctypes.c_int64
        return int(lib.sqlite3_memory_used()) // 1024
    except (OSError, AttributeError):
        return -1


def owner_rss_kb(store: Any, sid: str) -> int:
    rows = store.query("SELECT owner_pid FROM sessions WHERE id=?", (sid,))
    pid = rows[0]["owner_pid"] if rows else None
    try:
        return rss_kb(pid) if pid else 0
    except OSError:  # the owner is gone
        return 0


def threads() -> int:
    return len(os.listdir("/proc/self/task")) if os.path.isdir("/proc/self/task") else -1


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(p * len(s)))] if s else float("nan")


def send_key(app: Any, key: str) -> None:
    """What a terminal does: the driver posts a Key event. (Pilot.press also waits for the
    process to go idle, which under this load would time the wait, not the app.)"""
    from textual import events

    char = {"plus": "+", "minus": "-"}.get(key, key if len(key) == 1 else None)
    app._driver.send_message(events.Key(key, char))


async def timed(pilot: Any, key: str, done: Callable[[], bool], timeout: float = 5.0) -> float:
    """Seconds from the key press to `done()` being true (checked every 2 ms on the app loop)."""
    start = time.perf_counter()
    send_key(pilot.app, key)
    while not done():
        if time.perf_counter() - start > timeout:
            return float("inf")
        await asyncio.sleep(0.002)
    return time.perf_counter() - start


async def run(args: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="br-ui-bench-"))
    plan = tmp / "plan.toml"
    write_plan(plan, args.tasks, args.workers, args.rate, args.lines)
    store = Store(tmp / "br.db")
    app = BrApp(store, project_root=tmp, watch_files=False, theme="textual-dark")
    sid = app.host.start_plan(plan, workers=args.workers)
    app.current_session = sid
    lat: dict[str, list[float]] = {}
    mem: list[tuple[int, int]] = []
    started = time.monotonic()

    def note(kind: str, seconds: float) -> None:
        lat.setdefault(kind, []).append(seconds)

    def cell(table: Any, key: str, col: str) -> str:
        try:
            return str(table.get_cell(key, col))
        except Exception:
            return ""

    async with app.run_test(size=(120, 40)) as pilot:
        while store.query("SELECT status FROM sessions WHERE id=?", (sid,))[0]["status"] != (
            "running"
        ):  # the owner process takes the session (interpreter start, imports)
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)
        rounds = 0
        next_mem = 100_000
        while True:
            rounds += 1
            screen = app.screen
            sessions = screen.query_one("#sessions-table")
            if rounds <= args.rounds and sid in app.host.running():
                note(
                    "pause (p)",
                    await timed(pilot, "p", lambda: cell(sessions, sid, "status") == "paused"),  # noqa: B023 - awaited at once
                )
                await asyncio.sleep(0.2)
                note(
                    "resume (r)",
                    await timed(pilot, "r", lambda: cell(sessions, sid, "status") == "running"),  # noqa: B023 - awaited at once
                )
                note(
                    "screen 2",
                    await timed(
                        pilot,
                        "2",
                        lambda: (
                            type(app.screen).__name__ == "WorkersScreen"
                            and app.screen.query_one("#workers-table").row_count > 0
                        ),
                    ),
                )
                workers = app.screen.query_one("#workers-table")
                before = workers.row_count
                note(
                    "scale + (Workers)",
                    await timed(pilot, "plus", lambda: workers.row_count > before),  # noqa: B023 - awaited at once
                )
                note(
                    "scale - (Workers)",
                    await timed(
                        pilot,
                        "minus",
                        lambda: (
                            f"target {args.workers} "
                            in str(app.screen.query_one("#pools").render())
                        ),
                    ),
                )
            note(
                "screen 3",
                await timed(
                    pilot,
                    "3",
                    lambda: (  # shown with its tasks, one of them followed (as 2 and 1 wait)
                        type(app.screen).__name__ == "FeedScreen"
                        and app.screen.tasks.row_count > 0
                        and app.screen.watching is not None
                    ),
                ),
            )
            feed = app.screen
            for key in ("down", "up"):
                was = feed.watching

                def moved(was: Any = was) -> bool:
                    return feed.watching != was and "output · " in str(  # noqa: B023 - awaited at once
                        feed.query_one("#output-title").render()  # noqa: B023 - awaited at once
                    )

                note(f"feed {key} (pick task)", await timed(pilot, key, moved))
            await asyncio.sleep(0.5 if rounds <= args.rounds else 2.0)  # let output stream
            note(
                "screen 1",
                await timed(pilot, "1", lambda: type(app.screen).__name__ == "SessionsScreen"),
            )
            if rounds > args.rounds:  # stay on the feed while the rest streams
                send_key(app, "3")
                await asyncio.sleep(0.3)
                send_key(app, "g")
                while app.live.lines_seen < next_mem and app.host.running():
                    await asyncio.sleep(0.5)
                    if app.live.lines_seen >= next_mem:
                        break
                    if int(time.monotonic()) % 3 == 0:
                        send_key(app, "g")  # follow a running task
                gc.collect()
                mem.append((app.live.lines_seen, rss_kb(), sqlite_kb(), threads(),
                            owner_rss_kb(store, sid)))  # fmt: skip
                print(
                    f"  {app.live.lines_seen:>9,} lines streamed  rss {mem[-1][1] / 1024:.1f} MiB"
                    f"  owner {mem[-1][4] / 1024:.1f} MiB"
                    f"  sqlite {mem[-1][2] / 1024:.1f} MiB  threads {mem[-1][3]}"
                    f"  shown {len(feed.output.lines)}",
                    file=sys.stderr,
                )
                next_mem += 100_000
                if app.live.lines_seen >= args.lines or not app.host.running():
                    break
                send_key(app, "1")
                await asyncio.sleep(0.3)
        wall = time.monotonic() - started
        rate = app.live.lines_seen / wall
    app.host.shutdown("cancel", timeout=20)
    store.close()
    return {"lat": lat, "mem": mem, "wall": wall, "rate": rate, "lines": app.live.lines_seen}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--tasks", type=int, default=1000)
    p.add_argument("--workers", type=int, default=16)
    p.add_argument("--rate", type=int, default=5000, help="output lines per second, in total")
    p.add_argument("--lines", type=int, default=1_000_000)
    p.add_argument("--rounds", type=int, default=20, help="rounds of key presses timed")
    args = p.parse_args()
    os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")
    res = asyncio.run(run(args))
    print(
        f"\n{args.tasks} tasks, {args.workers} workers, target {args.rate:,} lines/s;"
        f" streamed {res['lines']:,} lines in {res['wall']:.0f}s ({res['rate']:,.0f}/s)"
    )
    print(
        f"\n{'key press -> screen shows it':<28} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}"
    )
    every: list[float] = []
    for kind, values in res["lat"].items():
        ms = [v * 1000 for v in values]
        every += ms
        print(
            f"{kind:<28} {len(ms):>4} {statistics.median(ms):>8.1f} {pct(ms, 0.95):>8.1f}"
            f" {max(ms):>8.1f}"
        )
    print(
        f"{'all':<28} {len(every):>4} {statistics.median(every):>8.1f}"
        f" {pct(every, 0.95):>8.1f} {max(every):>8.1f}"
    )
    print("\nlines streamed -> app RSS, its SQLite heap and threads; the owner process' RSS")
    for lines, kb, sq, nt, owner in res["mem"]:
        print(
            f"  {lines:>10,}  app {kb / 1024:7.1f} MiB  sqlite {sq / 1024:5.1f} MiB"
            f"  {nt} threads  owner {owner / 1024:7.1f} MiB"
        )
    if len(res["mem"]) >= 2:
        first, last = res["mem"][0], res["mem"][-1]
        print(
            f"growth from first to last sample: app {(last[1] - first[1]) / 1024:+.1f} MiB,"
            f" owner {(last[4] - first[4]) / 1024:+.1f} MiB"
        )


if __name__ == "__main__":
    main()

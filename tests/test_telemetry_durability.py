"""Durability of published events: a clean exit loses none, `kill -9` at most one group.

Both run a real child process that publishes through the Collector. The "flush interval" is
the writer's group commit: it never waits, so a published event is durable once the group in
flight (at most `Store.max_batch` rows) commits. The kill test measures how far behind the
last published event the database was at the moment of the kill.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

from engine_helpers import child_pythonpath

#: The loss bound we promise for a killed process (docs/telemetry.md): one flush interval.
FLUSH_INTERVAL_S = 0.5

CHILD = r"""
import sys, time
from engine.store import Store
from engine.events import Event, EventType
from engine.telemetry.collector import Collector
db, mode, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
store = Store(db)
col = Collector(store)
print("ready", flush=True)
i = 0
while mode == "forever" or i < n:
    i += 1
    col.publish(Event(EventType.AGENT_CALL, "s1", f"t{i}", data={"seq": i, "at": time.time()}))
    if mode == "forever" and i % 50 == 0:
        time.sleep(0.001)  # a steady stream, as a busy run would make
# mode "exit": fall off the end without close(); atexit must flush
"""


def child(tmp_path: Path, mode: str, n: int = 0) -> subprocess.Popen[str]:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = {**os.environ, "PYTHONPATH": child_pythonpath()}
    return subprocess.Popen(
        [sys.executable, str(script), str(tmp_path / "br.db"), mode, str(n)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )


def seqs(db: Path) -> list[int]:
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute(
            "SELECT data FROM events WHERE type='agent.call' ORDER BY id"
        ).fetchall()
    finally:
        conn.close()
    return [json.loads(r[0])["seq"] for r in rows]


def test_clean_exit_loses_nothing(tmp_path):
    proc = child(tmp_path, "exit", 20_000)
    assert proc.stdout.readline().strip() == "ready"
    assert proc.wait(timeout=120) == 0
    assert seqs(tmp_path / "br.db") == list(range(1, 20_001))


def test_kill_9_loses_at_most_one_flush_interval(tmp_path):
    db = tmp_path / "br.db"
    proc = child(tmp_path, "forever")
    assert proc.stdout.readline().strip() == "ready"
    deadline = time.time() + 30
    while time.time() < deadline:  # let it run until a good number are durable
        time.sleep(0.2)
        try:
            if len(seqs(db)) > 5000:
                break
        except sqlite3.OperationalError:
            pass
    time.sleep(0.3)
    killed_at = time.time()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    got = seqs(db)
    assert got == list(range(1, len(got) + 1)), "a hole: a committed group was partial"
    conn = sqlite3.connect(db)
    last_at = json.loads(
        conn.execute("SELECT data FROM events ORDER BY id DESC LIMIT 1").fetchone()[0]
    )["at"]
    conn.close()
    lag = killed_at - last_at
    print(f"stored {len(got)} events; last durable one published {lag * 1000:.1f} ms before kill")
    assert lag < FLUSH_INTERVAL_S


def test_flush_and_close_do_not_wait_out_the_linger(tmp_path: Path) -> None:
    """Whoever waits on the writer gets the commit now: with an hour-long linger a write
    followed by a flush (or by close) still commits; the 30 s timeout only catches a hang."""
    from engine.events import Event, EventType
    from engine.store import Store

    store = Store(tmp_path / "br.db")
    store.linger = 3600.0
    store.publish(Event(EventType.AGENT_CALL, "s1", "t1", data={"seq": 1}))
    store.flush(timeout=30)
    assert seqs(tmp_path / "br.db") == [1]
    store.publish(Event(EventType.AGENT_CALL, "s1", "t2", data={"seq": 2}))
    closer = threading.Thread(target=store.close, daemon=True)
    closer.start()
    closer.join(30)
    assert not closer.is_alive() and seqs(tmp_path / "br.db") == [1, 2]


def test_a_large_group_commits_without_lingering(tmp_path: Path) -> None:
    """Lingering is for small groups: a flood commits at once, even with an hour-long linger
    and nobody flushing (the 30 s deadline only catches a writer that sat out the linger)."""
    from engine.events import Event, EventType
    from engine.store import Store
    from engine.store.writer import LINGER_BELOW_ROWS

    store = Store(tmp_path / "br.db")
    store.linger = 3600.0
    n = LINGER_BELOW_ROWS + 10
    store.publish(*(Event(EventType.AGENT_CALL, "s1", f"t{i}", data={"seq": i}) for i in range(n)))
    deadline = time.monotonic() + 30
    while len(seqs(tmp_path / "br.db")) < n and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(seqs(tmp_path / "br.db")) == n
    store.close()


def test_a_flush_behind_full_groups_does_not_wait_out_the_linger(tmp_path: Path) -> None:
    """With groups capped below the linger threshold, a flush queued behind several full
    groups still commits at once (a full group leaves items queued: it must not linger)."""
    from engine.events import Event, EventType
    from engine.store import Store

    store = Store(tmp_path / "br.db", max_batch=10)
    store.linger = 3600.0
    for i in range(25):
        store.publish(Event(EventType.AGENT_CALL, "s1", f"t{i}", data={"seq": i}))
    store.flush(timeout=30)
    assert seqs(tmp_path / "br.db") == list(range(25))
    store.close()

"""App fixtures: a database with realistic, frozen data; and snapshots kept in `snapshots/`.

pytest-textual-snapshot stores SVGs beside the test file by default; the product keeps them in
`snapshots/` at the repository root, so the extension's directory is pointed there.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOTS = ROOT / "snapshots"
NOW = datetime(2026, 11, 21, 10, 0, 0, tzinfo=UTC)

try:  # only when the snapshot plugin is installed (it is, with the dev extra)
    from pytest_textual_snapshot import SVGImageExtension

    def _dirname(cls: type, *, test_location: Any) -> str:
        return str(SNAPSHOTS / test_location.basename)

    SVGImageExtension.dirname = classmethod(_dirname)  # type: ignore[method-assign,assignment]
except ImportError:  # pragma: no cover
    pass


def iso(minutes: float) -> str:
    """A timestamp `minutes` before the frozen now."""
    return (NOW - timedelta(minutes=minutes)).isoformat(timespec="microseconds")


TASKS = [  # id, state, worker, attempts, minutes ago started, duration s, exit, reason
    ("fetch:deps", "succeeded", "w1", 1, 2.5, 4.2, 0, None),
    ("lint:python", "succeeded", "w2", 1, 2.5, 6.8, 0, None),
    ("lint:js", "succeeded", "w3", 1, 2.5, 3.1, 0, None),
    ("typecheck", "succeeded", "w4", 1, 2.4, 21.7, 0, None),
    ("compile:core", "running", "w1", 1, 1.5, None, None, None),
    ("compile:api", "running", "w2", 1, 1.2, None, None, None),
    ("compile:web", "retrying", "w3", 2, 1.9, None, 1, "exit code 1; retrying in 2s"),
    ("test:unit", "failed", "w4", 2, 2.0, 48.2, 1, "exit code 1"),
    ("agent:docstrings", "running", "w4", 1, 0.6, None, None, None),
    ("test:integration", "queued", None, 0, None, None, None, None),
    ("bundle:web", "waiting_lock", None, 0, None, None, None, None),
    ("package", "queued", None, 0, None, None, None, None),
]

# id, name, status, created / started / ended (minutes ago), total, ok, failed, cancelled, workers
SESSIONS = [
    ("a1b2c3d4", "release-build", "running", 2.6, 2.5, None, 12, 4, 1, 0, 4),
    ("0c0d0e0f", "agent-refactor", "paused", 30.0, 29.5, None, 8, 3, 0, 0, 2),
    ("5e6f7a8b", "docs-refresh", "failed", 95.0, 94.8, 81.0, 6, 4, 2, 0, 2),
    ("9f8e7d6c", "nightly", "completed", 240.0, 239.9, 235.7, 40, 40, 0, 0, 8),
]

OUTPUT = [
    "[core] resolving 142 modules",
    "[core] compiling src/core/graph.py",
    "[core] compiling src/core/scheduler.py",
    "[core] warning: unused import 'itertools' (src/core/plan.py:3)",
    "[core] compiling src/core/locks.py",
    "[core] linking core.so",
    "[core] 3 warnings, 0 errors so far",
    "[core] 118/142 modules compiled",
]

AGENT_CALLS = [  # days ago, session, task, model, tier, level, in, out, cost, outcome
    (
        0,
        "a1b2c3d4",
        "agent:docstrings",
        "claude-haiku-4-5",
        "fast",
        "simple",
        41_000,
        3_900,
        0.061,
        "ok",
    ),
    (
        0,
        "0c0d0e0f",
        "agent:split-module",
        "claude-sonnet-5",
        "balanced",
        "moderate",
        88_000,
        9_100,
        0.40,
        "ok",
    ),
    (
        0,
        "0c0d0e0f",
        "agent:migrate-db",
        "claude-opus-5",
        "strong",
        "complex",
        120_000,
        15_000,
        1.92,
        "ok",
    ),
    (
        1,
        "5e6f7a8b",
        "agent:api-docs",
        "claude-sonnet-5",
        "balanced",
        "moderate",
        64_000,
        7_000,
        0.30,
        "ok",
    ),
    (
        1,
        "5e6f7a8b",
        "agent:examples",
        "claude-haiku-4-5",
        "fast",
        "simple",
        30_000,
        2_000,
        0.04,
        "error",
    ),
    (
        3,
        "9f8e7d6c",
        "agent:changelog",
        "claude-haiku-4-5",
        "fast",
        "simple",
        22_000,
        2_500,
        0.035,
        "ok",
    ),
    (
        6,
        "9f8e7d6c",
        "agent:refactor",
        "claude-opus-5",
        "strong",
        "complex",
        150_000,
        22_000,
        2.60,
        "ok",
    ),
    (9, None, None, "claude-sonnet-5", "balanced", "moderate", 70_000, 8_000, 0.33, "ok"),
]


def seed(db_path: Path) -> None:
    """Realistic rows with frozen timestamps: what the engine would have written."""
    from engine.store import Store

    store = Store(db_path)
    ops: list[tuple[str, tuple[Any, ...]]] = []
    for (
        sid,
        name,
        status,
        created,
        started,
        ended,
        total,
        ok,
        failed,
        cancelled,
        workers,
    ) in SESSIONS:
        config = {"budget": {"session_usd": 0.25, "daily_usd": 3.0, "monthly_usd": 40.0}}
        ops.append(
            (
                "INSERT INTO sessions (id, name, plan_path, status, created_at, started_at,"
                " ended_at, owner_pid, workers, total, succeeded, failed, cancelled, config)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    sid,
                    name,
                    f"plans/{name}.toml",
                    status,
                    iso(created),
                    iso(started),
                    iso(ended) if ended is not None else None,
                    None,
                    workers,
                    total,
                    ok,
                    failed,
                    cancelled,
                    json.dumps(config),
                ),
            )
        )
    for seq, (tid, state, worker, attempts, ago, dur, code, reason) in enumerate(TASKS):
        started = iso(ago) if ago is not None else None
        ended = iso(ago - dur / 60) if dur is not None else None
        ops.append(
            (
                "INSERT INTO tasks (session_id, id, seq, kind, spec, state, attempts, worker_id,"
                " started_at, ended_at, exit_code, reason, duration_s)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    "a1b2c3d4",
                    tid,
                    seq,
                    "agent" if tid.startswith("agent") else "shell",
                    "{}",
                    state,
                    attempts,
                    worker,
                    started,
                    ended,
                    code,
                    reason,
                    dur,
                ),
            )
        )
    workers = [
        ("busy", "compile:core", 2, 0, 11.0),
        ("busy", "compile:api", 1, 0, 7.2),
        ("idle", None, 1, 1, 9.4),
        ("busy", "agent:docstrings", 1, 1, 70.0),
    ]
    for n, (status, task, done, fail, busy) in enumerate(workers, start=1):
        ops.append(
            (
                "INSERT INTO workers (session_id, id, status, current_task, done, failed, busy_s,"
                " started_at, heartbeat_at, owner_pid) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (
                    "a1b2c3d4",
                    f"w{n}",
                    status,
                    task,
                    done,
                    fail,
                    busy,
                    iso(2.5),
                    iso(0.02 * n),
                    4242,
                ),
            )
        )
    events = [
        (2.5, "session.started", "info", None, None, {"workers": 4}),
        (2.5, "task.started", "info", "fetch:deps", "w1", {"attempt": 1, "kind": "shell"}),
        (2.4, "task.succeeded", "info", "fetch:deps", "w1", {"exit_code": 0, "wall_s": 4.2}),
        (2.0, "task.retried", "warning", "compile:web", "w3", {"attempt": 1, "exit_code": 1}),
        (1.6, "task.failed", "error", "test:unit", "w4", {"attempt": 2, "exit_code": 1}),
        (1.5, "task.started", "info", "compile:core", "w1", {"attempt": 1, "kind": "shell"}),
        (1.2, "lock.waited", "debug", "bundle:web", None, {"held_by": "compile:web"}),
        (
            0.9,
            "alert.raised",
            "warning",
            None,
            None,
            {"id": "failure-rate", "message": "failure rate 20% > 10% (5 min)"},
        ),
        (
            0.6,
            "agent.call",
            "info",
            "agent:docstrings",
            "w4",
            {"model": "claude-haiku-4-5", "cost_usd": 0.061},
        ),
    ]
    for ago, etype, level, tid, wid, data in events:
        ops.append(
            (
                "INSERT INTO events (ts, type, level, session_id, task_id, worker_id, data)"
                " VALUES (?,?,?,?,?,?,?)",
                (iso(ago), etype, level, "a1b2c3d4", tid, wid, json.dumps(data)),
            )
        )
    for seq, line in enumerate(OUTPUT, start=1):
        ops.append(
            (
                "INSERT INTO output (session_id, task_id, attempt, seq, stream, line, ts)"
                " VALUES (?,?,?,?,?,?,?)",
                ("a1b2c3d4", "compile:core", 1, seq, "stdout", line, iso(1.5 - seq / 100)),
            )
        )
    for days, sid, tid, model, tier, level, tin, tout, cost, outcome in AGENT_CALLS:
        ops.append(
            (
                "INSERT INTO agent_calls (ts, session_id, task_id, attempt, backend, model, tier,"
                " level, input_tokens, output_tokens, cost_usd, cost_source, outcome)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    iso(days * 1440 + 30),
                    sid,
                    tid,
                    1,
                    "command",
                    model,
                    tier,
                    level,
                    tin,
                    tout,
                    cost,
                    "table",
                    outcome,
                ),
            )
        )
    store.write(ops)
    store.flush()
    store.close()


PROJECT_FILES = {
    "app/settings.py": (
        '"""Settings for the shop service."""\n\nimport os\n\nDEBUG = False\n'
        'DATABASE_URL = os.environ.get("DATABASE_URL", "sqlite:///shop.db")\n'
        # fake credentials for the Security screen, built from pieces so that scanning this
        # repository doesn't report them
        'AWS_ACCESS_KEY_ID = "' + "AKIA" + "Q3EGRJ7P" + 'ZK4M2XNB"\n'
        'STRIPE_KEY = "' + "sk_" + "live_" + "51Hc9QeKx8vT" + '2mLp0aZr7YdWb"\n\nTIMEOUT_S = 30\n'
    ),
    "app/orders.py": (
        "def find_orders(db, customer):\n"
        '    """Orders of one customer."""\n'
        '    sql = "SELECT * FROM orders WHERE customer = \'" + customer + "\'"\n'
        "    return db.execute(sql).fetchall()\n"
    ),
    "README.md": "# shop\n\nA small service.\n",
}


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A small project with a database of realistic rows; the process runs inside it."""
    root = tmp_path / "shop"
    for rel, text in PROJECT_FILES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (root / ".buildrunner").mkdir()
    seed(root / ".buildrunner" / "br.db")
    monkeypatch.chdir(root)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))  # not the user's keymap
    return root


@pytest.fixture
def make_app(project: Path) -> Iterator[Callable[..., Any]]:
    """Build the app on the seeded database with a frozen clock; shut everything down after."""
    from br_tui.app import BrApp
    from engine import clock as engine_clock
    from engine.store import Store

    made: list[Any] = []
    restore = engine_clock.install(engine_clock.fixed(NOW))

    def make(db: str = "br.db", *, clock: Any = None, **kwargs: Any) -> Any:
        """`db="live.db"` gives an empty database beside the seeded one; `clock=` replaces the
        frozen clock for the whole process (`engine.clock.system` for a live one)."""
        if clock is not None:
            engine_clock.install(clock)
        store = Store(project / ".buildrunner" / db)
        kwargs.setdefault("watch_files", False)
        kwargs.setdefault("theme", "textual-dark")
        app = BrApp(store, project_root=project, **kwargs)
        made.append(app)
        return app

    try:
        yield make
    finally:
        for app in made:
            app.host.shutdown("cancel", timeout=10)
            app.store.close()
        engine_clock.install(restore)


os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")


# The real Dask cluster (scheduler + two workers as processes), for tests/test_dask_*.py.
from dask_cluster import dask_cluster, dask_cluster_session  # noqa: E402, F401

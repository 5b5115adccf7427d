"""House rules on imports: the engine never loads Textual; a git hook pays for nothing extra."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ENGINE_MODULES = sorted(
    ".".join(p.with_suffix("").relative_to(Path(__file__).parents[1]).parts)
    for p in (Path(__file__).parents[1] / "engine").rglob("*.py")
    if p.name != "__main__.py"
)


def loaded_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys, json; print(json.dumps(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_no_engine_module_imports_textual() -> None:
    code = "\n".join(f"import {m.removesuffix('.__init__')}" for m in ENGINE_MODULES)
    mods = loaded_after(code)
    assert not {m for m in mods if m == "textual" or m.startswith("textual.")}


@pytest.mark.parametrize(
    "code",
    [
        "from br_tui.cli import main",
        "from engine.security.cli import main",
    ],
)
def test_scan_path_stays_lean(code: str) -> None:
    mods = loaded_after(code)
    heavy = {"textual", "sqlite_utils", "asyncio", "sqlite3", "engine.store", "engine.sessions"}
    assert not heavy & mods


@pytest.mark.parametrize(
    "code",
    [
        "from br_tui.cli import main",
        "from engine.security.cli import main",
        "import br_tui.app",
        "import br_tui.headless",
        "import engine.sessions",
        "import engine.executors.dask",
        "from engine.plan import load_plan; load_plan('examples/demo.toml')",
    ],
)
def test_dask_is_imported_only_when_a_plan_asks_for_it(code: str) -> None:
    mods = loaded_after(code)
    assert not {m for m in mods if m in ("distributed", "dask") or m.startswith("distributed.")}


def test_a_local_session_runs_without_importing_dask(tmp_path: Path) -> None:
    plan = tmp_path / "p.toml"
    plan.write_text('[[task]]\nid = "a"\nrun = "true"\n')
    code = (
        "from br_tui.headless import main\n"
        f"assert main(['run', {str(plan)!r}, '--db', {str(tmp_path / 'br.db')!r}, '--quiet']) == 0"
    )
    mods = loaded_after(code)
    assert "engine.sessions.runner" in mods
    assert "distributed" not in mods and "engine.executors.dask.executor" not in mods

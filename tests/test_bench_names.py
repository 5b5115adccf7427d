"""No script in bench/ is named like an importable package: bench scripts put bench/ on
sys.path, and a `bench/dask.py` once hid the real `dask` there, so every Dask test that ran
after a bench-importing test was silently skipped."""

from __future__ import annotations

import importlib.metadata
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench"


def test_no_bench_script_shadows_a_package() -> None:
    installed = set(importlib.metadata.packages_distributions())
    taken = installed | set(sys.stdlib_module_names) | {"engine", "br_tui", "tests"}
    clashes = sorted(p.stem for p in BENCH.glob("*.py") if p.stem in taken)
    assert not clashes, f"bench scripts named like packages: {clashes}"

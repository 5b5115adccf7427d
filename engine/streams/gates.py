"""Quality gates run on a checkpoint's merged tree, in the integration worktree.

A gate is any command (exit 0 passes) or one of the conveniences the origin plan names, each
delegating to the tool that owns the job rather than reimplementing it:

- `coverage`: runs `run` (default: pytest under coverage, with br-tui's Python), then
  coverage.py's own `coverage report --fail-under` (exit 2 below it). The floor is the larger
  of `fail_under` and the coverage the same gate reached at the last passing checkpoint on
  this target (a ratchet).
  Writes `coverage.xml` for a `diff-cover` gate after it.
- `diff-cover`: `diff-cover coverage.xml --compare-branch=<target before> --fail-under=N`,
  coverage of the changed lines only.
- `scan`: `br-tui --scan --diff <target before>`: no new secret or string-built SQL in the lines
  the checkpoint adds.

Output is kept masked and bounded; each result becomes a `gate_results` row and an event.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from engine.plan import GateSpec
from engine.security.masking import redact

DEFAULT_TIMEOUT_S = 3600.0
OUTPUT_CAP = 64 * 1024
#: The test command a coverage gate runs when it names none: pytest under coverage.py.
DEFAULT_COVERAGE_RUN = f"{shlex.quote(sys.executable)} -m coverage run -m pytest -q"


@dataclass(slots=True)
class GateResult:
    name: str
    kind: str
    status: str  # passed | failed
    exit_code: int | None
    output: str
    wall_s: float
    coverage: float | None = None
    floor: float | None = None


@dataclass(slots=True)
class _Run:
    code: int | None
    output: str


def _sh(command: list[str] | str, cwd: Path, env: dict[str, str], timeout: float) -> _Run:
    argv = ["/bin/sh", "-c", command] if isinstance(command, str) else command
    try:
        proc = subprocess.run(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=timeout,
            start_new_session=True,
        )
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"").decode("utf-8", "replace")
        return _Run(None, out + f"\n(timed out after {timeout:.0f}s)")
    except OSError as exc:
        return _Run(127, f"cannot run {argv[0]}: {exc.strerror}")
    return _Run(proc.returncode, proc.stdout.decode("utf-8", "replace"))


def _tool(module: str, script: str) -> list[str]:
    """A Python tool installed beside br-tui: its console script if there, else `-m module`."""
    beside = Path(sys.executable).with_name(script)
    if beside.exists():
        return [str(beside)]
    found = shutil.which(script)
    return [found] if found else [sys.executable, "-m", module]


def _cap(text: str) -> str:
    text = redact(text)
    if len(text) > OUTPUT_CAP:
        text = "…(earlier output cut)\n" + text[-OUTPUT_CAP:]
    return text


def run_gate(
    gate: GateSpec,
    tree: Path,
    *,
    base: str,
    env: dict[str, str],
    ratchet: float | None = None,
    on_line: Callable[[str], None] | None = None,
) -> GateResult:
    """Run one gate in `tree` (the merged tree); `base` is the target's commit before the merge."""
    started = time.monotonic()
    timeout = gate.timeout or DEFAULT_TIMEOUT_S
    env = {**env, "BR_CHECKPOINT_BASE": base, "BR_GATE": gate.name}
    coverage = floor = None
    if gate.kind == "command":
        r = _sh(gate.run or "true", tree, env, timeout)
    elif gate.kind == "scan":
        r = _sh([sys.executable, "-m", "engine.security", "--diff", base], tree, env, timeout)
        if gate.run:  # an extra command after the scan, e.g. a second scanner
            extra = _sh(gate.run, tree, env, timeout) if r.code == 0 else None
            r = extra or r
    elif gate.kind == "coverage":
        r, coverage, floor = _coverage(gate, tree, env, timeout, ratchet)
    elif gate.kind == "diff-cover":
        r = _diff_cover(gate, tree, env, timeout, base)
    else:  # the loader refuses other kinds
        r = _Run(2, f"unknown gate kind {gate.kind!r}")
    output = _cap(r.output)
    if on_line:
        for line in output.splitlines():
            on_line(line)
    return GateResult(
        gate.name,
        gate.kind,
        "passed" if r.code == 0 else "failed",
        r.code,
        output,
        round(time.monotonic() - started, 3),
        coverage,
        floor,
    )


def _coverage(
    gate: GateSpec, tree: Path, env: dict[str, str], timeout: float, ratchet: float | None
) -> tuple[_Run, float | None, float | None]:
    cov = _tool("coverage", "coverage")
    env = {**env, "COVERAGE_FILE": str(tree / ".coverage")}
    tests = _sh(gate.run or DEFAULT_COVERAGE_RUN, tree, env, timeout)
    if tests.code != 0:
        return _Run(tests.code, tests.output + "\n(the tests failed under coverage)"), None, None
    floor = max(gate.fail_under or 0.0, ratchet or 0.0)
    total = _sh([*cov, "report", "--format=total", "--precision=2"], tree, env, timeout)
    try:
        value = float(total.output.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return (
            _Run(2, tests.output + "\ncould not read the coverage total:\n" + total.output),
            None,
            floor,
        )
    _sh([*cov, "xml", "-q", "-o", str(tree / "coverage.xml")], tree, env, timeout)
    report = _sh([*cov, "report", "--precision=2", f"--fail-under={floor:.2f}"], tree, env, timeout)
    why = ""
    if report.code == 2:
        source = (
            "the last passing checkpoint's"
            if ratchet and ratchet >= (gate.fail_under or 0)
            else "fail_under"
        )
        why = f"\ncoverage {value:.2f}% is under {floor:.2f}% ({source})"
    return _Run(report.code, tests.output + "\n" + report.output + why), value, floor


def _diff_cover(gate: GateSpec, tree: Path, env: dict[str, str], timeout: float, base: str) -> _Run:
    pre = ""
    if gate.run:
        first = _sh(gate.run, tree, env, timeout)
        if first.code != 0:
            return _Run(first.code, first.output)
        pre = first.output + "\n"
    xml = tree / "coverage.xml"
    if not xml.exists():
        return _Run(
            2,
            pre + "no coverage.xml in the merged tree: put a coverage gate before this one,"
            " or give this gate a 'run' that writes coverage.xml",
        )
    argv = [*_tool("diff_cover.diff_cover_tool", "diff-cover"), str(xml),
            f"--compare-branch={base}", f"--fail-under={gate.fail_under or 0:g}"]  # fmt: skip
    r = _sh(argv, tree, {**env, "GIT_OPTIONAL_LOCKS": "0"}, timeout)
    return _Run(r.code, pre + r.output)


def gate_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE")
    }
    env.update(extra or {})
    return env

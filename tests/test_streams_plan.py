"""The plan's [[stream]], [[checkpoint]] and [[gate]] tables: parsed, and refused with file:line."""

from __future__ import annotations

import pytest

from engine.plan import CheckpointSpec, GateSpec, PlanError, StreamSpec, TaskSpec, parse_plan

GOOD = """\
[[stream]]
id = "api"
branch = "feature/api"
base = "main"
setup = "make deps"
include = [".env", "config/*.local"]

[[stream]]
id = "ui"

[[gate]]
name = "tests"
run = "pytest -q"

[[gate]]
name = "coverage"
kind = "coverage"
fail_under = 85

[[task]]
id = "base"
run = "echo"

[[task]]
id = "api-1"
stream = "api"
prompt = "append x to api.txt"
cwd = "src"
needs = ["base"]

[[checkpoint]]
id = "daily"
after = ["api-1"]
streams = ["api"]
strategy = "squash"
gates = ["tests"]

[[task]]
id = "after"
run = "true"
needs = ["daily"]
"""


def test_streams_checkpoints_and_gates_parse() -> None:
    plan = parse_plan(GOOD)
    assert plan.streams == [
        StreamSpec("api", "feature/api", "main", "make deps", (".env", "config/*.local"), 1),
        StreamSpec("ui", line=8),
    ]
    assert plan.gates == [
        GateSpec("tests", "command", "pytest -q", line=11),
        GateSpec("coverage", "coverage", None, 85.0, line=15),
    ]
    assert plan.checkpoints == [
        CheckpointSpec("daily", ("api-1",), ("api",), None, "squash", ("tests",), 31)
    ]
    task = plan.task("api-1")
    assert task.stream == "api" and task.cwd == "src"  # resolved in the worktree at run time
    cp_task = plan.task("daily")  # a checkpoint is a task others can need
    assert cp_task.needs == ("api-1",) and "engine.streams checkpoint" in (cp_task.run or "")
    assert plan.task("after").needs == ("daily",)
    config = plan.config["streams"]
    assert [s["id"] for s in config["streams"]] == ["api", "ui"]
    assert TaskSpec.from_json("api-1", task.to_json()) == task
    for spec in (*plan.streams,):
        assert StreamSpec.from_json(spec.to_json()) == spec
    for gate in plan.gates:
        assert GateSpec.from_json(gate.to_json()) == gate
    assert CheckpointSpec.from_json(plan.checkpoints[0].to_json()) == plan.checkpoints[0]


def test_a_plan_without_streams_has_no_streams_config() -> None:
    plan = parse_plan('[[task]]\nid = "a"\nrun = "true"\n')
    assert "streams" not in plan.config and plan.tasks[0].stream is None


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('stream = "api"', 'stream = "apx"', "unknown stream 'apx' (api, ui)"),
        ('id = "ui"', 'id = "api"', "duplicate stream id 'api' (first defined at line 1)"),
        ('id = "ui"', 'id = "u i"', "stream id 'u i'"),
        ('name = "coverage"', 'name = "tests"', "duplicate gate name 'tests' (first defined"),
        ('name = "coverage"', 'name = "a b"', "gate name 'a b': use letters"),
        ('branch = "feature/api"', 'branch = "bad..name"', "is not a branch name"),
        ('include = [".env"', 'include = ["../.env"', "must be relative and stay inside"),
        ('setup = "make deps"', 'setup = ""', "'setup' must be a non-empty string"),
        ('setup = "make deps"', 'setpu = "x"', "unknown key 'setpu' (did you mean 'setup'?)"),
        ('strategy = "squash"', 'strategy = "octopus"', "'strategy' must be one of"),
        ('after = ["api-1"]', 'after = ["api-2"]', "'after' names unknown task 'api-2'"),
        ('after = ["api-1"]', "after = []", "'after' names no task"),
        ('streams = ["api"]', 'streams = ["web"]', "unknown stream 'web'"),
        ('gates = ["tests"]', 'gates = ["lint"]', "unknown gate 'lint'"),
        ('id = "daily"', 'id = "base"', "id 'base' is already a task's id"),
        ('kind = "coverage"', 'kind = "mutation"', "'kind' must be one of"),
        ("fail_under = 85", "fail_under = 185", "'fail_under' must be a number 0-100"),
        ('run = "pytest -q"', 'runn = "pytest -q"', "unknown key 'runn'"),
        ('cwd = "src"', 'cwd = "../elsewhere"', "a stream task's 'cwd' must stay inside"),
    ],
)
def test_errors_name_the_line(old: str, new: str, message: str) -> None:
    assert old in GOOD
    line = GOOD.count("\n", 0, GOOD.index(old)) + 1  # the line the mistake is on
    text = GOOD.replace(old, new, 1)
    with pytest.raises(PlanError) as err:
        parse_plan(text, "plan.toml")
    assert err.value.line == line, str(err.value)
    assert message in err.value.message


def test_a_command_gate_needs_run_and_checkpoints_need_streams() -> None:
    with pytest.raises(PlanError, match="a command gate needs 'run'") as err:
        parse_plan(GOOD.replace('run = "pytest -q"\n', ""), "plan.toml")
    assert err.value.line == 11
    no_streams = '[[task]]\nid = "a"\nrun = "x"\n[[checkpoint]]\nafter = ["a"]\n'
    with pytest.raises(PlanError, match="need at least one") as err:
        parse_plan(no_streams, "plan.toml")
    assert err.value.line == 4


def test_a_cycle_through_a_checkpoint_names_its_line() -> None:
    text = GOOD.replace('needs = ["base"]', 'needs = ["base", "after"]')
    with pytest.raises(PlanError, match="dependency cycle") as err:
        parse_plan(text, "plan.toml")
    assert err.value.line == GOOD.count("\n", 0, GOOD.index('needs = ["base"]')) + 1

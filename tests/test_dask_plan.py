"""The plan side of scale-out: the [executor] table, `--dask` values and per-task resources."""

from __future__ import annotations

import json

import pytest

from engine.plan import PlanError, TaskSpec, parse_plan
from engine.plan.executor import ExecutorTableError, dask_target, local_workers

TASK = '[[task]]\nid = "a"\nrun = "true"\n'


def test_executor_table_goes_into_the_session_config() -> None:
    plan = parse_plan(
        '[executor]\nkind = "dask"\naddress = "tcp://10.0.0.5:8786"\nconnect_timeout = 3\n' + TASK
    )
    assert plan.executor == {"kind": "dask", "address": "tcp://10.0.0.5:8786",
                             "connect_timeout": 3.0}  # fmt: skip
    assert plan.config["executor"] == plan.executor
    assert "executor" not in parse_plan(TASK).config  # a local plan's config is as before
    assert parse_plan('[executor]\nkind = "local"\n' + TASK).executor == {}


@pytest.mark.parametrize(
    ("table", "message", "line"),
    [
        ('kind = "ray"', "'kind' must be one of local, dask", 2),
        ('kind = "dask"', "needs an 'address'", 1),
        ('kind = "dask"\naddress = "nowhere"', "is not a scheduler address", 3),
        ('kind = "dask"\naddress = "local:0"', "N of at least 1", 3),
        ('kind = "local"\naddress = "tcp://h:1"', "'address' needs kind", 3),
        ('kind = "dask"\naddres = "tcp://h:1"', "unknown key 'addres'", 3),
        ('kind = "dask"\naddress = "local"\nconnect_timeout = 0', "'connect_timeout' must", 4),
    ],
)
def test_bad_executor_tables_name_the_line(table: str, message: str, line: int) -> None:
    with pytest.raises(PlanError) as err:
        parse_plan(f"[executor]\n{table}\n" + TASK, "p.toml")
    assert message in str(err.value)
    assert err.value.line == line


def test_dask_targets() -> None:
    assert dask_target("local:3") == {"kind": "dask", "address": "local:3"}
    assert dask_target("127.0.0.1:8786")["address"] == "127.0.0.1:8786"
    assert dask_target("tls://sched.example.org:8786")["address"].startswith("tls://")
    assert local_workers("local") == 0 and local_workers("local:3") == 3
    assert local_workers("tcp://h:1") is None
    with pytest.raises(ExecutorTableError):
        dask_target("tcp://no-port")


def test_resources_per_task_and_from_defaults_survive_storage() -> None:
    plan = parse_plan(
        "[defaults]\nresources = { slot = 1 }\n"
        '[[task]]\nid = "a"\nrun = "true"\nresources = { gpu = 2, mem = 0.5 }\n'
        '[[task]]\nid = "b"\nrun = "true"\n'
    )
    a, b = plan.tasks
    assert a.resources == {"gpu": 2.0, "mem": 0.5} and b.resources == {"slot": 1.0}
    stored = json.loads(json.dumps(a.to_json()))
    assert TaskSpec.from_json("a", stored).resources == a.resources
    assert "resources" not in parse_plan(TASK).tasks[0].to_json()  # defaults left out


@pytest.mark.parametrize(
    "value", ["{ gpu = 0 }", "{ gpu = -1 }", '{ gpu = "one" }', "{ gpu = true }"]
)
def test_bad_resources(value: str) -> None:
    with pytest.raises(PlanError, match="'resources' values must be positive numbers"):
        parse_plan(f'[[task]]\nid = "a"\nrun = "true"\nresources = {value}\n')

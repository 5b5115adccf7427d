"""Plan files: what loads, and errors that name the file and the line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from engine_helpers import br, query, write_plan

from engine.plan import PlanError, load_plan, parse_plan

GOOD = """\
name = "p"
[defaults]
timeout = 5
retries = 1
env = { A = "1" }

[[task]]
id = "a"
run = "echo a"
env = { B = "2" }

[[task]]
id = "b"
prompt = "fix the bug"
needs = ["a"]
files = ["src/**/*.py"]
priority = 3
model = "claude-haiku-4-5"
complexity = "simple"
"""


def test_good_plan_applies_defaults(tmp_path: Path) -> None:
    plan = load_plan(write_plan(tmp_path / "p.toml", GOOD))
    a, b = plan.tasks
    assert (a.timeout, a.retries, a.env) == (5.0, 1, {"A": "1", "B": "2"})
    assert a.cwd == str(tmp_path.resolve())
    assert (b.kind, b.needs, b.files, b.priority) == ("agent", ("a",), ("src/**/*.py",), 3)
    assert (b.model, b.complexity) == ("claude-haiku-4-5", "simple")


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (
            '[[task]]\nid = "a"\nrun = "x"\n[[task]]\nid = "b"\nrun = "y"\nneeds = ["zz"]\n',
            7,
            "needs unknown task 'zz'",
        ),
        (
            '[[task]]\nid = "a"\nrun = "x"\nneeds = ["b"]\n[[task]]\nid = "b"\nrun = "y"\n'
            'needs = ["a"]\n',
            4,
            "dependency cycle: a -> b -> a",
        ),
        (
            '[[task]]\nid = "a"\nrun = "x"\n\n[[task]]\nid = "a"\nrun = "y"\n',
            6,
            "duplicate task id 'a'",
        ),
        ('[[task]]\nid = "a"\nrnu = "x"\n', 3, "unknown key 'rnu' (did you mean 'run'?)"),
        ('[[task]]\nid = "a"\n', 1, "give exactly one of 'run' or 'prompt'"),
        ('[[task]]\nid = "a"\nrun = "x"\ntimeout = "soon"\n', 4, "'timeout' must be a number"),
        ('[[task]]\nid = "a"\nrun = "x"\nfiles = ["../etc/*"]\n', 4, "must be relative"),
        ('name = "x"\n[[task]]\nid = "a"\nrun = = "x"\n', 4, "invalid TOML"),
        ('[[task]]\nid = "a"\nrun = "x"\n[budget]\nsession_usd = -1\n', 5, "must be >= 0"),
    ],
)
def test_errors_name_the_line(text: str, line: int, message: str) -> None:
    with pytest.raises(PlanError) as err:
        parse_plan(text, "plan.toml")
    assert err.value.line == line, str(err.value)
    assert message in str(err.value)
    assert str(err.value).startswith(f"plan.toml:{line}: ")


def test_long_chain_cycle_is_found_without_recursion() -> None:
    n = 5000
    text = "".join(
        f'[[task]]\nid = "t{i}"\nrun = "true"\nneeds = ["t{(i + 1) % n}"]\n' for i in range(n)
    )
    with pytest.raises(PlanError, match="dependency cycle"):
        parse_plan(text)


def test_binary_and_missing_files(tmp_path: Path) -> None:
    (tmp_path / "bin.toml").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(PlanError, match="not a text file"):
        load_plan(tmp_path / "bin.toml")
    with pytest.raises(PlanError, match="no such plan file"):
        load_plan(tmp_path / "missing.toml")


def test_broken_plan_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "br.db"
    ok = br("run", str(write_plan(tmp_path / "ok.toml", '[[task]]\nid="a"\nrun="true"\n')), db=db)
    assert ok.returncode == 0, ok.stderr
    bad = write_plan(tmp_path / "bad.toml", '[[task]]\nid = "a"\nrun = "x"\nneeds = ["nope"]\n')
    out = br("run", str(bad), db=db)
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0  # one line
    assert f"{bad}:4: task a: needs unknown task 'nope'" in out.stderr
    assert len(query(db, "SELECT * FROM sessions")) == 1  # nothing new written, nothing lost


def test_each_task_records_the_line_of_its_header() -> None:
    text = (
        'name = "x"\r\n[[task]]\r\nid = "a"\r\nrun = "true"\r\n\r\n'
        '  [[ task ]]  # the second\r\nid = "b"\r\nprompt = """\r\n[[task]] in a prompt\r\n"""\r\n'
        '[[task]]\nid = "c"\nrun = "true"\n'
    )
    plan = parse_plan(text, "plan.toml")
    # a header inside a multi-line string is not a task (the parser says 3 tasks)
    assert [t.id for t in plan.tasks] == ["a", "b", "c"]
    assert [t.line for t in plan.tasks][:2] == [2, 6]


def test_stored_spec_leaves_out_defaults_and_reads_back_equal() -> None:
    """A spec round-trips through its stored JSON, with keys at their defaults left out."""
    from engine.plan.model import TaskSpec

    plan = parse_plan(
        '[[task]]\nid = "plain"\nrun = "true"\n'
        '[[task]]\nid = "full"\nrun = "make"\nneeds = ["plain"]\nfiles = ["src/**"]\n'
        'timeout = 5\nretries = 2\nretry_delay = 0.5\nenv = { A = "1" }\ncwd = "sub"\n'
        "priority = 3\n"
        '[[task]]\nid = "agent"\nprompt = "fix it"\nmodel = "m"\ncomplexity = "complex"\n'
    )
    stored = {t.id: json.loads(json.dumps(t.to_json())) for t in plan.tasks}
    assert set(stored["plain"]) == {"run", "cwd", "line"}
    assert set(stored["full"]) == {"run", "needs", "files", "timeout", "retries", "retry_delay",
                                   "env", "cwd", "priority", "line"}  # fmt: skip
    assert [TaskSpec.from_json(t.id, stored[t.id]) for t in plan.tasks] == plan.tasks

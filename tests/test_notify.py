"""Notifications: once per transition, never per task; the command runs without a shell, with
its placeholders filled and masked; the app shows a toast; a bad `[notify]` never stops a run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from engine.notify import NotifyConfigError, Seen, describe, parse
from engine.notify.channels import fill, run_command
from engine.notify.notices import Notice
from tests.test_telemetry_masking import CORE, SECRET

ROOT = Path(__file__).resolve().parent.parent
RECORDER = "import json, sys; open(sys.argv[1], 'a').write(json.dumps(sys.argv[2:]) + '\\n')"

FAILING = """
name = "nightly {secret}"
workers = 3

[[task]]
id = "a"
run = "echo a; exit 3"

[[task]]
id = "b"
run = "echo b; exit 4"

[[task]]
id = "c"
run = "echo c; exit 5"

[[task]]
id = "d"
run = "echo d"

[[task]]
id = "after-a"
run = "echo never"
needs = ["a"]
"""


def notify_toml(out: Path, events: list[str], extra: str = "") -> str:
    command = [sys.executable, "-c", RECORDER, str(out),
               "{session}", "{event}", "{status}", "{summary}", "{name}"]  # fmt: skip
    return f"[notify]\nevents = {json.dumps(events)}\ncommand = {json.dumps(command)}\n{extra}"


def recorded(out: Path) -> list[list[str]]:
    if not out.exists():
        return []
    return [json.loads(line) for line in out.read_text().splitlines()]


def run_br(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "br_tui", *args],
        cwd=cwd, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
        env={**__import__("os").environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip


# -- config ----------------------------------------------------------------------------------


def test_defaults_and_a_full_table() -> None:
    default = parse({})
    assert "session_failed" in default.kinds and "session_cancelled" not in default.kinds
    assert default.toast and not default.bell and not default.desktop and not default.command
    conf = parse({"events": ["budget_stop"], "bell": True, "command": "notify-me '{summary}' x",
                  "timeout_s": 3})  # fmt: skip
    assert conf.types == {"budget.exceeded"} and conf.bell
    assert conf.command == ("notify-me", "{summary}", "x") and conf.timeout_s == 3.0


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"event": ["session_failed"]}, "unknown key 'event'"),
        ({"events": ["session_fail"]}, "unknown event 'session_fail'"),
        ({"events": "session_failed"}, "events must be a list"),
        ({"bell": "yes"}, "bell must be true or false"),
        ({"command": 3}, "command must be a list"),
        ({"command": "x 'unclosed"}, "command:"),
        ({"timeout_s": 0}, "timeout_s must be"),
        ({"timeout_s": True}, "timeout_s must be"),
    ],
)
def test_bad_tables_say_what_is_wrong(table: dict[str, Any], message: str) -> None:
    with pytest.raises(NotifyConfigError, match=message):
        parse(table)


# -- channels --------------------------------------------------------------------------------


def notice(summary: str = "2 failed") -> Notice:
    return Notice("session_failed", "s1", "nightly", "failed", summary, "error")


def test_placeholders_fill_arguments_without_a_shell(tmp_path: Path) -> None:
    hostile = "it's; rm -rf / $(id) {name} {0} {session.__class__}"  # stays text
    argv = fill(["x", "{session}:{event}", "{summary}", "{status}{nope}"], notice(hostile))
    assert argv == ["x", "s1:session_failed", hostile, "failed{nope}"]
    out = tmp_path / "args.jsonl"
    assert run_command([sys.executable, "-c", RECORDER, str(out), *argv[1:]], 10) is None
    assert recorded(out) == [argv[1:]]  # one argument each, exactly as given


def test_a_command_that_hangs_is_killed_and_one_that_fails_is_reported() -> None:
    assert run_command(["sleep", "30"], 0.2) == "sleep: killed after 0.2s"
    failed = run_command([sys.executable, "-c", "import sys; sys.exit('no route')"], 10)
    assert failed is not None and failed.startswith(sys.executable) and "exit 1 no route" in failed
    missing = run_command(["/nonexistent/notify"], 10)
    assert missing is not None and "No such file" in missing


def test_budget_stops_are_told_once_per_session_and_budget() -> None:
    seen = Seen()
    data = {"budget": "daily", "spent_usd": 5.0, "limit_usd": 5.0}
    assert seen.first("budget_stop", "s1", data)
    assert not seen.first("budget_stop", "s1", data)  # the next refused task
    assert seen.first("budget_stop", "s1", {**data, "budget": "session"})
    assert seen.first("budget_stop", "s2", data)
    assert seen.first("session_failed", "s1", {}) and not seen.first("session_failed", "s1", {})
    assert seen.first("alert_raised", None, {}) and seen.first("alert_raised", None, {})


def test_notices_are_masked() -> None:
    class Db:
        def query(self, sql: str, params: Any = ()) -> list[dict[str, Any]]:
            return [{"id": "s1", "name": f"deploy {SECRET}", "status": "failed", "reason": None,
                     "total": 3, "succeeded": 1, "failed": 2, "cancelled": 0}]  # fmt: skip

    n = describe(
        Db(), "alert_raised", "s1", {"message": f"token {SECRET} leaked", "level": "error"}
    )
    assert CORE not in n.summary and CORE not in n.name and CORE not in n.title
    assert n.severity == "error" and n.status == "error"
    f = describe(Db(), "session_failed", "s1", {})
    assert f.summary == "1 succeeded, 2 failed, 0 cancelled of 3" and f.status == "failed"


# -- end to end: a real run ------------------------------------------------------------------


def test_a_failed_session_runs_the_command_once_not_per_task(tmp_path: Path) -> None:
    out = tmp_path / "notified.jsonl"
    (tmp_path / "br-tui.toml").write_text(
        notify_toml(out, ["session_failed", "session_finished", "session_cancelled"])
    )
    (tmp_path / "plan.toml").write_text(FAILING.replace("{secret}", SECRET))
    done = run_br("run", "plan.toml", "--json", "--db", "br.db", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    session = json.loads(done.stdout)["session_id"]
    calls = recorded(out)
    assert len(calls) == 1, calls  # three tasks failed, one was cancelled: one notice
    sid, event, status, summary, name = calls[0]
    assert (sid, event, status) == (session, "session_failed", "failed")
    assert summary == "1 succeeded, 3 failed, 1 cancelled of 5"
    assert name.startswith("nightly ") and CORE not in name  # masked like everything else
    assert "notify" not in done.stderr


def test_a_bad_notify_table_warns_and_the_run_goes_on(tmp_path: Path) -> None:
    (tmp_path / "br-tui.toml").write_text('[notify]\nevents = ["session_fail"]\n')
    (tmp_path / "plan.toml").write_text('name = "ok"\n[[task]]\nid = "t"\nrun = "true"\n')
    done = run_br("run", "plan.toml", "--db", "br.db", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "unknown event 'session_fail'" in done.stderr
    assert "notifications are off for this run" in done.stderr


# -- the app ---------------------------------------------------------------------------------


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="background owners")
async def test_the_app_toasts_once_and_the_owner_runs_the_command_once(
    make_app: Any, project: Path
) -> None:
    from engine import clock
    from tests.test_app_control import status, wait_for

    out = project / "notified.jsonl"
    (project / "br-tui.toml").write_text(notify_toml(out, ["session_failed", "session_finished"]))
    plan = project / "failing.toml"
    plan.write_text(FAILING.replace("{secret}", "x"))
    app = make_app(db="live.db", clock=clock.system)
    async with app.run_test(size=(120, 40)) as pilot:
        sid = app.host.start_plan(plan)
        app.started.append(sid)
        await wait_for(pilot, lambda: status(app, sid) == "failed", timeout=60)

        def toasts() -> list[Any]:
            return [n for n in app._notifications if "session failed" in (n.title or "")]

        await wait_for(pilot, toasts)
        await wait_for(pilot, lambda: recorded(out), timeout=20)  # the owner's, not the app's
        await pilot.pause(0.5)  # anything else the reader thread would still hand over
        assert len(toasts()) == 1
        assert toasts()[0].severity == "error"
        assert "3 failed" in str(toasts()[0].message) and sid in toasts()[0].title
        assert [c[:3] for c in recorded(out)] == [[sid, "session_failed", "failed"]]


async def test_a_bad_notify_table_is_a_warning_in_the_app(make_app: Any, project: Path) -> None:
    (project / "br-tui.toml").write_text("[notify]\ntoast = 1\n")
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        msgs = [str(n.message) for n in app._notifications if n.severity == "warning"]
        assert any("toast must be true or false" in m for m in msgs)
        assert type(app.screen).__name__ == "SessionsScreen"


# -- more channels ---------------------------------------------------------------------------


class _NoRows:
    def query(self, sql: str, params: Any = ()) -> list[dict[str, Any]]:
        return []


def test_budget_and_checkpoint_notices_say_what_happened() -> None:
    data = {"budget": "daily", "spent_usd": 5.004, "limit_usd": 5, "state": "exhausted"}
    b = describe(_NoRows(), "budget_stop", "s1", data)
    assert b.summary == "daily budget exhausted ($5.00 of $5.00); agent tasks stopped"
    assert (b.status, b.severity, b.title) == ("exhausted", "error", "br-tui: s1 budget stop")
    c = describe(_NoRows(), "checkpoint_failed", "s1", {"message": "conflict in\n  src/a.py"})
    assert c.summary == "conflict in src/a.py" and c.status == "failed"


def test_desktop_notifications_go_through_notify_send(tmp_path: Path) -> None:
    from engine.notify.channels import desktop

    out = tmp_path / "desktop.jsonl"
    fake = tmp_path / "notify-send"
    fake.write_text(f"#!{sys.executable}\n{RECORDER.replace('sys.argv[1]', repr(str(out)))}\n")
    fake.chmod(0o755)
    # the recorder writes argv[2:]: everything after the first argument
    assert (
        desktop(notice(), which=lambda name: str(fake) if name == "notify-send" else None) is None
    )
    assert recorded(out) == [
        ["--urgency=critical", "br-tui: nightly (s1) session failed", "2 failed"]
    ]
    assert desktop(notice(), which=lambda name: None) is None  # not installed: nothing, quietly


def test_the_owner_rings_the_bell_only_when_asked_and_on_a_terminal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from engine.notify import Notifier

    Notifier(None, parse({"bell": True}), bell=True).deliver(notice())  # type: ignore[arg-type]
    assert capsys.readouterr().err == "\a"
    Notifier(None, parse({"bell": True}), bell=False).deliver(notice())  # type: ignore[arg-type]
    Notifier(None, parse({"bell": False}), bell=True).deliver(notice())  # type: ignore[arg-type]
    assert capsys.readouterr().err == ""


def test_a_budget_stop_is_told_once_though_every_later_agent_task_is_refused(
    tmp_path: Path,
) -> None:
    fake = ROOT / "tests" / "standins" / "fake_claude.py"
    tasks = "".join(
        f'\n[[task]]\nid = "t{i}"\nprompt = "Fix the typo number {i} in the README."\n'
        for i in range(5)
    )
    (tmp_path / "plan.toml").write_text(
        'name = "agents"\nworkers = 1\n[agent]\nbackend = "command"\n'
        f'command = "{sys.executable} {fake} -p {{prompt}} --model {{model}}'
        ' --output-format json"\n'
        f"[budget]\nsession_usd = 0.000001\n{tasks}"
    )
    out = tmp_path / "notified.jsonl"
    (tmp_path / "br-tui.toml").write_text(notify_toml(out, ["budget_stop", "session_failed"]))
    done = run_br("run", "plan.toml", "--json", "--db", "br.db", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    refused = json.loads(done.stdout)
    assert refused["cancelled"] >= 3  # each of them was a budget refusal: one notice
    calls = [c[1:3] for c in recorded(out)]
    assert calls == [["budget_stop", "exhausted"], ["session_failed", "failed"]], (calls, refused)
    assert "session budget exhausted" in recorded(out)[0][3]

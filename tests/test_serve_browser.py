"""`br-tui serve` in a real browser: Debian's Chromium, headless, driven through chromedriver.

The served page draws the app with xterm.js on a canvas, so its text isn't in the DOM. A script
installed before the page's own reads the terminal xterm.js keeps: the page assigns
`this.terminal = new Terminal(...)`, and a setter for `terminal` on Object.prototype sees that
assignment once, keeps the terminal in `window.__brTerminals` and steps out of the way. The test
then reads the very lines xterm.js draws.

Without the token the server answers 403 and starts no app process (the server's children in
/proc stay empty); with it, the page shows the Sessions screen, and `2` shows Workers.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

#: Runs before the page's scripts: catch the xterm.js Terminal the page creates.
CATCH_TERMINAL = """
window.__brTerminals = [];
Object.defineProperty(Object.prototype, 'terminal', {
  configurable: true,
  set(value) {
    Object.defineProperty(this, 'terminal', {value, writable: true, configurable: true,
                                             enumerable: true});
    if (value && value.buffer) window.__brTerminals.push(value);
  },
});
"""

SCREEN_TEXT = """
const t = window.__brTerminals[0];
if (!t) return '';
const b = t.buffer.active, out = [];
for (let y = 0; y < t.rows; y++) {
  const line = b.getLine(b.viewportY + y);
  out.push(line ? line.translateToString(true) : '');
}
return out.join('\\n');
"""


def _need_browser() -> None:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("selenium (pip install -e '.[dev]')")
    if missing:
        message = f"needs {', '.join(missing)} (apt-get install chromium chromium-driver)"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI installs them (.ci/run): missing there is a failure
        pytest.skip(message)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        out += [int(x) for x in text]
    return out


def wait_until(pred, timeout: float = 30.0, what: str = "") -> object:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}; last: {value!r}")


def status_of(url: str, headers: dict[str, str] | None = None) -> int:
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


class Served:
    def __init__(self, proc: subprocess.Popen[str], url: str, port: int) -> None:
        self.proc, self.url, self.port = proc, url, port
        self.base = f"http://127.0.0.1:{port}"
        self.token = url.split("token=", 1)[1]


@pytest.fixture
def served(project: Path) -> Iterator[Served]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TEXTUAL_ANIMATIONS": "none"}
    env.pop("BR_DB", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "br_tui", "serve", "--port", str(port),
         "--db", str(project / ".buildrunner" / "br.db"), "--theme", "textual-dark"],
        cwd=project, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True, env=env,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert "token=" in first, first
        url = first.split(" at ", 1)[1].strip()
        yield Served(proc, url, port)
    finally:
        stop_group(proc)


def stop_group(proc: subprocess.Popen[str]) -> None:
    """SIGTERM the server's process group (it ends its app processes), SIGKILL what's left."""
    for sig, wait in ((signal.SIGTERM, 15.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(wait)
        except subprocess.TimeoutExpired:
            continue
    if proc.stdout is not None:
        proc.stdout.close()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[object]:
    _need_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in (
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
        "--disable-dev-shm-usage", "--window-size=1280,800",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):  # fmt: skip
        opts.add_argument(flag)
    driver = webdriver.Chrome(options=opts, service=Service(CHROMEDRIVER))
    try:
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": CATCH_TERMINAL})
        yield driver
    finally:
        driver.quit()


def test_without_the_token_403_and_no_app_process(served: Served) -> None:
    base = served.base
    upgrade = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
               "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}  # fmt: skip
    assert status_of(f"{base}/") == 403
    assert status_of(f"{base}/?token=wrong") == 403
    assert status_of(f"{base}/ws?width=80&height=24", upgrade) == 403
    assert status_of(f"{base}/ws", {**upgrade, "Cookie": f"br_tui_{served.port}=wrong"}) == 403
    assert status_of(f"{base}/metrics") == 403
    assert status_of(f"{base}/static/js/textual.js") == 403
    assert children(served.proc.pid) == []  # nothing was started for any of them
    # the same token as a bearer header lets a scraper in (and starts no app either)
    ok = {"Authorization": f"Bearer {served.token}"}
    assert status_of(f"{base}/metrics", ok) == 200
    with urllib.request.urlopen(urllib.request.Request(f"{base}/metrics", headers=ok)) as resp:
        from prometheus_client.parser import text_string_to_metric_families

        names = {f.name for f in text_string_to_metric_families(resp.read().decode())}
    assert {"br_sessions", "br_task_outcomes", "br_task_latency_seconds"} <= names
    assert children(served.proc.pid) == []
    # a websocket with the right cookie from another site's page is refused too
    cross = {**upgrade, "Cookie": f"br_tui_{served.port}={served.token}",
             "Origin": "http://evil.example"}  # fmt: skip
    assert status_of(f"{base}/ws", cross) == 403
    assert children(served.proc.pid) == []


def test_with_the_token_the_browser_shows_sessions_then_workers(
    served: Served, browser: object, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    driver = browser
    driver.get(served.url)  # type: ignore[attr-defined]
    # the token set a cookie and was dropped from the address bar
    wait_until(lambda: driver.current_url.rstrip("/") == served.base, 10, "redirect")  # type: ignore[attr-defined]

    def screen() -> str:
        return str(driver.execute_script(SCREEN_TEXT))  # type: ignore[attr-defined]

    text = wait_until(lambda: "release-build" in screen() and screen(), 60, "the Sessions screen")
    assert "SESSION" in str(text) and "STATUS" in str(text)
    assert "CURRENT TASK" not in str(text)  # a Workers column header
    assert len(children(served.proc.pid)) == 1  # one app process, for this browser

    keys = driver.find_element(By.CSS_SELECTOR, ".xterm-helper-textarea")  # type: ignore[attr-defined]
    keys.send_keys("2")
    text = wait_until(lambda: "CURRENT TASK" in screen() and screen(), 30, "the Workers screen")
    assert "WORKER" in str(text) and "compile:core" in str(text)

    shot = tmp_path / "serve.png"
    driver.save_screenshot(str(shot))  # type: ignore[attr-defined]
    assert shot.stat().st_size > 10_000
    if os.environ.get("BR_UPDATE_DOCS"):  # refresh docs/serve.png from a real run
        keys.send_keys("1")
        wait_until(lambda: "release-build" in screen(), 30, "Sessions again")
        time.sleep(0.5)  # let the canvas finish drawing before the picture
        driver.save_screenshot(str(ROOT / "docs" / "serve.png"))  # type: ignore[attr-defined]


def test_closing_the_tab_leaves_the_sessions_it_started_running(
    served: Served, browser: object, project: Path
) -> None:
    """A tab closed (or reloaded) ends its app process; the session started there carries on
    in its background owner, where a terminal app dying would pause it."""
    import sqlite3

    from selenium.webdriver.common.by import By

    (project / "naps.toml").write_text('name = "naps"\n[[task]]\nid = "nap"\nrun = "sleep 30"\n')
    db = project / ".buildrunner" / "br.db"

    def newest() -> tuple[str, str] | None:
        with sqlite3.connect(db) as conn:
            row = conn.execute(
                "SELECT id, status FROM sessions WHERE name = 'naps' ORDER BY created_at DESC"
            ).fetchone()
        return (row[0], row[1]) if row else None

    driver = browser
    driver.get(served.url)  # type: ignore[attr-defined]
    wait_until(
        lambda: "release-build" in str(driver.execute_script(SCREEN_TEXT)),  # type: ignore[attr-defined]
        60,
        "the Sessions screen",
    )
    keys = driver.find_element(By.CSS_SELECTOR, ".xterm-helper-textarea")  # type: ignore[attr-defined]
    keys.send_keys("n")
    wait_until(lambda: "New session" in str(driver.execute_script(SCREEN_TEXT)), 30, "the dialog")  # type: ignore[attr-defined]
    keys.send_keys("naps.toml\n")
    sid, _ = wait_until(lambda: (n := newest()) and n[1] == "running" and n, 60, "naps running")  # type: ignore[misc]
    app_pids = children(served.proc.pid)
    assert len(app_pids) == 1
    driver.quit()  # type: ignore[attr-defined]  # the tab goes away
    wait_until(lambda: not Path(f"/proc/{app_pids[0]}").exists(), 30, "the tab's app to end")
    try:
        assert newest() == (sid, "running")  # not paused: its owner carries on
    finally:
        subprocess.run(
            [sys.executable, "-m", "br_tui", "cancel", sid, "--db", str(db)],
            cwd=project, capture_output=True, timeout=60,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )  # fmt: skip

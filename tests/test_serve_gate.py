"""`br-tui serve`'s guards without a browser: where it may bind, and the token gate itself
(driven through aiohttp's test client against the real server object)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from br_tui.serve import app_command, is_loopback, main
from tests.test_serve_browser import ROOT, children, free_port, status_of, stop_group


@pytest.mark.parametrize("host", ["127.0.0.1", "127.9.9.9", "::1", "[::1]", "localhost"])
def test_loopback_hosts(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize(
    "host", ["0.0.0.0", "::", "10.1.2.3", "192.168.0.1", "no-such-host.invalid"]
)
def test_other_hosts_are_not_loopback(host: str) -> None:
    assert not is_loopback(host)


def test_a_reachable_host_needs_allow_remote(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--host", "0.0.0.0"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--allow-remote" in err and "token is still required" in err and "\n" not in err


@pytest.mark.parametrize("port", ["0", "70000"])
def test_bad_ports(port: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--port", port]) == 2
    assert "--port must be between 1 and 65535" in capsys.readouterr().err


def test_the_app_command_keeps_paths_with_spaces_whole(tmp_path: Path) -> None:
    cmd = app_command(tmp_path / "my db" / "br.db", "nord")
    assert f"'--db={tmp_path}/my db/br.db'" in cmd and cmd.endswith("--theme=nord")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_allow_remote_still_needs_the_token(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "br_tui", "serve", "--host", "0.0.0.0", "--allow-remote",
         "--port", str(port), "--db", str(tmp_path / "br.db")],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "?token=" in line, line
        token = line.rsplit("token=", 1)[1].strip()
        base = f"http://127.0.0.1:{port}"
        assert status_of(f"{base}/") == 403
        assert status_of(f"{base}/metrics") == 403
        assert status_of(f"{base}/metrics?token={token}") == 200
        assert children(proc.pid) == []
    finally:
        stop_group(proc)
    assert proc.returncode in (0, -signal.SIGTERM)


async def test_the_gate_sets_a_cookie_then_lets_the_page_in(tmp_path: Path) -> None:
    from aiohttp.test_utils import TestClient, TestServer

    from br_tui.serve import make_server
    from engine.store import open_db

    open_db(tmp_path / "br.db").close()
    server = make_server(tmp_path / "br.db", host="127.0.0.1", port=8080, token="t0k3n")
    async with TestClient(TestServer(await server._make_app())) as client:
        r = await client.get("/?token=t0k3n&fontsize=20", allow_redirects=False)
        assert r.status == 303 and r.headers["Location"] == "/?fontsize=20"
        cookie = r.cookies["br_tui_8080"]
        assert cookie.value == "t0k3n" and cookie["httponly"] and cookie["samesite"] == "Strict"
        page = await client.get("/?fontsize=20")  # the cookie jar now carries it
        assert page.status == 200
        html = await page.text()
        host = f"{client.host}:{client.port}"
        assert f'data-session-websocket-url="ws://{host}/ws"' in html
        assert 'data-font-size="20"' in html and "t0k3n" not in html
        client.session.cookie_jar.clear()
        assert (await client.get("/")).status == 403
        assert (await client.get("/", headers={"Authorization": "Bearer t0k3n"})).status == 200
        assert (await client.get("/", headers={"Authorization": "Bearer nope"})).status == 403
    assert server.gate.denied == 2


async def test_behind_a_tls_proxy_the_cookie_is_secure_and_urls_use_the_proxy(
    tmp_path: Path,
) -> None:
    from aiohttp.test_utils import TestClient, TestServer

    from br_tui.serve import make_server
    from engine.store import open_db

    open_db(tmp_path / "br.db").close()
    server = make_server(
        tmp_path / "br.db", host="127.0.0.1", port=8080, token="t0k3n",
        public_url="https://ci.example/br",
    )  # fmt: skip
    async with TestClient(TestServer(await server._make_app())) as client:
        r = await client.get("/?token=t0k3n", allow_redirects=False)
        assert r.status == 303 and r.headers["Location"] == "/br/"
        assert r.cookies["br_tui_8080"]["secure"]
        page = await client.get("/", headers={"Authorization": "Bearer t0k3n"})
        html = await page.text()
        assert 'data-session-websocket-url="wss://ci.example/br/ws"' in html
        assert "https://ci.example/br/static/js/textual.js" in html
        ws = await client.get("/ws", headers={"Authorization": "Bearer nope"})
        assert ws.status == 403
    assert server.url == "https://ci.example/br/?token=t0k3n"

"""`br-tui serve`: the app in a browser (textual-serve), behind a token.

textual-serve starts one app process per browser connection and has no authentication of its
own, and the app can start plans, which run commands: whoever reaches the port could run
anything as this user. So every request passes `TokenGate` first: a random token made at start
and printed once, as a URL; the first visit with it sets a cookie (HttpOnly, SameSite=Strict,
named after the port, since cookies don't tell ports apart) and redirects to a URL without the
token, so it isn't left in the address bar or in a Referer. Anything else gets 403 before a
handler runs, so no app process starts. The websocket that drives the app also has to come
from the page's own origin. The access log is off: request lines would carry the token.

The server binds to loopback unless `--allow-remote` is given (the token is still required);
`/metrics` answers Prometheus / OpenMetrics scrapes behind the same token (a cookie, `?token=`,
or `Authorization: Bearer TOKEN`).
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import ipaddress
import logging
import os
import secrets
import shlex
import signal
import socket
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

EXIT_OK, EXIT_USAGE = 0, 2
log = logging.getLogger("br-tui.serve")


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, like every other verb
        raise UsageError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="br-tui serve", description="The app in a browser, behind a token.")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    p.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a --host other machines can reach (the token is still required)",
    )
    p.add_argument("--public-url", help="the URL users open, when behind a proxy (https://...)")
    p.add_argument("--db", help="database path (default $BR_DB or ./.buildrunner/br.db)")
    p.add_argument("--theme", help="a Textual theme name for the served app")
    return p


# -- who may bind where ------------------------------------------------------------------------


def is_loopback(host: str) -> bool:
    """True when every address `host` names is a loopback address (127/8, ::1)."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except socket.gaierror:
        return False
    return bool(infos) and all(
        ipaddress.ip_address(str(info[4][0]).split("%")[0]).is_loopback for info in infos
    )


def base_url(host: str, port: int, public_url: str | None = None) -> str:
    if public_url:
        return public_url.rstrip("/")
    if host in ("", "0.0.0.0", "::"):
        host = socket.getfqdn()
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


# -- the gate ----------------------------------------------------------------------------------


class TokenGate:
    """Lets a request through with the token (query, cookie or bearer header); 403 otherwise.

    `denied` counts refusals, for the log line and for tests."""

    def __init__(self, token: str, port: int, *, secure: bool = False) -> None:
        self.token = token
        self.cookie = f"br_tui_{port}"
        self.secure = secure
        self.denied = 0

    def matches(self, given: str | None) -> bool:
        return bool(given) and hmac.compare_digest(str(given).encode(), self.token.encode())

    def _bearer(self, request: Any) -> str | None:
        auth = request.headers.get("Authorization", "")
        scheme, _, value = auth.partition(" ")
        return value.strip() if scheme.lower() == "bearer" else None

    def _same_origin(self, request: Any, public_url: str | None) -> bool:
        origin = request.headers.get("Origin")
        if origin is None:  # not a browser: the cookie or token alone decides
            return True
        allowed = {f"http://{request.host}", f"https://{request.host}"}
        if public_url:
            parts = urlsplit(public_url)
            allowed.add(f"{parts.scheme}://{parts.netloc}")
        return origin.rstrip("/") in allowed

    def middleware(self, public_url: str | None = None) -> Any:
        from aiohttp import web

        home = (urlsplit(public_url).path.rstrip("/") if public_url else "") + "/"  # proxy path

        @web.middleware
        async def gate(request: web.Request, handler: Any) -> web.StreamResponse:
            from_query = request.query.get("token")
            if self.matches(from_query):
                if request.method == "GET" and request.path == "/":
                    rest = {k: v for k, v in request.query.items() if k != "token"}
                    response = web.HTTPSeeOther(home + (f"?{urlencode(rest)}" if rest else ""))
                    response.set_cookie(
                        self.cookie, self.token, path="/", httponly=True, samesite="Strict",
                        secure=self.secure,
                    )  # fmt: skip
                    raise response  # aiohttp: HTTP exceptions are raised, not returned
                return await handler(request)
            if self.matches(request.cookies.get(self.cookie)):
                if request.path == "/ws" and not self._same_origin(request, public_url):
                    return self._deny(request, "websocket from another origin")
                return await handler(request)
            if self.matches(self._bearer(request)):
                return await handler(request)
            return self._deny(request, "no valid token")

        return gate

    def _deny(self, request: Any, why: str) -> Any:
        from aiohttp import web

        self.denied += 1
        log.warning("denied %s %s from %s: %s", request.method, request.path, request.remote, why)
        return web.Response(
            status=403,
            text="403 Forbidden: open the URL with the token that `br-tui serve` printed.\n",
        )


# -- the server --------------------------------------------------------------------------------


def app_command(db_path: Path, theme: str | None = None) -> str:
    """The shell command textual-serve runs per connection: this interpreter, this database."""
    # `--opt=value`: the launcher takes the first bare word for a plan (and runs it headless
    # when stdout isn't a terminal, as it isn't here)
    argv = [sys.executable, "-m", "br_tui", f"--db={db_path}"]
    if theme:
        argv.append(f"--theme={theme}")
    return shlex.join(argv)


def make_server(
    db_path: Path,
    *,
    host: str,
    port: int,
    token: str,
    public_url: str | None = None,
    theme: str | None = None,
) -> Any:
    """A textual-serve `Server` with the gate, `/metrics`, and page URLs taken from the request
    (so `localhost` and `127.0.0.1` both work, and the websocket goes back where the page came
    from)."""
    import aiohttp_jinja2
    from aiohttp import web
    from textual_serve.server import Server

    gate = TokenGate(token, port, secure=bool(public_url and public_url.startswith("https:")))

    class BrServer(Server):
        def __init__(self) -> None:
            super().__init__(
                app_command(db_path, theme), host=host, port=port, title="br-tui",
                public_url=public_url,
            )  # fmt: skip
            self.gate = gate
            self.url = base_url(host, port, public_url) + f"/?token={token}"
            self._connections: set[asyncio.Task[Any]] = set()

        async def _make_app(self) -> web.Application:
            app = await super()._make_app()
            app.middlewares.append(gate.middleware(public_url))
            app.router.add_get("/metrics", self.handle_metrics, name="metrics")
            return app

        async def on_startup(self, app: web.Application) -> None:
            pass  # the port isn't bound yet: `announce` runs once it is

        def announce(self, *_: Any) -> None:
            print(f"br-tui: serving {db_path} at {self.url}", flush=True)
            print("br-tui: only someone with this URL can open the app; Ctrl+C stops", flush=True)

        async def on_shutdown(self, app: web.Application) -> None:
            for task in list(self._connections):  # each ends its app process on the way out
                task.cancel()

        @aiohttp_jinja2.template("app_index.html")
        async def handle_index(self, request: web.Request) -> dict[str, Any]:
            base = public_url.rstrip("/") if public_url else f"{request.scheme}://{request.host}"
            ws = ("wss:" if base.startswith("https:") else "ws:") + base.split(":", 1)[1]
            try:
                font_size = int(request.query.get("fontsize", "16"))
            except ValueError:
                font_size = 16
            return {
                "font_size": font_size,
                "app_websocket_url": f"{ws}/ws",
                "config": {"static": {"url": f"{base}/static/"}},
                "application": {"name": "br-tui"},
            }

        async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
            task = asyncio.current_task()
            if task is not None:
                self._connections.add(task)
            try:
                return await super().handle_websocket(request)
            finally:
                if task is not None:
                    self._connections.discard(task)

        async def handle_metrics(self, request: web.Request) -> web.Response:
            body, content_type = await asyncio.to_thread(
                scrape, db_path, request.headers.get("Accept", "")
            )
            return web.Response(body=body, headers={"Content-Type": content_type})

        def serve(self, debug: bool = False) -> None:
            """textual-serve's own `serve`, with the access log off (request lines would
            carry the token) and a short shutdown."""
            self.debug = debug
            self.initialize_logging()
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, self.request_exit)
            web.run_app(
                self._make_app(), host=self.host, port=self.port, handle_signals=False,
                loop=loop, print=self.announce, access_log=None, shutdown_timeout=5.0,
            )  # fmt: skip

    return BrServer()


def scrape(db_path: Path, accept: str) -> tuple[bytes, str]:
    """A scrape of `/metrics`, on its own read-only connection (runs in a thread)."""
    from engine.store import connect
    from engine.telemetry.openmetrics import for_scrape

    db = connect(db_path, readonly=True)
    try:
        return for_scrape(db, accept)
    finally:
        db.close()


def main(argv: list[str]) -> int:
    try:
        args = build_parser().parse_args(argv)
    except UsageError as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    if not 1 <= args.port <= 65535:
        print("br-tui serve: --port must be between 1 and 65535", file=sys.stderr)
        return EXIT_USAGE
    if not is_loopback(args.host) and not args.allow_remote:
        print(
            f"br-tui serve: {args.host} can be reached from other machines; pass --allow-remote"
            " to serve there (the token is still required)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    try:
        import textual_serve  # noqa: F401
    except ImportError:
        print("br-tui serve: needs textual-serve: pip install 'br-tui[serve]'", file=sys.stderr)
        return EXIT_USAGE
    from engine.store import StoreError, open_db, resolve_db_path

    db_path = resolve_db_path(args.db).resolve()
    try:
        open_db(db_path).close()  # create it / bring its schema up to date before any app runs
    except StoreError as exc:
        print(f"br-tui serve: {exc}", file=sys.stderr)
        return EXIT_USAGE
    os.environ["BR_SERVED"] = "1"  # the served apps leave sessions running when a tab closes
    server = make_server(
        db_path,
        host=args.host,
        port=args.port,
        token=secrets.token_urlsafe(32),
        public_url=args.public_url,
        theme=args.theme,
    )
    try:
        server.serve()
    except OSError as exc:  # port taken, address not ours
        print(f"br-tui serve: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK

"""A local HTTP server that answers the Anthropic Messages API (`POST /v1/messages`).

Tests script what each model answers: a queue of replies per model (`200`, `429`, `529`,
`500`, `401`, `400-long`), the default being 200 with usage. It records each request's
arrival time, model and key (`x-api-key`, or the bearer token newer SDKs send) so
tests can check a retry waited as long as it was told.
Bodies and headers follow the API: `{"type": "error", "error": {"type", "message"}}`,
`retry-after` on 429, `request-id` on everything.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_ERRORS = {
    "429": (429, "rate_limit_error", "Number of request tokens has exceeded your rate limit"),
    "529": (529, "overloaded_error", "Overloaded"),
    "500": (500, "api_error", "Internal server error"),
    "401": (401, "authentication_error", "invalid x-api-key"),
    "400-long": (400, "invalid_request_error", "prompt is too long: 1200000 tokens > 1000000"),
}


@dataclass
class Seen:
    at: float
    model: str
    api_key: str | None
    body: dict[str, Any]


@dataclass
class Script:
    replies: dict[str, deque[str]] = field(default_factory=lambda: defaultdict(deque))
    retry_after: str = "0.3"
    usage: dict[str, int] = field(
        default_factory=lambda: {
            "input_tokens": 2000,
            "output_tokens": 500,
            "cache_creation_input_tokens": 1000,
            "cache_read_input_tokens": 8000,
        }
    )
    delay_s: float = 0.0
    seen: list[Seen] = field(default_factory=list)

    def then(self, model: str, *codes: str) -> Script:
        self.replies[model].extend(codes)
        return self


class FakeAnthropic:
    """`with FakeAnthropic() as api: env ANTHROPIC_BASE_URL=api.url`."""

    def __init__(self) -> None:
        self.script = Script()
        script = self.script

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: dict[str, Any], headers: dict[str, str]) -> None:
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(raw)))
                self.send_header("request-id", f"req_{len(script.seen):04d}")
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                try:
                    self.wfile.write(raw)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a cancelled request): nothing to tell it

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                model = str(body.get("model"))
                auth = self.headers.get("authorization") or ""
                key = self.headers.get("x-api-key") or auth.removeprefix("Bearer ") or None
                script.seen.append(Seen(time.monotonic(), model, key, body))
                if self.path.rstrip("/") != "/v1/messages":
                    self._send(
                        404,
                        {
                            "type": "error",
                            "error": {"type": "not_found_error", "message": self.path},
                        },
                        {},
                    )
                    return
                queue = script.replies.get(model)
                code = queue.popleft() if queue else "200"
                if script.delay_s:
                    time.sleep(script.delay_s)
                if code != "200":
                    status, kind, message = _ERRORS[code]
                    headers = {"retry-after": script.retry_after} if status == 429 else {}
                    if status == 429:
                        headers["x-should-retry"] = "true"
                    self._send(
                        status,
                        {"type": "error", "error": {"type": kind, "message": message}},
                        headers,
                    )
                    return
                prompt = body["messages"][0]["content"]
                self._send(200, {
                    "id": f"msg_{len(script.seen):04d}",
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [{"type": "text", "text": f"Done: {str(prompt)[:30]}\nok"}],
                    "stop_reason": "end_turn",
                    "stop_sequence": None,
                    "usage": dict(script.usage, service_tier="standard"),
                }, {})  # fmt: skip

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> FakeAnthropic:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

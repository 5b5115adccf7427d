"""The `anthropic` agent backend: one Messages API call through the official SDK.

The SDK is an optional extra and costs ~1 s to import, so it is imported on first use only.
Its own retries are off (`max_retries=0`): the routing executor retries, backs off and falls
back for every backend the same way. The key comes from the task's environment, the process
environment, or the OS keyring (service `br-tui`, user `anthropic`); it is handed to the SDK and
never logged, printed or stored. `ANTHROPIC_BASE_URL` is honoured (tests point it at a local
stand-in). Cancel aborts the request in flight; pause can't stop an HTTP request, so it takes
effect before the next call.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Mapping
from typing import Any

from engine.executors.agent_call import CallResult
from engine.executors.base import ControlSlot, RunContext
from engine.routing import failures
from engine.routing.models import ModelInfo, Usage

KEYRING_SERVICE = "br-tui"
KEYRING_USER = "anthropic"
DEFAULT_MAX_TOKENS = 8192


def find_api_key(env: Mapping[str, str]) -> str | None:
    key = env.get("ANTHROPIC_API_KEY") or os.environ.get("ANTHROPIC_API_KEY")
    if key:
        return key
    try:
        import keyring  # optional
    except ImportError:
        return None
    try:
        return keyring.get_password(KEYRING_SERVICE, KEYRING_USER)
    except Exception:  # a broken keyring backend must not fail the task with its traceback
        return None


class _RequestControl:
    """Lets the worker cancel the request in flight."""

    def __init__(self, task: asyncio.Task[Any]) -> None:
        self.task = task
        self.cancelled = False

    def pause(self) -> None:
        pass  # an HTTP request can't be stopped halfway; the next call waits instead

    def resume(self) -> None:
        pass

    def cancel(self) -> None:
        self.cancelled = True
        self.task.cancel()


def _usage(raw: Any) -> Usage:
    def n(name: str) -> int:
        value = getattr(raw, name, 0)
        return int(value) if isinstance(value, int) else 0

    creation = getattr(raw, "cache_creation", None)
    one_hour = getattr(creation, "ephemeral_1h_input_tokens", 0) if creation else 0
    return Usage(
        input_tokens=n("input_tokens"),
        output_tokens=n("output_tokens"),
        cache_read_tokens=n("cache_read_input_tokens"),
        cache_write_tokens=n("cache_creation_input_tokens"),
        cache_write_1h_tokens=one_hour if isinstance(one_hour, int) else 0,
    )


class AnthropicBackend:
    name = "anthropic"

    def __init__(
        self,
        *,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        system: str | None = None,
        request_timeout_s: float = 600.0,
    ) -> None:
        self.max_tokens = max_tokens
        self.system = system
        self.request_timeout_s = request_timeout_s
        self._clients: dict[tuple[str, str | None], Any] = {}

    def _client(self, key: str, base_url: str | None) -> Any:
        client = self._clients.get((key, base_url))
        if client is None:
            import anthropic

            client = anthropic.AsyncAnthropic(
                api_key=key, base_url=base_url, max_retries=0, timeout=self.request_timeout_s
            )
            self._clients[(key, base_url)] = client
        return client

    async def call(self, ctx: RunContext, model: ModelInfo, slot: ControlSlot) -> CallResult:
        key = find_api_key(ctx.env)
        if not key:
            return CallResult(
                "failed",
                error="no Anthropic API key: set ANTHROPIC_API_KEY or store one in the OS "
                f"keyring (service {KEYRING_SERVICE!r}, user {KEYRING_USER!r})",
                failure_class=failures.AUTHENTICATION,
            )
        base_url = ctx.env.get("ANTHROPIC_BASE_URL") or os.environ.get("ANTHROPIC_BASE_URL")
        client = self._client(key, base_url)
        params: dict[str, Any] = {
            "model": model.name,
            "max_tokens": min(self.max_tokens, model.max_output or self.max_tokens),
            "messages": [{"role": "user", "content": ctx.prompt or ""}],
        }
        if self.system:
            params["system"] = self.system
        started = time.monotonic()
        request = asyncio.ensure_future(client.messages.create(**params))
        control = _RequestControl(request)
        slot.attach(control)
        try:
            response = await asyncio.wait_for(request, ctx.timeout)
        except TimeoutError:
            return CallResult(
                "timeout",
                error=f"timed out after {ctx.timeout:g}s",
                failure_class=failures.TIMEOUT,
                latency_s=time.monotonic() - started,
            )
        except asyncio.CancelledError:
            if not control.cancelled:
                raise  # our own task is being cancelled: let it
            return CallResult("cancelled", error="cancelled", latency_s=time.monotonic() - started)
        except Exception as exc:
            return self._failure(exc, time.monotonic() - started)
        finally:
            slot.detach()
        text = "".join(
            getattr(block, "text", "") for block in response.content if block.type == "text"
        )
        for line in text.splitlines():
            ctx.on_line("stdout", line)
        return CallResult(
            "succeeded",
            usage=_usage(response.usage),
            text=text,
            latency_s=time.monotonic() - started,
            num_turns=1,
        )

    def _failure(self, exc: Exception, latency: float) -> CallResult:
        import anthropic

        status: int | None = None
        retry_after: float | None = None
        if isinstance(exc, anthropic.APIStatusError):
            status = exc.status_code
            headers = exc.response.headers
            retry_after = failures.parse_retry_after(headers.get("retry-after"))
            ms = failures.parse_retry_after(headers.get("retry-after-ms"))
            if ms is not None:
                retry_after = ms / 1000.0
            message = f"HTTP {status}: {_message(exc)}"
            klass = failures.classify(status, message)
        elif isinstance(exc, anthropic.APITimeoutError):
            message, klass = "request timed out", failures.TIMEOUT
        elif isinstance(exc, anthropic.APIConnectionError):
            message, klass = f"connection error: {exc}", failures.NETWORK
        else:
            message = f"{type(exc).__name__}: {exc}"
            klass = failures.classify_text(message)
        return CallResult(
            "failed",
            error=message,
            failure_class=klass,
            retry_after=retry_after,
            latency_s=latency,
        )


def _message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict) and err.get("message"):
            return f"{err.get('type', 'error')}: {err['message']}"
    return str(getattr(exc, "message", exc))

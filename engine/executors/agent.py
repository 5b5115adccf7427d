"""Agent tasks: route to a model under the budgets, call a backend, ride out failures, record.

One attempt of a `prompt` task, start to end:

    estimate complexity -> escalation / learned level shift (engine.routing.cascade)
        -> check budgets -> select a model -> call the backend
        -> record the call (agent_calls row + AGENT_CALL event)
        -> succeeded: done
        -> overloaded / context too long: next model of the same or a higher tier
        -> rate limited / server / network: back off (obeying retry-after), same model
        -> authentication: stop, not retryable
        -> task failure: report it; the core's `retries` decide what's next, and the retry
           starts one tier up when `[agent] escalate` covers the level (the cascade)

A hard budget limit refuses the attempt before anything runs: the outcome is `cancelled` with
the budget as the reason, and the core finishes the run with shell tasks unaffected.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.events import Event, EventType
from engine.executors.agent_call import Backend, CallResult, call_cost
from engine.executors.base import ControlSlot, Outcome, RunContext
from engine.routing import failures
from engine.routing.budgets import Budgets, budget_status
from engine.routing.cascade import TierChoice, choose_tier, escalate_levels
from engine.routing.costs import CallRecord
from engine.routing.estimate import LEVELS, Estimate, estimate
from engine.routing.models import ModelTable, load_models
from engine.routing.outcomes import Policy
from engine.routing.select import Selection, fallback_after, select_model
from engine.store.db import now_iso

BACKENDS = ("command", "anthropic")


@dataclass(slots=True)
class AgentSettings:
    """The plan's `[agent]` table, validated once per session."""

    backend: str = "command"
    command: str | None = None
    max_retries: int = 3
    backoff_base_s: float = 1.0
    backoff_cap_s: float = 30.0
    max_wait_s: float = 120.0  # a longer retry-after goes back to the core as retry_after
    cost_limit_usd: float | None = None  # per task, on the estimate
    prefer_fast: bool = False
    max_tokens: int = 8192
    system: str | None = None
    request_timeout_s: float = 600.0
    estimator: str = "heuristic"  # "model": ask the fast model first (Anthropic API key needed)
    estimator_model: str | None = None
    escalate: Any = True  # true (simple, moderate), false, or a list of levels
    learn: Any = True  # true, false, or a table of engine.routing.outcomes.Policy knobs
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def escalate_levels(self) -> frozenset[str]:
        return escalate_levels(self.escalate)

    @property
    def policy(self) -> Policy:
        if isinstance(self.learn, Mapping):
            return Policy.from_config(self.learn)
        return Policy(enabled=bool(self.learn))

    @classmethod
    def from_config(cls, raw: Mapping[str, Any] | None) -> AgentSettings:
        raw = dict(raw or {})
        backend = str(raw.pop("backend", "command"))
        if backend not in BACKENDS:
            raise ValueError(f"[agent] backend must be one of {', '.join(BACKENDS)}")
        known = {f for f in cls.__dataclass_fields__ if f not in ("backend", "extra")}
        values = {k: raw.pop(k) for k in list(raw) if k in known}
        if "latency" in raw:
            values["prefer_fast"] = str(raw.pop("latency")) in ("fast", "low")
        settings = cls(backend=backend, extra=raw, **values)
        if settings.estimator not in ("heuristic", "model"):
            raise ValueError('[agent] estimator must be "heuristic" or "model"')
        if settings.max_retries < 0 or settings.backoff_base_s < 0:
            raise ValueError("[agent] max_retries and backoff_base_s must be >= 0")
        if not isinstance(settings.learn, bool | Mapping):
            raise ValueError("[agent] learn must be true, false or a table")
        _ = settings.escalate_levels, settings.policy  # raise ValueError now, not mid-run
        return settings


class _Waiter:
    """Registered in the slot while we back off, so cancel ends the wait and pause extends it."""

    def __init__(self) -> None:
        self.cancelled = asyncio.Event()
        self.running = asyncio.Event()
        self.running.set()

    def pause(self) -> None:
        self.running.clear()

    def resume(self) -> None:
        self.running.set()

    def cancel(self) -> None:
        self.cancelled.set()
        self.running.set()


async def _wait(seconds: float, slot: ControlSlot) -> bool:
    """Sleep unless cancelled (False); stay put while paused."""
    waiter = _Waiter()
    slot.attach(waiter)
    try:
        try:
            await asyncio.wait_for(waiter.cancelled.wait(), timeout=seconds)
        except TimeoutError:
            pass
        await waiter.running.wait()
        return not waiter.cancelled.is_set()
    finally:
        slot.detach()


@dataclass(slots=True)
class _Totals:
    """Usage summed over the calls of one attempt (retries and fallbacks included)."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cost_usd: float = 0.0
    unknown_cost: bool = False
    calls: int = 0

    def add(self, result: CallResult, cost: float | None) -> None:
        self.calls += 1
        if result.usage is not None:
            self.input_tokens += result.usage.input_tokens
            self.output_tokens += result.usage.output_tokens
            self.cache_read_tokens += result.usage.cache_read_tokens
            self.cache_write_tokens += result.usage.cache_write_tokens
        if cost is None:
            self.unknown_cost = result.status == "succeeded" or self.unknown_cost
        else:
            self.cost_usd = round(self.cost_usd + cost, 6)

    def usage(self, model: str, failure_class: str | None) -> dict[str, Any]:
        return {
            "model": model,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cache_read_tokens": self.cache_read_tokens,
            "cache_write_tokens": self.cache_write_tokens,
            "cost_usd": None if self.unknown_cost and not self.cost_usd else self.cost_usd,
            "cost_known": not self.unknown_cost,
            "calls": self.calls,
            "failure_class": failure_class,
        }


class AgentExecutor:
    """One per session: holds the model table, budgets and the backend's clients."""

    def __init__(
        self,
        store: Any,
        settings: AgentSettings,
        budgets: Budgets,
        table: ModelTable,
        backend: Backend,
        *,
        sleep: Callable[[float, ControlSlot], Awaitable[bool]] = _wait,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.store = store
        self.settings = settings
        self.budgets = budgets
        self.table = table
        self.backend = backend
        self._sleep = sleep
        self._rand = rand
        self._lock = asyncio.Lock()
        self._pending_usd = 0.0  # estimates of calls in flight, not yet recorded
        self._announced: set[tuple[str, str, str]] = set()  # (kind, session, budget)
        self._assist_clients: dict[tuple[str, str | None], Any] = {}

    # -- the attempt -------------------------------------------------------------------------

    async def run(self, ctx: RunContext, slot: ControlSlot) -> Outcome:
        prompt = ctx.prompt or ""
        extra = ctx.extra or {}
        files = extra.get("files") or None
        est = estimate(prompt, files)
        if self.settings.estimator == "model" and not extra.get("complexity") and not ctx.model:
            est = await self._assisted(ctx, prompt, files, est)
        level = extra.get("complexity") or est.level
        if level not in LEVELS:
            return Outcome("failed", reason=f"unknown complexity {level!r}", retryable=False)
        choice = await self._adjust(ctx, level)
        refusal, selection = await self._route(ctx, prompt, level, choice)
        if refusal is not None:
            return refusal
        assert selection is not None
        self._publish_decision(ctx, est.score, est.reasons, level, selection, extra, choice)
        reserved = selection.estimated_cost_usd or 0.0
        if extra.get("context"):  # streams call site: shared decisions, the stream's notices
            ctx.prompt = f"{prompt}\n\n---\n{extra['context']}"
        try:
            return await self._call_loop(ctx, slot, selection, level, est.score)
        finally:
            async with self._lock:
                self._pending_usd = max(0.0, self._pending_usd - reserved)

    async def _adjust(self, ctx: RunContext, level: str) -> TierChoice:
        """The cascade's escalation after a failed attempt, or a level shift learned from this
        project's outcomes; both read the recorded calls, so flush ours first."""
        await self.store.aflush()
        return await asyncio.to_thread(
            choose_tier,
            self.store,
            session_id=ctx.session_id,
            task_id=ctx.task_id,
            attempt=ctx.attempt,
            level=level,
            now=datetime.fromisoformat(now_iso()),
            pinned=bool(ctx.model),
            levels=self.settings.escalate_levels,
            policy=self.settings.policy,
        )

    async def _route(
        self, ctx: RunContext, prompt: str, level: str, choice: TierChoice
    ) -> tuple[Outcome | None, Selection | None]:
        """Budgets first (under a lock, so concurrent workers see each other's reservations),
        then the model."""
        async with self._lock:
            states = []
            if self.budgets.limits():
                await self.store.aflush()  # calls recorded so far are visible to the sums
                states = await asyncio.to_thread(
                    budget_status, self.store, self.budgets, session_id=ctx.session_id
                )
            exhausted = [s for s in states if s.state == "exhausted"]
            if exhausted:
                worst = exhausted[0]
                self._announce(EventType.BUDGET_EXCEEDED, ctx, worst.as_dict())
                reason = (
                    f"budget: {worst.name} budget exhausted "
                    f"(${worst.spent_usd:.2f} of ${worst.limit_usd:.2f})"
                )
                usage = _Totals().usage("", "budget")
                return Outcome("cancelled", reason=reason, retryable=False, usage=usage), None
            soft = [s for s in states if s.state == "soft"]
            for s in soft:
                self._announce(EventType.BUDGET_WARNING, ctx, s.as_dict())
            remaining = (
                max(0.0, min(s.remaining_usd for s in states) - self._pending_usd)
                if states
                else None
            )
            selection = select_model(
                level,
                self.table,
                prompt=prompt,
                override=ctx.model,
                cost_limit=self.settings.cost_limit_usd,
                remaining_usd=remaining,
                downgrade=1 if soft else 0,
                prefer_fast=self.settings.prefer_fast,
                tier=choice.tier,
                why=choice.why,
            )
            if choice.tier is None and choice.why:  # a probe keeps the tier, says why
                selection.reason = f"{selection.reason}; {choice.why}"
            self._pending_usd += selection.estimated_cost_usd or 0.0
            return None, selection

    async def _call_loop(
        self, ctx: RunContext, slot: ControlSlot, selection: Selection, level: str, score: float
    ) -> Outcome:
        s = self.settings
        model = selection.model
        reason = selection.reason
        tried: list[str] = []
        totals = _Totals()
        retries = 0
        wall = 0.0
        while True:
            if slot.cancelled:
                return Outcome("cancelled", reason="cancelled", usage=totals.usage(model, None))
            info = self.table.lookup(model)
            result = await self.backend.call(ctx, info, slot)
            cost, source = call_cost(result, info, self.table)
            totals.add(result, cost)
            wall += result.latency_s
            self._record(ctx, result, model, level, score, reason, totals.calls, cost, source)
            klass = result.failure_class
            usage = totals.usage(model, klass)
            common = {"wall_s": wall, "cpu_s": result.cpu_s, "peak_rss_kb": result.peak_rss_kb}
            if result.status == "succeeded":
                return Outcome("succeeded", exit_code=result.exit_code, usage=usage, **common)
            if result.status in ("cancelled", "timeout"):
                why = result.error or result.status
                return Outcome(result.status, result.exit_code, why, usage=usage, **common)
            error = f"{klass}: {result.error}" if klass else (result.error or "failed")
            if klass == failures.AUTHENTICATION:
                return Outcome(
                    "failed", result.exit_code, error, usage=usage, retryable=False, **common
                )
            if klass in failures.FALLBACK:
                nxt = fallback_after(
                    model, self.table, tried, need_context=klass == failures.CONTEXT_TOO_LONG
                )
                if nxt is not None:
                    tried.append(model)
                    reason = f"fallback from {model} ({klass})"
                    self._publish_fallback(ctx, model, nxt.name, klass)
                    model = nxt.name
                    continue
                if klass == failures.CONTEXT_TOO_LONG:
                    return Outcome(
                        "failed", result.exit_code, error, usage=usage, retryable=False, **common
                    )
            if klass in failures.TRANSIENT and retries < s.max_retries:
                retries += 1
                delay = failures.backoff_delay(
                    retries,
                    retry_after=result.retry_after,
                    base=s.backoff_base_s,
                    cap=s.backoff_cap_s,
                    rand=self._rand,
                )
                if delay > s.max_wait_s:  # too long to hold a worker: let the core requeue
                    return Outcome(
                        "failed", result.exit_code, error, usage=usage, retry_after=delay, **common
                    )
                if not await self._sleep(delay, slot):
                    return Outcome("cancelled", reason="cancelled", usage=usage, **common)
                continue
            return Outcome(
                "failed",
                result.exit_code,
                error,
                usage=usage,
                retry_after=result.retry_after,
                **common,
            )

    async def _assisted(
        self, ctx: RunContext, prompt: str, files: Any, heuristic: Estimate
    ) -> Estimate:
        """Ask the fast model for the level; any failure (no key, no SDK, an error, a strange
        answer) keeps the heuristic. The call is recorded and counts against the budgets."""
        import os

        from engine.executors.agent_anthropic import find_api_key
        from engine.routing.assist import assisted_estimate

        key = find_api_key(ctx.env)
        if not key:
            return heuristic
        try:
            import anthropic
        except ImportError:
            return heuristic
        base_url = ctx.env.get("ANTHROPIC_BASE_URL") or os.environ.get("ANTHROPIC_BASE_URL")
        client = self._assist_clients.get((key, base_url))
        if client is None:
            client = anthropic.AsyncAnthropic(api_key=key, base_url=base_url, max_retries=0)
            self._assist_clients[(key, base_url)] = client
        fast = self.table.in_tier("fast")
        model = self.settings.estimator_model or (fast[0].name if fast else "claude-haiku-5-5")
        got = await assisted_estimate(prompt, files, client=client, model=model)
        if got.usage is not None or got.error:
            status = "succeeded" if got.error is None else "failed"
            result = CallResult(status, usage=got.usage, error=got.error)
            info = self.table.lookup(model)
            cost, source = call_cost(result, info, self.table)
            self._record(
                ctx, result, model, got.estimate.level, got.estimate.score,
                "complexity estimate", 0, cost, source, backend="anthropic",
            )  # fmt: skip
        return got.estimate

    # -- recording and events ----------------------------------------------------------------

    def _record(
        self,
        ctx: RunContext,
        result: CallResult,
        model: str,
        level: str,
        score: float,
        reason: str,
        call_no: int,
        cost: float | None,
        source: str,
        *,
        backend: str | None = None,
    ) -> None:
        usage = result.usage
        info = self.table.lookup(model)
        error = result.error
        if cost is None and result.status == "succeeded" and not error:
            error = "cost unknown: the agent reported no usage"
        record = CallRecord(
            ts=now_iso(),
            session_id=ctx.session_id,
            task_id=ctx.task_id,
            attempt=ctx.attempt,
            call_no=call_no,
            backend=backend or self.backend.name,
            model=model,
            tier=info.tier if info.known_prices else None,
            level=level,
            score=round(score, 3),
            input_tokens=usage.input_tokens if usage else 0,
            output_tokens=usage.output_tokens if usage else 0,
            cache_read_tokens=usage.cache_read_tokens if usage else 0,
            cache_write_tokens=usage.cache_write_tokens if usage else 0,
            cost_usd=cost,
            cost_source=source,
            reported_cost_usd=result.reported_cost_usd,
            latency_s=round(result.latency_s, 3),
            num_turns=result.num_turns,
            outcome=result.status,
            failure_class=result.failure_class,
            error=error[:2000] if error else None,
            routing_reason=reason,
        )
        event = Event(
            EventType.AGENT_CALL,
            session_id=ctx.session_id,
            task_id=ctx.task_id,
            worker_id=ctx.worker_id,
            data=record.as_event_data(),
        )
        self.store.write(ops=[record.insert_op()], events=[event])

    def _publish_decision(
        self,
        ctx: RunContext,
        score: float,
        reasons: list[str],
        level: str,
        sel: Selection,
        extra: Mapping[str, Any],
        choice: TierChoice,
    ) -> None:
        data = {
            "level": level,
            "score": round(score, 3),
            "reasons": reasons,
            "complexity_override": extra.get("complexity"),
            "model_override": ctx.model,
            "attempt": ctx.attempt,
            **sel.as_dict(),
        }
        if choice.kind is not None:
            data[choice.kind.replace(" ", "_")] = choice.data
        self.store.write(events=[self._event(EventType.ROUTING_DECISION, ctx, data)])

    def _publish_fallback(self, ctx: RunContext, old: str, new: str, klass: str) -> None:
        data = {"model": new, "fallback_from": old, "reason": f"fallback: {old} {klass}"}
        self.store.write(events=[self._event(EventType.ROUTING_DECISION, ctx, data)])

    def _announce(self, kind: EventType, ctx: RunContext, data: dict[str, Any]) -> None:
        """Budget events once per session and budget, not once per task."""
        key = (str(kind), ctx.session_id, str(data.get("budget")))
        if key in self._announced:
            return
        self._announced.add(key)
        self.store.write(events=[self._event(kind, ctx, data)])

    @staticmethod
    def _event(kind: EventType, ctx: RunContext, data: dict[str, Any]) -> Event:
        return Event(kind, session_id=ctx.session_id, task_id=ctx.task_id, data=data)


def make_backend(settings: AgentSettings) -> Backend:
    if settings.backend == "anthropic":
        from engine.executors.agent_anthropic import AnthropicBackend

        return AnthropicBackend(
            max_tokens=settings.max_tokens,
            system=settings.system,
            request_timeout_s=settings.request_timeout_s,
        )
    from engine.executors.agent_command import DEFAULT_TEMPLATE, CommandBackend

    return CommandBackend(settings.command or DEFAULT_TEMPLATE)


def make_agent_executor(store: Any, config: Mapping[str, Any] | None = None) -> AgentExecutor:
    """The executor for a session's `prompt` tasks. Raises ValueError on a bad [agent],
    [budget] or [models] table, so the session can refuse to start with the message."""
    config = config or {}
    settings = AgentSettings.from_config(config.get("agent"))
    budgets = Budgets.from_config(config.get("budget"))
    table = load_models(config)
    return AgentExecutor(store, settings, budgets, table, make_backend(settings))

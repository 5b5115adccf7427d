"""What one agent backend call returns, whatever the backend.

The routing executor (agent.py) decides retries, fallbacks, budgets and recording; a backend
only makes one call with one model and reports what happened in these terms.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from engine.executors.base import ControlSlot, RunContext
from engine.routing.models import ModelInfo, ModelTable, Usage


@dataclass(slots=True)
class CallResult:
    status: str  # "succeeded" | "failed" | "timeout" | "cancelled"
    usage: Usage | None = None  # None: the backend reported no token counts
    model_usage: dict[str, tuple[Usage, float | None]] = field(default_factory=dict)
    reported_cost_usd: float | None = None  # the agent's own total, when it gives one
    text: str = ""
    error: str | None = None
    failure_class: str | None = None
    retry_after: float | None = None
    latency_s: float = 0.0
    num_turns: int | None = None
    exit_code: int | None = None
    cpu_s: float | None = None
    peak_rss_kb: int | None = None


class Backend(Protocol):
    name: str

    async def call(self, ctx: RunContext, model: ModelInfo, slot: ControlSlot) -> CallResult: ...


def call_cost(result: CallResult, model: ModelInfo, table: ModelTable) -> tuple[float | None, str]:
    """(USD, source) for one call: usage x price table when we can, else the agent's own
    reported total, else unknown. Per-model usage (an agent that used several models) is
    priced model by model."""
    if result.model_usage:
        total = 0.0
        for name, (usage, reported) in result.model_usage.items():
            info = table.get(name)
            if info is not None:
                total += info.cost(usage)
            elif reported is not None:
                total += reported
            else:
                known = result.reported_cost_usd is not None
                return result.reported_cost_usd, "reported" if known else "unknown"
        return round(total, 6), "table"
    if result.usage is not None and model.known_prices:
        return model.cost(result.usage), "table"
    if result.reported_cost_usd is not None:
        return round(result.reported_cost_usd, 6), "reported"
    return None, "unknown"

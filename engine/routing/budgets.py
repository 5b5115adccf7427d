"""Budgets per session, per UTC day and per UTC month: how much is spent, and what that means.

At `soft_ratio` of a limit the router warns and routes one tier down; at the limit no further
agent call is dispatched. A budget is only as exact as the costs we know: calls whose cost is
unknown (an agent that reported no usage) count as zero, and the CLI says how many there were.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from engine.routing.costs import total_spend

if TYPE_CHECKING:
    from engine.store.queryable import Queryable

DEFAULT_SOFT_RATIO = 0.8
_KEYS = {"session": "session_usd", "daily": "daily_usd", "monthly": "monthly_usd"}
_PERIOD = {"session": None, "daily": "day", "monthly": "month"}


@dataclass(frozen=True, slots=True)
class Budgets:
    session_usd: float | None = None
    daily_usd: float | None = None
    monthly_usd: float | None = None
    soft_ratio: float = DEFAULT_SOFT_RATIO

    @classmethod
    def from_config(cls, raw: Mapping[str, Any] | None) -> Budgets:
        """The plan's `[budget]` table. Unknown keys are an error: a typo must not silently
        leave spending unlimited."""
        raw = dict(raw or {})
        unknown = set(raw) - {*_KEYS.values(), "soft_ratio"}
        if unknown:
            raise ValueError(f"[budget]: unknown key(s) {', '.join(sorted(unknown))}")
        values: dict[str, Any] = {}
        for key in _KEYS.values():
            if raw.get(key) is not None:
                amount = float(raw[key])
                if amount < 0:
                    raise ValueError(f"[budget] {key} must be >= 0")
                values[key] = amount
        ratio = float(raw.get("soft_ratio", DEFAULT_SOFT_RATIO))
        if not 0 < ratio <= 1:
            raise ValueError("[budget] soft_ratio must be in (0, 1]")
        return cls(soft_ratio=ratio, **values)

    def limits(self) -> dict[str, float]:
        return {
            name: getattr(self, key)
            for name, key in _KEYS.items()
            if getattr(self, key) is not None
        }


@dataclass(slots=True)
class BudgetState:
    name: str  # session | daily | monthly
    limit_usd: float
    spent_usd: float
    soft_ratio: float

    @property
    def remaining_usd(self) -> float:
        return max(0.0, round(self.limit_usd - self.spent_usd, 6))

    @property
    def state(self) -> str:
        if self.spent_usd >= self.limit_usd:
            return "exhausted"
        if self.spent_usd >= self.limit_usd * self.soft_ratio:
            return "soft"
        return "ok"

    def describe(self) -> str:
        return f"{self.name} budget ${self.spent_usd:.2f} of ${self.limit_usd:.2f}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "budget": self.name,
            "limit_usd": self.limit_usd,
            "spent_usd": round(self.spent_usd, 6),
            "remaining_usd": self.remaining_usd,
            "state": self.state,
        }


def budget_status(
    db: Queryable,
    budgets: Budgets,
    *,
    session_id: str | None = None,
    pending_usd: float = 0.0,
    now: datetime | None = None,
) -> list[BudgetState]:
    """Each configured budget's spend; `pending_usd` adds calls dispatched but not yet recorded."""
    out: list[BudgetState] = []
    for name, limit in budgets.limits().items():
        if name == "session" and session_id is None:
            continue
        spent = total_spend(
            db, period=_PERIOD[name], session_id=session_id if name == "session" else None, now=now
        )
        out.append(BudgetState(name, limit, spent + pending_usd, budgets.soft_ratio))
    return out

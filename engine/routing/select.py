"""Level + constraints -> the cheapest adequate model, and why.

The estimate of a task's cost is deliberately simple and stated: an agent session re-reads its
context every turn, so a per-level token profile (models.toml `[estimate]`) plus the prompt's own
tokens (characters / 4) stands in for the bill. It only ranks models and guards limits; the cost
recorded for a call always comes from the usage the call reports.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from engine.routing.models import TIER_FOR_LEVEL, TIERS, ModelInfo, ModelTable, Usage

CHARS_PER_TOKEN = 4
_LATENCY_ORDER = {"fastest": 0, "fast": 1, "moderate": 2, "slower": 3}


@dataclass(slots=True)
class Selection:
    model: str
    reason: str
    estimated_cost_usd: float | None  # None: the model's prices are unknown
    tier: str = ""
    input_tokens: int = 0
    output_tokens: int = 0

    def as_dict(self) -> dict[str, object]:
        return {
            "model": self.model,
            "tier": self.tier,
            "reason": self.reason,
            "estimated_cost_usd": self.estimated_cost_usd,
            "estimated_input_tokens": self.input_tokens,
            "estimated_output_tokens": self.output_tokens,
        }


def estimate_tokens(level: str, table: ModelTable, prompt: str = "") -> tuple[int, int]:
    base_in, base_out = table.estimate_profile.get(level, (50_000, 5_000))
    return base_in + len(prompt) // CHARS_PER_TOKEN, base_out


def estimated_cost(model: ModelInfo, tokens: tuple[int, int]) -> float | None:
    if not model.known_prices:
        return None
    return model.cost(Usage(input_tokens=tokens[0], output_tokens=tokens[1]))


def _ordered(table: ModelTable, tier: str, level: str, prefer_fast: bool) -> list[ModelInfo]:
    pool = table.in_tier(tier)
    if level == "critical":  # the strongest model of the tier, price second
        pool.sort(key=lambda m: (-m.rank, m.prices.output))
    if prefer_fast:
        pool.sort(key=lambda m: _LATENCY_ORDER.get(m.latency or "", 2))
    return pool


def select_model(
    level: str,
    table: ModelTable | None = None,
    *,
    prompt: str = "",
    override: str | None = None,
    cost_limit: float | None = None,
    remaining_usd: float | None = None,
    downgrade: int = 0,
    prefer_fast: bool = False,
    tier: str | None = None,
    why: str | None = None,
) -> Selection:
    """Pick a model for a task of `level`.

    `cost_limit` caps one call's estimated cost; `remaining_usd` is what the tightest budget has
    left; `downgrade` moves down that many tiers (a soft budget limit asks for one). An explicit
    `override` wins over everything but is still priced. `tier` replaces the level's own tier
    (an escalation or a learned level shift), with `why` saying so in the reason.
    """
    if table is None:
        from engine.routing.models import load_models

        table = load_models()
    tokens = estimate_tokens(level, table, prompt)
    if override:
        model = table.lookup(override)
        why = "task override" + ("" if model.known_prices else " (prices unknown)")
        return Selection(
            model.name, why, estimated_cost(model, tokens), model.tier, tokens[0], tokens[1]
        )
    want = TIER_FOR_LEVEL.get(level, "balanced")
    notes = [f"{level} -> {want} tier"]
    if tier is not None and tier != want:
        if tier not in TIERS:
            raise ValueError(f"tier must be one of {', '.join(TIERS)}, not {tier!r}")
        notes.append(why or f"moved to the {tier} tier")
        want = tier
    start = max(0, TIERS.index(want) - max(0, downgrade))
    if start != TIERS.index(want):
        notes.append(f"budget soft limit: down to {TIERS[start]}")
    limits = [x for x in (cost_limit, remaining_usd) if x is not None]
    limit = min(limits) if limits else None
    for index in range(start, -1, -1):
        for model in _ordered(table, TIERS[index], level, prefer_fast):
            cost = estimated_cost(model, tokens)
            if limit is None or (cost is not None and cost <= limit):
                if index != start:
                    notes.append(f"over ${limit:.2f}: down to {TIERS[index]}")
                reason = "; ".join([*notes, f"cheapest adequate: {model.name}"])
                return Selection(model.name, reason, cost, model.tier, tokens[0], tokens[1])
    cheapest = min(
        (m for m in table.models.values() if not m.legacy),
        key=lambda m: estimated_cost(m, tokens) or 0.0,
    )
    cost = estimated_cost(cheapest, tokens)
    notes.append(f"no model fits ${limit:.2f}; using the cheapest")
    return Selection(cheapest.name, "; ".join(notes), cost, cheapest.tier, tokens[0], tokens[1])


def fallback_after(
    current: str, table: ModelTable, tried: Iterable[str], *, need_context: bool = False
) -> ModelInfo | None:
    """The next model to try when `current` is overloaded or its context is too small: another
    of the same tier, else the cheapest of a higher tier. Never a weaker tier."""
    done = set(tried) | {current}
    here = table.lookup(current)
    tier_index = TIERS.index(here.tier) if here.tier in TIERS else 1
    for index in range(tier_index, len(TIERS)):
        pool = table.in_tier(TIERS[index]) + [
            m for m in table.in_tier(TIERS[index], include_legacy=True) if m.legacy
        ]
        for model in pool:
            if model.name in done:
                continue
            if need_context and here.context and (model.context or 0) <= here.context:
                continue
            return model
    return None

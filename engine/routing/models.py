"""The model table: tiers, prices, and what a call costs.

The shipped table is data (`models.toml`) so a price change is a one-line edit with its date,
and users override or add models (other providers too) from config without touching code.
Cost is computed here and nowhere else, so the Costs screen, the budgets and the CLI agree.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

TABLE_PATH = Path(__file__).with_name("models.toml")
TIERS: tuple[str, ...] = ("fast", "balanced", "strongest")
#: Which tier each complexity level needs.
TIER_FOR_LEVEL: dict[str, str] = {
    "simple": "fast",
    "moderate": "balanced",
    "complex": "strongest",
    "critical": "strongest",
}
_PRICE_KEYS = ("input", "output", "cache_write", "cache_write_1h", "cache_read")


@dataclass(frozen=True, slots=True)
class Prices:
    """USD per million tokens."""

    input: float = 0.0
    output: float = 0.0
    cache_write: float = 0.0
    cache_write_1h: float | None = None  # None: priced as a 5-minute write
    cache_read: float = 0.0


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens of one call by kind, as the API reports them (input excludes cache tokens)."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0  # all cache writes, 5-minute and 1-hour
    cache_write_1h_tokens: int = 0  # the part of cache_write_tokens written for an hour

    @property
    def prompt_tokens(self) -> int:
        return self.input_tokens + self.cache_read_tokens + self.cache_write_tokens


@dataclass(frozen=True, slots=True)
class ModelInfo:
    name: str
    tier: str
    prices: Prices
    provider: str = "anthropic"
    rank: int = 1
    legacy: bool = False
    context: int | None = None
    max_output: int | None = None
    latency: str | None = None
    long_prompt_threshold: int | None = None
    long_prompt: Prices | None = None
    known_prices: bool = True

    def cost(self, usage: Usage) -> float:
        """USD for one call, to 6 decimals. Long prompts switch every token to the long rates."""
        p = self.prices
        if (
            self.long_prompt is not None
            and self.long_prompt_threshold is not None
            and usage.prompt_tokens > self.long_prompt_threshold
        ):
            p = self.long_prompt
        one_hour = min(usage.cache_write_1h_tokens, usage.cache_write_tokens)
        five_min = usage.cache_write_tokens - one_hour
        rate_1h = p.cache_write_1h if p.cache_write_1h is not None else p.cache_write
        micro = (
            usage.input_tokens * p.input
            + usage.output_tokens * p.output
            + five_min * p.cache_write
            + one_hour * rate_1h
            + usage.cache_read_tokens * p.cache_read
        )
        return round(micro / 1_000_000, 6)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "provider": self.provider,
            "tier": self.tier,
            "rank": self.rank,
            "legacy": self.legacy,
            "latency": self.latency,
            "context": self.context,
        }
        out.update({k: getattr(self.prices, k) for k in _PRICE_KEYS})
        if self.long_prompt is not None:
            out["long_prompt_threshold"] = self.long_prompt_threshold
            out["long_prompt"] = {k: getattr(self.long_prompt, k) for k in _PRICE_KEYS}
        return out


@dataclass(frozen=True, slots=True)
class ModelTable:
    models: dict[str, ModelInfo]
    estimate_profile: dict[str, tuple[int, int]] = field(default_factory=dict)
    checked: str = ""
    source: str = ""

    def get(self, name: str) -> ModelInfo | None:
        return self.models.get(name)

    def lookup(self, name: str) -> ModelInfo:
        """A known model, or a stand-in with unknown prices (its cost can't be computed)."""
        found = self.models.get(name)
        if found is not None:
            return found
        return ModelInfo(name=name, tier="balanced", prices=Prices(), known_prices=False)

    def in_tier(self, tier: str, *, include_legacy: bool = False) -> list[ModelInfo]:
        """Cheapest first (output price dominates agent bills), then stronger first."""
        pool = [
            m for m in self.models.values() if m.tier == tier and (include_legacy or not m.legacy)
        ]
        return sorted(pool, key=lambda m: (m.prices.output, m.prices.input, -m.rank))


def _prices(raw: Mapping[str, Any], base: Prices | None = None) -> Prices:
    values = {f.name: getattr(base, f.name) for f in fields(Prices)} if base else {}
    values.update({k: float(raw[k]) for k in _PRICE_KEYS if k in raw})
    return Prices(**values)


def _model(name: str, raw: Mapping[str, Any], base: ModelInfo | None) -> ModelInfo:
    tier = str(raw.get("tier", base.tier if base else "balanced"))
    if tier not in TIERS:
        raise ValueError(f"model {name}: tier must be one of {', '.join(TIERS)}, not {tier!r}")
    long_raw = raw.get("long_prompt")
    long_prompt = base.long_prompt if base else None
    if isinstance(long_raw, Mapping):
        long_prompt = _prices(long_raw, long_prompt)
    model = ModelInfo(
        name=name,
        tier=tier,
        prices=_prices(raw, base.prices if base else None),
        long_prompt=long_prompt,
    )
    keep = base or model
    scalars: dict[str, Any] = {}
    for key in ("provider", "rank", "legacy", "context", "max_output", "latency"):
        scalars[key] = raw.get(key, getattr(keep, key))
    scalars["long_prompt_threshold"] = raw.get("long_prompt_threshold", keep.long_prompt_threshold)
    return replace(model, **scalars)


@lru_cache(maxsize=1)
def _shipped() -> dict[str, Any]:
    with TABLE_PATH.open("rb") as fh:
        return tomllib.load(fh)


def load_models(config: Mapping[str, Any] | None = None) -> ModelTable:
    """The shipped table with the user's `models` overrides merged over it.

    `config` is the executor's config dict (`{"models": {NAME: {...}}, ...}`); a model given
    there replaces only the fields it names, and a new name adds a model.
    """
    raw = _shipped()
    overrides = dict((config or {}).get("models") or {})
    models: dict[str, ModelInfo] = {}
    for name, spec in raw.get("models", {}).items():
        models[name] = _model(name, spec, None)
    for name, spec in overrides.items():
        if not isinstance(spec, Mapping):
            raise ValueError(f"models.{name} must be a table")
        models[name] = _model(name, spec, models.get(name))
    profile = {
        level: (int(v.get("input_tokens", 0)), int(v.get("output_tokens", 0)))
        for level, v in raw.get("estimate", {}).items()
    }
    meta = raw.get("meta", {})
    return ModelTable(models, profile, str(meta.get("checked", "")), str(meta.get("source", "")))

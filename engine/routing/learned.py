"""The learned part of the complexity estimate: weights fitted by `tools/train_complexity.py`,
read from `complexity_model.json` and applied in plain Python (no numpy at run time).

score = intercept + Σ weight · z(signal), clipped to ±3 + Σ weight · tfidf(term)

The TF-IDF part mirrors scikit-learn's (sublinear counts, smoothed idf, L2 norm over the terms
the model knows), so the training script can check that this scorer and the fitted model agree
to the third decimal on every training text. `Scored.contributions` keeps each input's share of
the score, which is what the estimate's reasons are made of.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from engine.routing.signals import SIGNAL_NAMES, Z_CLIP, Prepared, signals, terms

MODEL_PATH = Path(__file__).with_name("complexity_model.json")


@dataclass(slots=True)
class Scored:
    score: float
    signals: list[tuple[str, float]]  # (signal name, contribution)
    terms: list[tuple[str, float]]  # (term, contribution), only terms the model knows


@dataclass(frozen=True, slots=True)
class ComplexityModel:
    intercept: float
    signal_stats: tuple[tuple[str, float, float, float], ...]  # name, mean, std, weight
    term_weights: dict[str, tuple[float, float]]  # term -> (idf, weight)
    cuts: tuple[float, float]
    critical_at: float
    spread: float
    percentiles: tuple[float, ...]
    config: dict[str, Any]

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ComplexityModel:
        stats = tuple(
            (str(s["name"]), float(s["mean"]), float(s["std"]), float(s["weight"]))
            for s in raw["signals"]
        )
        if tuple(s[0] for s in stats) != SIGNAL_NAMES:
            raise ValueError("complexity model: its signals differ from engine.routing.signals")
        lo, hi = (float(x) for x in raw["cuts"])
        return cls(
            intercept=float(raw["intercept"]),
            signal_stats=stats,
            term_weights={t: (float(v[0]), float(v[1])) for t, v in raw["terms"].items()},
            cuts=(lo, hi),
            critical_at=float(raw["critical_at"]),
            spread=float(raw["score_spread"]),
            percentiles=tuple(float(x) for x in raw["percentiles"]),
            config=dict(raw.get("config") or {}),
        )

    def score(self, p: Prepared) -> Scored:
        sig = [
            (name, max(-Z_CLIP, min(Z_CLIP, (value - mean) / std)) * weight)
            for (name, mean, std, weight), value in zip(self.signal_stats, signals(p), strict=True)
        ]
        total = self.intercept + sum(c for _, c in sig)
        found: list[tuple[str, float, float]] = []  # term, tfidf before the norm, weight
        if self.term_weights:
            for term, count in terms(p).items():
                known = self.term_weights.get(term)
                if known is not None:
                    found.append((term, (1.0 + math.log(count)) * known[0], known[1]))
        norm = math.sqrt(sum(v * v for _, v, _ in found)) or 1.0
        contributions = [(t, v / norm * w) for t, v, w in found if w]
        total += sum(c for _, c in contributions)
        return Scored(total, sig, contributions)


@lru_cache(maxsize=1)
def shipped_model() -> ComplexityModel:
    """The weights shipped with the package (read once per process)."""
    with MODEL_PATH.open(encoding="utf-8") as fh:
        return ComplexityModel.from_dict(json.load(fh))

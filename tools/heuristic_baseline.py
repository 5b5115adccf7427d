"""The hand-weighted estimator br-tui shipped before the learned one (issue 17), kept only as a
baseline for `tools/train_complexity.py`: it is scored on the same folds as the learned model.

Its original notes follow.

Task text -> complexity level, with the signals that fired.

Why a hand-weighted score and not a trained classifier: the only labelled data we have is small
(200 issue texts), and a model fitted to it memorises its projects rather than what makes work
hard. So the score adds a few signals a reviewer would also use, each with a readable weight:

- how much the author had to explain (prose length, code and logs excluded) and how long the
  title is (a subtle problem needs a long title);
- whether the author is unsure of the cause (hedges, open questions);
- breadth: the change touches several places or must stay consistent between them;
- concepts that make changes hard to get right (inheritance, caching, concurrency, query
  compilation, serialisation, recursion, performance, compatibility);
- cues that the change is small and known (typos, wording, renames, a one-line fix);
- the files a plan task declares it may change.

Each signal is clipped so one cannot decide alone (a one-line plan prompt must not be pushed to
`simple` by its length when it names hard concepts). Thresholds put ~33 % of typical issue texts
at `simple` and ~10 % at `complex` (annotators: 39 % and 9 %), leaning away from under-routing;
`thresholds_for_shares` is the RouteLLM-style knob ("at most X % to the strongest tier").
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

# The word lists are the learned model's signals' own: one copy, so the baseline scores what
# the shipped signals measure.
from engine.routing.signals import BREADTH as _BREADTH
from engine.routing.signals import CRITICAL as _CRITICAL
from engine.routing.signals import EASY as _EASY
from engine.routing.signals import HARD as _HARD
from engine.routing.signals import HEDGE as _HEDGE
from engine.routing.signals import Prepared

LEVELS: tuple[str, ...] = ("simple", "moderate", "complex", "critical")


@dataclass(frozen=True, slots=True)
class Signal:
    """One input to the score: points per unit away from a typical value, clipped in points."""

    name: str
    per_unit: float
    center: float  # a typical issue text's value: a text at every center scores 0
    low: float  # the most points this signal may take away ...
    high: float  # ... and add


# per_unit = the signal's weight / its spread on typical issue texts, so weights compare.
SIGNALS: tuple[Signal, ...] = (
    Signal("explanation length", 1.0 / 0.74, 6.55, -0.8, 1.5),  # log(chars of prose)
    Signal("title length", 0.5 / 0.31, 1.05, -0.4, 1.0),  # title chars / 60
    Signal("uncertainty", 0.8 / 0.84, 0.52, -0.5, 2.0),  # hedges
    Signal("open questions", 0.6 / 0.65, 0.23, -0.25, 2.0),  # '?' in prose
    Signal("breadth", 0.5 / 1.15, 0.67, -0.3, 1.5),  # words saying "several places"
    Signal("hard concepts", 1.0 / 2.27, 1.69, -0.75, 2.5),
    Signal("small-change cues", -0.5 / 0.42, 0.11, -2.0, 0.15),
    Signal("declared files", 0.25, 1.0, -0.25, 1.5),
    Signal("risk cues", 1.5, 0.0, 0.0, 3.0),  # security, data loss, outage
)
_BY_NAME = {s.name: s for s in SIGNALS}

#: Score cut points between simple|moderate|complex: percentiles 33 and 90 of the score on
#: typical issue texts. Annotators put 39 % at simple; cutting lower sends fewer tasks that need
#: more to the fast tier (under-routing costs quality, over-routing only money).
THRESHOLDS: tuple[float, float] = (-1.05, 3.2)
#: Score at every 5th percentile of typical issue texts, for `thresholds_for_shares`.
PERCENTILES: tuple[float, ...] = (
    -4.94, -2.81, -2.52, -2.22, -1.86, -1.58, -1.31, -1.03, -0.73, -0.55,
    -0.28, -0.11, 0.23, 0.52, 0.96, 1.26, 1.49, 2.41, 3.21, 4.79, 7.23,
)  # fmt: skip
#: Above this (or with a critical cue above the complex cut) the level is `critical`.
CRITICAL_AT = 7.0


@dataclass(slots=True)
class Estimate:
    level: str
    score: float
    reasons: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {"level": self.level, "score": round(self.score, 3), "reasons": list(self.reasons)}


def _measure(text: str, t: Prepared, files: Sequence[str] | None) -> dict[str, float]:
    title = text.strip().split("\n", 1)[0]
    return {
        "explanation length": math.log1p(len(t.prose.strip())),
        "title length": len(title) / 60.0,
        "uncertainty": float(len(_HEDGE.hits(t.prose_words, t.prose))),
        "open questions": float(t.prose.count("?")),
        "breadth": float(len(_BREADTH.hits(t.prose_words, t.prose))),
        "hard concepts": float(len(_HARD.hits(t.words, t.lower))),
        "small-change cues": float(len(_EASY.hits(t.words, t.lower))),
        "declared files": float(len(files)) if files else _BY_NAME["declared files"].center,
        "risk cues": float(len(_CRITICAL.findall(t.lower))),
    }


def measure(text: str, files: Sequence[str] | None = None) -> dict[str, float]:
    """The raw value of each signal (before weights), for reasons, tests and the bench."""
    return _measure(text, Prepared.of(text), files)


def _contribution(sig: Signal, value: float) -> float:
    return max(sig.low, min(sig.high, (value - sig.center) * sig.per_unit))


def estimate(
    text: str,
    files: Sequence[str] | None = None,
    *,
    thresholds: tuple[float, float] = THRESHOLDS,
) -> Estimate:
    """Heuristic, no network, ~20 µs for a typical issue; reasons name the signals that moved it."""
    t = Prepared.of(text)
    values = _measure(text, t, files)
    parts = [(sig, values[sig.name], _contribution(sig, values[sig.name])) for sig in SIGNALS]
    score = sum(c for _, _, c in parts)
    lo, hi = thresholds
    level = "simple" if score <= lo else "moderate" if score <= hi else "complex"
    critical_cue = _CRITICAL.search(t.lower)
    if score > CRITICAL_AT or (critical_cue and score > hi):
        level = "critical"
    reasons = [
        f"{sig.name} {'+' if c >= 0 else ''}{c:.2f}"
        for sig, _, c in sorted(parts, key=lambda p: -abs(p[2]))
        if abs(c) >= 0.15
    ][:5]
    hard = sorted(set(_HARD.hits(t.words, t.lower)))[:4]
    if hard:
        reasons.append("hard concepts: " + ", ".join(hard))
    easy = sorted(set(_EASY.hits(t.words, t.lower)))[:3]
    if easy:
        reasons.append("small-change cues: " + ", ".join(easy))
    if critical_cue and level == "critical":
        reasons.append(f"critical cue: {critical_cue.group(0)}")
    return Estimate(level, score, reasons)


def thresholds_for_shares(simple_share: float, strong_share: float) -> tuple[float, float]:
    """Cut points that send about `simple_share` of typical tasks to the fast tier and
    `strong_share` to the strongest, read off the stored percentiles (linear in between)."""

    def at(q: float) -> float:
        q = min(max(q, 0.0), 1.0) * (len(PERCENTILES) - 1)
        i = min(int(q), len(PERCENTILES) - 2)
        return PERCENTILES[i] + (PERCENTILES[i + 1] - PERCENTILES[i]) * (q - i)

    return at(simple_share), at(1.0 - strong_share)


def level_index(level: str) -> int:
    return LEVELS.index(level)

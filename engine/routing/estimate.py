"""Task text -> complexity level, with the inputs that moved it most.

The score is learned (`engine.routing.learned`): a ridge regression on the level, fitted by
`tools/train_complexity.py` on 338 labelled SWE-bench issues over a few robust signals (how much
prose, code, tracebacks, hedges, questions, breadth, hard concepts, small-change cues) and the
text's words, with penalty, text weight and cut points all chosen by nested cross-validation.
Its cut points are placed to send fewer tasks to the fast tier than the labels would (less
under-routing for a little agreement), and `thresholds_for_shares` is the RouteLLM-style knob
("send about X % to the fast tier and Y % to the strongest").

Two priors sit outside what the training data can teach (SWE-bench issues declare no files and
almost never mention outages): each file glob a plan task declares beyond the first adds a
quarter of the score's spread (up to 1.5 spreads), and risk cues (security hole, data loss,
outage, CVE) add one spread each (up to two) and can make a task `critical`.

Text alone has a low ceiling (the annotators saw the fix, the estimator sees only the issue), so
routing also learns from outcomes (`engine.routing.outcomes`) and escalates failed attempts
(`engine.routing.cascade`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from engine.routing.learned import ComplexityModel, Scored, shipped_model
from engine.routing.signals import CRITICAL, EASY, HARD, Prepared

LEVELS: tuple[str, ...] = ("simple", "moderate", "complex", "critical")
MAX_TEXT = 100_000  # longer texts are cut: the score saturates long before
# Words that count in the score but explain nothing when shown as a reason.
_QUIET = frozenset(
    [
        "the",
        "and",
        "for",
        "with",
        "that",
        "this",
        "from",
        "are",
        "was",
        "were",
        "has",
        "have",
        "had",
        "not",
        "but",
        "you",
        "your",
        "its",
        "it's",
        "our",
        "can",
        "will",
        "would",
        "should",
        "could",
        "when",
        "then",
        "than",
        "there",
        "their",
        "them",
        "they",
        "what",
        "which",
        "who",
        "how",
        "why",
        "into",
        "onto",
        "out",
        "about",
        "also",
        "just",
        "only",
        "some",
        "any",
        "all",
        "one",
        "two",
        "use",
        "used",
        "using",
        "get",
        "set",
        "see",
    ]
)


@dataclass(slots=True)
class Estimate:
    level: str
    score: float
    reasons: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {"level": self.level, "score": round(self.score, 3), "reasons": list(self.reasons)}


def _priors(
    model: ComplexityModel, files: Sequence[str] | None, risk: int
) -> list[tuple[str, float]]:
    out = []
    if files and len(files) > 1:
        out.append(("declared files", min(1.5, 0.25 * (len(files) - 1)) * model.spread))
    if risk:
        out.append(("risk cues", min(2, risk) * model.spread))
    return out


def _reasons(scored: Scored, priors: list[tuple[str, float]], spread: float) -> list[str]:
    """The signals and words that moved the score most, in readable units."""
    moved = sorted(scored.signals + priors, key=lambda s: -abs(s[1]))
    out = [f"{name} {c:+.2f}" for name, c in moved if abs(c) >= 0.1 * spread][:4]
    terms = sorted(
        (t for t in scored.terms if len(t[0]) > 2 and t[0] not in _QUIET), key=lambda t: -abs(t[1])
    )
    up = [t for t, c in terms if c > 0][:4]
    down = [t for t, c in terms if c < 0][:3]
    if up:
        out.append("words toward harder: " + ", ".join(up))
    if down:
        out.append("words toward easier: " + ", ".join(down))
    return out


def estimate(
    text: str,
    files: Sequence[str] | None = None,
    *,
    thresholds: tuple[float, float] | None = None,
    model: ComplexityModel | None = None,
) -> Estimate:
    """Learned score, no network, tens of µs for a typical issue; reasons name what moved it."""
    model = model or shipped_model()
    p = Prepared.of(text[:MAX_TEXT])
    scored = model.score(p)
    risk = CRITICAL.findall(p.lower)
    priors = _priors(model, files, len(risk))
    score = scored.score + sum(c for _, c in priors)
    lo, hi = thresholds or model.cuts
    level = "simple" if score <= lo else "moderate" if score <= hi else "complex"
    if score > model.critical_at or (risk and score > hi):
        level = "critical"
    reasons = _reasons(scored, priors, model.spread)
    for name, lexicon, most in (("hard concepts", HARD, 4), ("small-change cues", EASY, 3)):
        hits = sorted(set(lexicon.hits(p.words, p.lower)))[:most]
        if hits:
            reasons.append(f"{name}: {', '.join(hits)}")
    if risk and level == "critical":
        reasons.append(f"critical cue: {risk[0]}")
    return Estimate(level, score, reasons)


def thresholds_for_shares(
    simple_share: float, strong_share: float, model: ComplexityModel | None = None
) -> tuple[float, float]:
    """Cut points that send about `simple_share` of typical tasks to the fast tier and
    `strong_share` to the strongest, read off the score's stored out-of-fold percentiles."""
    pct = (model or shipped_model()).percentiles

    def at(q: float) -> float:
        q = min(max(q, 0.0), 1.0) * (len(pct) - 1)
        i = min(int(q), len(pct) - 2)
        return pct[i] + (pct[i + 1] - pct[i]) * (q - i)

    return at(simple_share), at(1.0 - strong_share)

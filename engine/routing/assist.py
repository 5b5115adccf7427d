"""Model-assisted complexity estimate: ask the fast model for a level, keep the heuristic's
reasons, and fall back to the heuristic on any failure.

Opt-in (`[agent] estimator = "model"`) because it costs a call per task and a network round
trip; the heuristic stays the default. The answer is constrained to one word and parsed
strictly: anything else counts as a failure, never as a guess.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from engine.routing.estimate import LEVELS, Estimate, estimate
from engine.routing.models import Usage

PROMPT = (
    "You triage software tasks for an AI coding agent. Reply with exactly one word - simple, "
    "moderate, complex or critical - for how hard this task is for an experienced engineer "
    "(simple: under 15 minutes; moderate: under an hour; complex: hours; critical: days or "
    "high risk).\n\nTask:\n{text}\n\nFiles it may change: {files}"
)
_WORD = re.compile(r"\b(simple|moderate|complex|critical)\b", re.I)
MAX_TEXT = 8000


@dataclass(slots=True)
class Assisted:
    estimate: Estimate
    model: str
    usage: Usage | None  # None: no call was made or it failed before usage
    error: str | None = None


async def assisted_estimate(
    text: str,
    files: Sequence[str] | None,
    *,
    client: Any,
    model: str,
    timeout_s: float = 20.0,
) -> Assisted:
    """`client` is an `anthropic.AsyncAnthropic`; the heuristic answers if anything fails."""
    base = estimate(text, files)
    prompt = PROMPT.format(text=text[:MAX_TEXT], files=", ".join(files or []) or "not declared")
    try:
        response = await client.messages.create(
            model=model,
            max_tokens=5,
            messages=[{"role": "user", "content": prompt}],
            timeout=timeout_s,
        )
    except Exception as exc:  # any failure: the heuristic answers
        return Assisted(base, model, None, f"{type(exc).__name__}: {exc}")
    raw = getattr(response, "usage", None)
    usage = Usage(
        input_tokens=int(getattr(raw, "input_tokens", 0) or 0),
        output_tokens=int(getattr(raw, "output_tokens", 0) or 0),
    )
    answer = "".join(getattr(b, "text", "") for b in getattr(response, "content", []))
    found = _WORD.search(answer)
    if not found:
        return Assisted(base, model, usage, f"unparseable answer {answer[:40]!r}")
    level = found.group(1).lower()
    assert level in LEVELS
    reasons = [f"model {model} says {level} (heuristic: {base.level})", *base.reasons]
    return Assisted(Estimate(level, base.score, reasons), model, usage)

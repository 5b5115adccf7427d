"""Failed agent calls: what kind of failure, and what to do about it.

One vocabulary for both backends (an HTTP status from the SDK, or the text a CLI agent printed),
so retries, fallbacks and the Costs screen treat a 429 the same wherever it came from.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable

RATE_LIMITED = "rate_limited"
OVERLOADED = "overloaded"
TIMEOUT = "timeout"
CONTEXT_TOO_LONG = "context_too_long"
AUTHENTICATION = "authentication"
SERVER_ERROR = "server_error"
NETWORK = "network"
TASK_FAILURE = "task_failure"

CLASSES = (
    RATE_LIMITED,
    OVERLOADED,
    TIMEOUT,
    CONTEXT_TOO_LONG,
    AUTHENTICATION,
    SERVER_ERROR,
    NETWORK,
    TASK_FAILURE,
)
#: Worth calling again (after a pause) with the same model.
TRANSIENT = frozenset({RATE_LIMITED, OVERLOADED, SERVER_ERROR, NETWORK, TIMEOUT})
#: Worth trying another model for.
FALLBACK = frozenset({OVERLOADED, CONTEXT_TOO_LONG})

# Order matters: the first match wins (an auth error page may also say "error 500" nowhere,
# but an overloaded message often carries "529", so status-specific words come first).
_TEXT_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (AUTHENTICATION, re.compile(
        r"\b401\b|authentication|invalid (?:x-)?api[ -]?key|unauthori[sz]ed|"
        r"please run /login|not logged in|permission denied|\b403\b", re.I)),
    (CONTEXT_TOO_LONG, re.compile(
        r"prompt is too long|context (?:length|window)|too many (?:input )?tokens|"
        r"maximum context|exceeds? (?:the )?(?:model'?s? )?(?:max|context)", re.I)),
    (RATE_LIMITED, re.compile(r"\b429\b|rate[ _-]?limit|too many requests", re.I)),
    (OVERLOADED, re.compile(r"\b529\b|overloaded", re.I)),
    (TIMEOUT, re.compile(r"timed? ?out|timeout|deadline exceeded", re.I)),
    (SERVER_ERROR, re.compile(
        r"\b50[0-4]\b|internal server error|server error|bad gateway|service unavailable",
        re.I)),
    (NETWORK, re.compile(
        r"econnrefused|econnreset|enotfound|eai_again|connection (?:error|refused|reset)|"
        r"network|fetch failed|socket hang up|getaddrinfo", re.I)),
)  # fmt: skip


def classify_status(status: int | None) -> str | None:
    """An HTTP status from the Messages API, or None when the status alone doesn't say."""
    if status is None:
        return None
    if status in (401, 403):
        return AUTHENTICATION
    if status == 429:
        return RATE_LIMITED
    if status == 529:
        return OVERLOADED
    if status in (408, 504):
        return TIMEOUT
    if status == 413:
        return CONTEXT_TOO_LONG
    if status >= 500:
        return SERVER_ERROR
    return None


def classify_text(text: str) -> str:
    """A failure message (API error body, CLI output) -> a class; `task_failure` if none fits."""
    for name, pattern in _TEXT_RULES:
        if pattern.search(text or ""):
            return name
    return TASK_FAILURE


def classify(status: int | None, message: str = "") -> str:
    """Status first, then the message: a 400 saying "prompt is too long" is a context error."""
    by_status = classify_status(status)
    if by_status is not None:
        return by_status
    return classify_text(message)


def parse_retry_after(value: str | None) -> float | None:
    """`retry-after` in seconds (we don't honour HTTP dates: the API sends seconds)."""
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def backoff_delay(
    retry: int,
    *,
    retry_after: float | None = None,
    base: float = 1.0,
    cap: float = 30.0,
    rand: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait before retry number `retry` (1-based).

    A server that says when to come back is obeyed (plus up to 10 % jitter so a pool of
    workers doesn't return in lock-step); otherwise exponential backoff with "equal jitter":
    half the step fixed, half random, capped.
    """
    if retry_after is not None:
        return retry_after * (1.0 + 0.1 * rand())
    step = min(cap, base * (2 ** max(0, retry - 1)))
    return step / 2 + rand() * step / 2

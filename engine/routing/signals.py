"""What a task text says about its size, measured the same way at training and at run time.

Two kinds of input feed the learned estimate (`engine.routing.learned`):

- `signals(text)`: a few robust numbers a reviewer would also look at (how much prose the author
  needed, code and tracebacks, hedges, open questions, breadth words, hard concepts, small-change
  cues), each log-scaled so one long log or a pasted file cannot dominate;
- `terms(text)`: the words of the text for its bag-of-words part.

The training script (`tools/train_complexity.py`) imports these very functions, so what the
shipped weights were fitted on is exactly what `estimate()` measures. Pure Python and quick:
`routing estimate --batch` scores thousands of texts a second.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

_CODE_BLOCK = re.compile(r"```.*?```", re.S)
# Lines that are code, logs, doctest sessions or traceback frames, not explanation (lower case).
_CODE_LINE = re.compile(
    r"^(?:    |\t|\s*>>>|\s*\.\.\. |\s*In \[\d|\s*Out\[\d|\s*file \"|\s*[$#] |\s*\w*error:).*$",
    re.M,
)
_WORD = re.compile(r"[a-z][a-z0-9'_-]*")
#: The bag-of-words tokens: identifiers and words of two characters or more.
TERM = re.compile(r"[a-z_][a-z0-9_]+")
_IDENTIFIER = re.compile(r"\b[a-z_]\w*\.[a-z_]\w*\b|\b[a-z_]\w*\(\)")
_SENTENCE_END = re.compile(r"[.:?!](?:\s|$)")
#: Standardised signals are clipped here (training and run time alike): a pasted file or a
#: one-line plan prompt must not push the score beyond anything the model was fitted on.
Z_CLIP = 3.0


@dataclass(frozen=True, slots=True)
class Lexicon:
    """Words, word prefixes and phrases that signal one thing. Matching walks the text's words
    once instead of running a big case-insensitive alternation."""

    words: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()

    def hits(self, words: list[str], lower: str) -> list[str]:
        found = [w for w in words if w in self.words or w.startswith(self.prefixes)]
        if self.phrases:
            found += [p for p in self.phrases if p in lower for _ in range(lower.count(p))]
        return found


def _lex(words: str = "", prefixes: str = "", phrases: tuple[str, ...] = ()) -> Lexicon:
    return Lexicon(frozenset(words.split()), tuple(prefixes.split()), phrases)


HEDGE = _lex(
    "unsure might maybe perhaps unclear seem seems somehow probably possibly apparently",
    "wonder suspect",
    ("not sure", "i think", "i guess", "i believe", "don't know", "dont know", "no idea"),
)
BREADTH = _lex(
    "also both another additionally several multiple various each every everywhere across",
    "consisten inconsisten",
    ("as well", "all the"),
)
HARD = _lex(
    "mro nested lazy proxy design architecture performance distributed consensus scheduler "
    "protocol query queries",
    "subclass inherit metaclass thread concurren deadlock async coroutine cach serializ "
    "serialis pickl recurs queryset subquer compil parser parsing combin refactor redesign "
    "optimiz optimis migration descriptor transaction",
    ("race condition", "memory leak", "backward compat", "backwards compat"),
)
EASY = _lex(
    "typo typos spelling misspelled misspelling wording grammar trivial",
    "renam one-line",
    (
        "one line",
        "simple fix",
        "easy fix",
        "small fix",
        "quick fix",
        "bump version",
        "bump the version",
        "update the docs",
        "update docs",
        "fix the readme",
        "update the readme",
        "update the changelog",
        "fix the docstring",
        "fix the comment",
    ),
)
CRITICAL = re.compile(
    r"security (?:hole|vulnerabilit\w*|issue)|data loss|data corruption|corrupt\w*|outage|"
    r"production (?:is )?down|cve-\d+|remote code execution|privilege escalation"
)

#: The signals in the order the weights file stores them.
SIGNAL_NAMES: tuple[str, ...] = (
    "explanation length",
    "text length",
    "lines",
    "title length",
    "code",
    "traceback",
    "identifiers",
    "uncertainty",
    "open questions",
    "breadth",
    "hard concepts",
    "small-change cues",
)


@dataclass(slots=True)
class Prepared:
    """A text prepared once: lower case, its prose, and the words of each."""

    text: str
    lower: str
    prose: str
    words: list[str]
    prose_words: list[str]

    @classmethod
    def of(cls, text: str) -> Prepared:
        lower = text.lower()
        prose = _CODE_LINE.sub("", _CODE_BLOCK.sub("", lower))
        return cls(text, lower, prose, _WORD.findall(lower), _WORD.findall(prose))


def title(text: str) -> str:
    """An issue's first line; for a one-line task, its first sentence."""
    text = text.strip()
    if "\n" in text:
        return text.split("\n", 1)[0]
    end = _SENTENCE_END.search(text)
    return text[: end.start()] if end else text


def signals(p: Prepared) -> list[float]:
    """The robust numbers, in `SIGNAL_NAMES` order; counts are log1p-scaled."""
    first = title(p.text)
    code_lines = len(_CODE_LINE.findall(p.lower)) + p.lower.count("\n```")
    log = math.log1p
    return [
        log(len(p.prose.strip())),
        log(len(p.text)),
        log(p.text.count("\n")),
        min(len(first), 240) / 60.0,
        log(code_lines),
        1.0 if "traceback (most recent call last)" in p.lower else 0.0,
        log(len(set(_IDENTIFIER.findall(p.lower)))),
        log(len(HEDGE.hits(p.prose_words, p.prose))),
        log(p.prose.count("?")),
        log(len(BREADTH.hits(p.prose_words, p.prose))),
        log(len(HARD.hits(p.words, p.lower))),
        log(len(EASY.hits(p.words, p.lower))),
    ]


def terms(p: Prepared) -> dict[str, int]:
    """Counts of the text's bag-of-words tokens."""
    counts: dict[str, int] = {}
    for t in TERM.findall(p.lower):
        counts[t] = counts.get(t, 0) + 1
    return counts

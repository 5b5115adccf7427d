"""Could two file globs ever name the same file? Conservative: when unsure, say yes.

Locks are taken on globs, not on files that exist now: a task may create files. So we compare
patterns segment by segment: `**` matches any number of segments, a literal segment must be
matched by the other side's segment, and two wildcard segments are disjoint only when their
fixed prefixes or suffixes contradict (`*.py` vs `*.md`). Over-locking only costs parallelism;
under-locking would corrupt files, so every doubt resolves to "overlap".
"""

from __future__ import annotations

import fnmatch
import re
from functools import lru_cache

_WILD = re.compile(r"[*?\[]")


def _segments(pattern: str) -> tuple[str, ...]:
    parts = [p for p in pattern.replace("\\", "/").split("/") if p not in ("", ".")]
    return tuple(parts)


def _segment_overlap(a: str, b: str) -> bool:
    wa, wb = bool(_WILD.search(a)), bool(_WILD.search(b))
    if not wa and not wb:
        return a == b
    if not wa:
        return fnmatch.fnmatchcase(a, b)
    if not wb:
        return fnmatch.fnmatchcase(b, a)
    pa, pb = _fixed_prefix(a), _fixed_prefix(b)
    if not (pa.startswith(pb) or pb.startswith(pa)):
        return False
    sa, sb = _fixed_suffix(a), _fixed_suffix(b)
    return sa.endswith(sb) or sb.endswith(sa)


def _fixed_prefix(seg: str) -> str:
    m = _WILD.search(seg)
    return seg[: m.start()] if m else seg


def _fixed_suffix(seg: str) -> str:
    last = max(seg.rfind("*"), seg.rfind("?"), seg.rfind("]"))
    return seg[last + 1 :] if last >= 0 else seg


@lru_cache(maxsize=4096)
def globs_overlap(a: str, b: str) -> bool:
    return _overlap(_segments(a), _segments(b))


def _overlap(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    # Iterative over a memo of (i, j) states: patterns are short, but `**` branches.
    seen: set[tuple[int, int]] = set()
    stack = [(0, 0)]
    while stack:
        i, j = stack.pop()
        if (i, j) in seen:
            continue
        seen.add((i, j))
        if i == len(a) and j == len(b):
            return True
        if i < len(a) and a[i] == "**":
            stack.append((i + 1, j))  # ** matches nothing
            if j < len(b):
                stack.append((i, j + 1))  # ** swallows one of b's segments
            continue
        if j < len(b) and b[j] == "**":
            stack.append((i, j + 1))
            if i < len(a):
                stack.append((i + 1, j))
            continue
        if i == len(a) or j == len(b):
            # A lock on a directory path covers what is under it.
            return True
        if _segment_overlap(a[i], b[j]):
            stack.append((i + 1, j + 1))
    return False


def any_overlap(mine: tuple[str, ...] | list[str], theirs: tuple[str, ...] | list[str]) -> bool:
    return any(globs_overlap(x, y) for x in mine for y in theirs)


def path_matches(path: str, patterns: tuple[str, ...] | list[str]) -> bool:
    """Is a concrete changed file covered by one of a task's declared globs?"""
    return any(globs_overlap(path, p) for p in patterns)

"""Inline allow comments: the conventions users already have, plus br-tui's own.

`br:allow`, `pragma: allowlist secret`, `gitleaks:allow` and `nosec` on the finding's line allow
it; `br:allow-next-line` or `pragma: allowlist nextline secret` on the line above allow a line
that can't hold a trailing comment (a PEM block, a JSON value, a heredoc).
"""

from __future__ import annotations

_SAME_LINE = ("br:allow", "pragma: allowlist secret", "gitleaks:allow", "nosec", "noqa: br")
_NEXT_LINE = ("br:allow-next-line", "pragma: allowlist nextline secret")
_ANY = ("br:allow", "allowlist", "gitleaks:allow", "nosec", "noqa: br")


def has_allow_marker(text: str) -> bool:
    """Cheap test so files without any marker skip the per-line check entirely."""
    return any(m in text for m in _ANY)


def allowed_lines(text: str) -> set[int]:
    """1-based line numbers whose findings the author has explicitly allowed."""
    out: set[int] = set()
    for number, line in enumerate(text.splitlines(), 1):
        if any(m in line for m in _NEXT_LINE):
            out.add(number + 1)
        elif any(m in line for m in _SAME_LINE):
            out.add(number)
    return out

"""The one masker: scanner output, telemetry, logs and the UI all show secrets through it.

`mask` hides a value we already know is secret; `redact` finds secret-looking substrings in free
text (task output, command lines, prompts) and masks them in place. `redact` sits on the hot path
of every stored string, so it rejects most text with one cheap prefilter before any rule runs.
"""

from __future__ import annotations

import re

_KEEP = 4
_MIN_FOR_PARTIAL = 16


def mask(value: str) -> str:
    """First and last 4 characters for long values; short ones are hidden completely."""
    if len(value) < _MIN_FOR_PARTIAL:
        return "*" * max(len(value), 4)
    return f"{value[:_KEEP]}{'*' * min(len(value) - 2 * _KEEP, 12)}{value[-_KEEP:]}"


# High-confidence shapes that are secrets wherever they appear in free text.
_SECRET_SHAPES = [
    r"sk-ant-[A-Za-z0-9_\-]{20,}",
    r"sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}",
    r"(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}",
    r"gh[pousr]_[A-Za-z0-9]{36,}",
    r"github_pat_[A-Za-z0-9_]{40,}",
    r"glpat-[A-Za-z0-9_\-]{20,}",
    r"xox[abposr]-[A-Za-z0-9\-]{10,}",
    r"hooks\.slack\.com/services/[A-Za-z0-9/]+",
    r"(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}",
    r"AIza[0-9A-Za-z_\-]{35}",
    r"SG\.[A-Za-z0-9_\-]{16,}\.[A-Za-z0-9_\-]{16,}",
    r"hf_[A-Za-z0-9]{30,}",
    r"npm_[A-Za-z0-9]{36}",
    r"pypi-[A-Za-z0-9_\-]{50,}",
    r"eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}",
    r"(?<=://)[^/\s:@]+:[^/\s@]{3,}(?=@)",
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----",
]
# Values after a secret-ish keyword (`password=...`, `API_KEY: ...`, `--token ...`).
_KEYWORD_VALUE = (
    r"(?i:(?:passw(?:or)?d|secret|token|api[_-]?key|access[_-]?key|auth|credential)s?)"
    r"[\"']?\s*(?:[:=]|\s)\s*[\"']?([^\s\"',;]{8,})"
)
_RX = re.compile("|".join(f"(?:{p})" for p in _SECRET_SHAPES) + f"|{_KEYWORD_VALUE}")
_PREFILTER = re.compile(
    r"sk-|AKIA|ASIA|ABIA|ACCA|gh[pousr]_|github_pat|glpat|xox|hooks\.slack|_live_|_test_|AIza|SG\."
    r"|hf_|npm_|pypi-|eyJ|://|PRIVATE KEY|(?i:pass|secret|token|key|auth|credential)"
)


def _sub(match: re.Match[str]) -> str:
    if match.group(1) is not None:  # keyword=value: keep the keyword, mask the value
        start, end = match.span(1)
        whole = match.group(0)
        offset = match.start(0)
        value = match.group(1)
        if not _looks_secret(value):
            return whole
        return whole[: start - offset] + mask(value) + whole[end - offset :]
    return mask(match.group(0))


def _looks_secret(value: str) -> bool:
    """A keyword's value is only masked when it isn't obviously a placeholder or a word."""
    if value.startswith(("$", "<", "{", "%")) or value.lower() in {"none", "null", "true", "false"}:
        return False
    kinds = sum(
        (
            any(c.islower() for c in value),
            any(c.isupper() for c in value),
            any(c.isdigit() for c in value),
            any(not c.isalnum() for c in value),
        )
    )
    return kinds >= 2


def redact(text: str) -> str:
    """Mask every secret-looking substring of `text`; text with no candidate is returned as is."""
    if not text or _PREFILTER.search(text) is None:
        return text
    return _RX.sub(_sub, text)

"""How a secret value is shown wherever it must appear at all: the one masking format.

A module of its own so the detectors (which mask what they report) and the masker (which runs the
detectors over free text) both use it without importing each other.
"""

from __future__ import annotations

_KEEP = 4
_MIN_FOR_PARTIAL = 16


def mask(value: str) -> str:
    """First and last 4 characters for long values; short ones are hidden completely."""
    if len(value) < _MIN_FOR_PARTIAL:
        return "*" * max(len(value), 4)
    return f"{value[:_KEEP]}{'*' * min(len(value) - 2 * _KEEP, 12)}{value[-_KEEP:]}"

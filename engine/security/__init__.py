"""Secret and SQL-injection scanning, and the masker every other part uses."""

from engine.security.masking import mask, redact

__all__ = ["mask", "redact"]

"""The one record every detector produces and every output format, baseline and screen consumes.

A plain slotted class rather than a dataclass: `dataclasses` imports `inspect`, which costs a git
hook more than scanning a small commit.
"""

from __future__ import annotations

_FIELDS = (
    "path",
    "line",
    "column",
    "rule_id",
    "kind",
    "severity",
    "message",
    "match",
    "fingerprint",
)


class Finding:
    """A secret or an injectable query at one place in one file.

    `match` is always masked: the raw value never leaves the detector. `fingerprint` hashes the
    rule, the path and the raw value (not the line), so a baseline entry survives the line moving.
    Immutable, compared and hashed by value.
    """

    __slots__ = _FIELDS

    path: str
    line: int
    column: int
    rule_id: str
    kind: str  # "secret" | "sqli"
    severity: str  # "high" | "medium" | "low"
    message: str
    match: str
    fingerprint: str

    def __init__(
        self,
        path: str,
        line: int,
        column: int,
        rule_id: str,
        kind: str,
        severity: str,
        message: str,
        match: str,
        fingerprint: str = "",
    ) -> None:
        values = (path, line, column, rule_id, kind, severity, message, match, fingerprint)
        for name, value in zip(_FIELDS, values, strict=True):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Finding is immutable: cannot assign to {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Finding is immutable: cannot delete {name!r}")

    def _key(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in _FIELDS)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._key() == other._key()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in _FIELDS)
        return f"Finding({inner})"

    def __reduce__(self) -> tuple[type[Finding], tuple[object, ...]]:
        return (Finding, self._key())

    def replace(self, **changes: object) -> Finding:
        """A copy with some fields changed (`dataclasses.replace` for this class)."""
        values = {name: getattr(self, name) for name in _FIELDS}
        values.update(changes)
        return Finding(**values)  # type: ignore[arg-type]

    def to_dict(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in _FIELDS}


def _sha256():  # -> the sha256 constructor
    """CPython's built-in SHA-256 (`_sha2` from 3.12, `_sha256` before): the same digest as
    `hashlib.sha256`, without `hashlib` loading OpenSSL (~2.5 ms of a git hook that reports a
    finding). `hashlib` wherever the built-in module is missing."""
    for name in ("_sha2", "_sha256"):
        try:
            return __import__(name).sha256
        except (ImportError, AttributeError):
            continue
    import hashlib

    return hashlib.sha256


_SHA256 = None


def fingerprint(rule_id: str, path: str, raw: str) -> str:
    """Stable identity of a finding that does not depend on where in the file it sits."""
    global _SHA256
    if _SHA256 is None:  # only files with findings pay for it
        _SHA256 = _sha256()
    digest = _SHA256(f"{rule_id}\0{path}\0{raw}".encode("utf-8", "surrogatepass"))
    return digest.hexdigest()[:20]

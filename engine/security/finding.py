"""The one record every detector produces and every output format, baseline and screen consumes."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True, slots=True)
class Finding:
    """A secret or an injectable query at one place in one file.

    `match` is always masked: the raw value never leaves the detector. `fingerprint` hashes the
    rule, the path and the raw value (not the line), so a baseline entry survives the line moving.
    """

    path: str
    line: int
    column: int
    rule_id: str
    kind: str  # "secret" | "sqli"
    severity: str  # "high" | "medium" | "low"
    message: str
    match: str
    fingerprint: str = field(default="")

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def fingerprint(rule_id: str, path: str, raw: str) -> str:
    """Stable identity of a finding that does not depend on where in the file it sits."""
    digest = hashlib.sha256(f"{rule_id}\0{path}\0{raw}".encode("utf-8", "surrogatepass"))
    return digest.hexdigest()[:20]

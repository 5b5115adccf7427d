"""Accepted findings, keyed by fingerprint (rule + path + hash of the value), never by line.

Line numbers and timestamps in a baseline cause merge conflicts and go stale when code moves; a
fingerprint stays put. The file holds no secret: only the masked match, for the reviewer.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from engine.security.finding import Finding

VERSION = 1


def load_baseline(path: Path | str) -> set[str]:
    """Fingerprints accepted in the baseline file; an absent file accepts nothing."""
    try:
        data = json.loads(Path(path).read_text("utf-8"))
    except FileNotFoundError:
        return set()
    except (OSError, ValueError) as exc:
        raise ValueError(f"baseline {path}: {exc}") from exc
    return {str(entry["fingerprint"]) for entry in data.get("accepted", [])}


def save_baseline(path: Path | str, findings: Iterable[Finding]) -> int:
    """Write `findings` as the accepted set (sorted, so diffs stay small); returns the count."""
    entries = sorted(
        {
            f.fingerprint: {
                "fingerprint": f.fingerprint,
                "rule_id": f.rule_id,
                "path": f.path,
                "match": f.match,
            }
            for f in findings
        }.values(),
        key=lambda e: (e["path"], e["rule_id"], e["fingerprint"]),
    )
    Path(path).write_text(
        json.dumps({"version": VERSION, "accepted": entries}, indent=2) + "\n", "utf-8"
    )
    return len(entries)


def accept(path: Path | str, findings: Iterable[Finding]) -> int:
    """Add `findings` to the baseline, keeping what it already accepts."""
    try:
        data = json.loads(Path(path).read_text("utf-8"))
        kept = data.get("accepted", [])
    except FileNotFoundError:
        kept = []
    merged = {e["fingerprint"]: e for e in kept}
    for f in findings:
        merged[f.fingerprint] = {
            "fingerprint": f.fingerprint,
            "rule_id": f.rule_id,
            "path": f.path,
            "match": f.match,
        }
    entries = sorted(merged.values(), key=lambda e: (e["path"], e["rule_id"], e["fingerprint"]))
    Path(path).write_text(
        json.dumps({"version": VERSION, "accepted": entries}, indent=2) + "\n", "utf-8"
    )
    return len(entries)

"""Findings as text (people), JSON (scripts) and SARIF 2.1.0 (GitHub code scanning).

Every format prints `Finding.match`, which the detectors have already masked; no format is given
the raw value, so none can leak it.
"""

from __future__ import annotations

from collections.abc import Sequence

from engine.security.finding import Finding

_SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {"high": "error", "medium": "warning", "low": "note"}


def to_text(findings: Sequence[Finding]) -> str:
    if not findings:
        return "br-tui scan: no findings\n"
    lines = [
        f"{f.path}:{f.line}:{f.column}: {f.severity} {f.rule_id}: {f.message} [{f.match}]"
        for f in findings
    ]
    secrets = sum(f.kind == "secret" for f in findings)
    lines.append(
        f"br-tui scan: {len(findings)} finding(s): {secrets} secret(s), "
        f"{len(findings) - secrets} SQL injection(s). Allow a line with `br:allow`, "
        "or accept with --update-baseline."
    )
    return "\n".join(lines) + "\n"


def to_json(findings: Sequence[Finding]) -> str:
    import json

    return json.dumps({"findings": [f.to_dict() for f in findings]}, indent=2) + "\n"


def to_sarif(findings: Sequence[Finding], descriptions: dict[str, str] | None = None) -> str:
    """A single-run SARIF log; rule metadata for every rule that fired."""
    import json

    descriptions = descriptions or {}
    rule_ids = sorted({f.rule_id for f in findings})
    rules = [
        {
            "id": rid,
            "name": rid,
            "shortDescription": {"text": descriptions.get(rid, rid)},
            "properties": {"tags": ["security"]},
        }
        for rid in rule_ids
    ]
    results = [
        {
            "ruleId": f.rule_id,
            "ruleIndex": rule_ids.index(f.rule_id),
            "level": _LEVEL.get(f.severity, "warning"),
            "message": {"text": f"{f.message} [{f.match}]"},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": f.path.replace("\\", "/")},
                        "region": {"startLine": f.line, "startColumn": f.column},
                    }
                }
            ],
            "partialFingerprints": {"brTuiFingerprint/v1": f.fingerprint},
        }
        for f in findings
    ]
    log = {
        "$schema": _SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "br-tui",
                        "informationUri": "https://github.com/br-tui/br-tui",
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }
    return json.dumps(log, indent=2) + "\n"


def render(findings: Sequence[Finding], fmt: str) -> str:
    if fmt == "json":
        return to_json(findings)
    if fmt == "sarif":
        return to_sarif(findings, {f.rule_id: f.message for f in findings})
    return to_text(findings)

"""br:allow-file -- redact() masks what the scanner flags and leaves ordinary text untouched."""

from __future__ import annotations

import pytest

from engine.security import scan_text
from engine.security.config import ScanConfig
from engine.security.masking import mask, redact
from tests.test_security_rules import CASES

PROVIDER_RULES = sorted(r for r in CASES if r != "high-entropy-value")


@pytest.mark.parametrize("rule_id", PROVIDER_RULES)
def test_redact_masks_every_rule_positive(rule_id: str) -> None:
    text = CASES[rule_id][0]
    out = redact(text)
    assert out != text
    # a rescan may flag the masked value itself (`:_authToken=743b****0002`), never a raw one
    findings = scan_text(out, "x.env", ScanConfig(sqli=False))
    assert all("****" in f.match for f in findings if f.rule_id == rule_id), out


@pytest.mark.parametrize(
    "line",
    [
        "2024-05-01T12:00:00.123Z",
        "s-1a2b3c4d",
        "   Compiling serde v1.0.195",
        "[ 42%] Building CXX object src/CMakeFiles/core.dir/task_queue.cpp.o",
        "PASSED tests/test_engine_run.py::test_retries_then_succeeds",
        '{"event": "task_output", "task": "build-frontend", "seq": 1234, "worker": "w-3"}',
        "npm WARN deprecated inflight@1.0.6: This module is not supported",
    ],
)
def test_redact_returns_ordinary_text_unchanged(line: str) -> None:
    assert redact(line) is line


def test_redact_uses_the_one_masker() -> None:
    value = "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"
    assert redact(f"export STRIPE={value}") == f"export STRIPE={mask(value)}"


def test_prefilter_branches_all_start_with_a_literal() -> None:
    """`re` skips positions in C only when every top-level branch starts with a literal
    character; a group or a class up front (`\\s-u\\s`) made the prefilter twice as slow."""
    import re._constants as sre
    import re._parser as sre_parse

    from engine.security import masking

    pattern = masking._build_prefilter().pattern
    [(op, (_, branches))] = sre_parse.parse(pattern).data
    assert op is sre.BRANCH
    assert all(branch.data[0][0] is sre.LITERAL for branch in branches)
    for text in ("curl -u bob:hunter2hunter2zz", "curl -s -u deploy:Xk29vLq8mZ3 localhost"):
        assert redact(text) != text  # the `-u` shape alone lets these through the prefilter
